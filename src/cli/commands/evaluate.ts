import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../data/dataset.js';
import { type ImageRecord, runAttack } from '../../experiments/run-attack.js';
import { attackSuccessRate, misclassificationConfidence } from '../../metrics/attack.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { fixtureDataset, fixtureFor, pickExamples } from '../inputs.js';
import { type AttackFlags, addAttackOptions, attackSettings } from '../attack-options.js';
import { CLI_INTERPRETER_NAMES, interpreterFor } from '../interpreters.js';
import { parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';

interface EvaluateOptions extends AttackFlags {
  model: string;
  interpreter: string;
  n: number;
  seed: number;
  batch: number;
  out: string;
  json?: boolean;
}

const mean = (v: number[]): number => (v.length === 0 ? Number.NaN : v.reduce((s, a) => s + a, 0) / v.length);

export function registerEvaluate(program: Command): void {
  const command = program.command('evaluate')
    .description('the paper\'s protocol: attack the first n fixture images the model classifies correctly, toward seeded random targets')
    .requiredOption('--model <name|dir>', 'zoo model with a fixture dataset')
    .addOption(new Option('--interpreter <name>', 'interpreter').choices([...CLI_INTERPRETER_NAMES]).makeOptionMandatory())
    .addOption(new Option('--attack <name>', 'pgd or adv2').choices(['pgd', 'adv2']).makeOptionMandatory())
    .option('--n <count>', 'images', parseIntOption('n', 1, 1000), 100)
    .option('--seed <n>', 'seed of the target classes', parseIntOption('seed', 0), 1)
    .option('--batch <size>', 'images attacked together', parseIntOption('batch', 1, 256), 20);
  addAttackOptions(command)
    .requiredOption('--out <dir>', 'results.jsonl (one line per image, streamed), summary.json, summary.md')
    .option('--json', 'print summary.json to stdout')
    .action(async (opts: EvaluateOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const model: Classifier = loadModel(opts.model);
      const interpreter = await interpreterFor(opts.interpreter, model);
      const ds = fixtureDataset(fixtureFor(model));
      const { indices: items, targets } = pickExamples(model, opts.n, opts.seed);
      mkdirSync(opts.out, { recursive: true });
      const jsonl = join(opts.out, 'results.jsonl');
      if (existsSync(jsonl)) rmSync(jsonl);
      const settings = attackSettings(opts);
      const bar = progressBar(`${opts.attack}/${opts.interpreter} |{bar}| {value}/{total} images | ASR {asr} | L1 {l1} | ETA {eta_formatted}`);
      bar.start(items.length, { asr: '-', l1: '-' });
      const records: ImageRecord[] = [];
      let options: unknown = null;
      const t0 = performance.now();
      for (let start = 0; start < items.length; start += opts.batch) {
        const idx = items.slice(start, start + opts.batch);
        const { x } = batchTensor(ds, idx);
        const run = runAttack(interpreter, x, targets.slice(start, start + opts.batch), settings, { trueClasses: idx.map((i) => ds.labels[i]!), indices: idx });
        options = run.options;
        for (const r of run.records) { records.push(r); appendFileSync(jsonl, `${JSON.stringify(r)}\n`); }
        tf.dispose([x, run.result.adversarial, run.result.map!, run.targetMaps]);
        bar.update(records.length, { asr: `${(100 * attackSuccessRate(records)).toFixed(0)}%`, l1: mean(records.map((r) => r.mapL1)).toFixed(3) });
        if (!process.stderr.isTTY) process.stderr.write(`${records.length}/${items.length} images, ASR ${(100 * attackSuccessRate(records)).toFixed(1)}%\n`);
      }
      bar.stop();
      const summary = {
        model: model.name, interpreter: interpreter.name, attack: opts.attack, n: records.length,
        asr: attackSuccessRate(records), meanConfidence: misclassificationConfidence(records),
        meanL1: mean(records.map((r) => r.mapL1)), meanL2: mean(records.map((r) => r.mapL2)),
        meanIoU: mean(records.map((r) => r.mapIoU)), meanIoU50: mean(records.map((r) => r.mapIoU50)),
        meanLinf: mean(records.map((r) => r.linf)), epsilon: opts.epsilon, seed: opts.seed,
        seconds: (performance.now() - t0) / 1000, options, ...runRecord(backend),
      };
      const md = `| model | interpreter | attack | n | ASR | MC | L1 | L2 | IoU (mean 10–90%) | IoU@50% | ε |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n` +
        `| ${summary.model} | ${summary.interpreter} | ${summary.attack} | ${summary.n} | ${(100 * summary.asr).toFixed(1)}% | ${summary.meanConfidence.toFixed(3)} | ${summary.meanL1.toFixed(4)} | ${summary.meanL2.toFixed(5)} | ${summary.meanIoU.toFixed(3)} | ${summary.meanIoU50.toFixed(3)} | ${summary.epsilon} |\n\n` +
        `Command: adv2 ${process.argv.slice(2).join(' ')}\n`;
      writeAtomic(join(opts.out, 'summary.md'), md);
      writeAtomic(join(opts.out, 'summary.json'), JSON.stringify(summary, null, 2));
      if (opts.json) printJson(summary);
      else process.stdout.write(md);
      model.dispose();
    });
}
