import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../data/dataset.js';
import { type ImageRecord, runAttack } from '../../experiments/run-attack.js';
import { attackSuccessRate, misclassificationConfidence } from '../../metrics/attack.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { attackEpsilonFor } from '../../models/zoo.js';
import { fixtureDataset, fixtureFor, pickExamples } from '../inputs.js';
import { type AttackFlags, addAttackOptions, attackSettings } from '../attack-options.js';
import { CLI_INTERPRETER_NAMES, interpreterFor } from '../interpreters.js';
import { UsageError, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';

interface EvaluateOptions extends AttackFlags {
  model: string;
  interpreter: string;
  n: number;
  seed: number;
  batch: number;
  out: string;
  json?: boolean;
  resume?: boolean;
}

/**
 * The records an interrupted run already streamed to `jsonl`, checked against this run's picks:
 * a resumed run must attack the same images toward the same targets (same model, n, seed).
 */
function resumedRecords(jsonl: string, items: readonly number[], targets: readonly number[]): ImageRecord[] {
  if (!existsSync(jsonl)) return [];
  const lines = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const records: ImageRecord[] = [];
  for (const [k, line] of lines.entries()) {
    let r: ImageRecord;
    try { r = JSON.parse(line) as ImageRecord; } catch { break; } // a line cut by the interruption: redo that image
    if (k >= items.length || r.index !== items[k] || r.targetClass !== targets[k]) {
      throw new UsageError(`--resume: ${jsonl} line ${k + 1} (image ${r.index} → ${r.targetClass}) is not this run's image ${k + 1} (${items[k] ?? 'none'} → ${targets[k] ?? 'none'}); use the same --model, --n and --seed, or a new --out`);
    }
    records.push(r);
  }
  return records;
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
    .option('--resume', 'continue an interrupted run in --out (or extend it to a larger --n): keep the images results.jsonl already holds and attack the rest; refused unless the model, seed and every setting match config.json')
    .action(async (opts: EvaluateOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const model: Classifier = loadModel(opts.model);
      const interpreter = await interpreterFor(opts.interpreter, model);
      const ds = fixtureDataset(fixtureFor(model));
      const { indices: items, targets } = pickExamples(model, opts.n, opts.seed);
      mkdirSync(opts.out, { recursive: true });
      const jsonl = join(opts.out, 'results.jsonl');
      const settings = attackSettings(opts, attackEpsilonFor(model.name));
      // what determines every line of results.jsonl: a resumed run must match it exactly
      const config = JSON.stringify({ model: model.name, interpreter: interpreter.name, attack: opts.attack, seed: opts.seed, settings, interpreterSettings: interpreter.settings() }, null, 2);
      const configFile = join(opts.out, 'config.json');
      if (opts.resume && existsSync(configFile) && readFileSync(configFile, 'utf8') !== config) {
        throw new UsageError(`--resume: ${configFile} records other settings than this command's; give the same flags, or a new --out`);
      }
      const records: ImageRecord[] = opts.resume ? resumedRecords(jsonl, items, targets) : [];
      writeAtomic(configFile, config);
      // no summary of an earlier run may sit beside this run's lines until this run's is written
      for (const f of ['summary.json', 'summary.md']) rmSync(join(opts.out, f), { force: true });
      if (existsSync(jsonl)) rmSync(jsonl);
      // rewritten whole, so a line cut by the interruption does not stay in the file
      for (const r of records) appendFileSync(jsonl, `${JSON.stringify(r)}\n`);
      const resumed = records.length;
      const bar = progressBar(`${opts.attack}/${opts.interpreter} |{bar}| {value}/{total} images | ASR {asr} | L1 {l1} | ETA {eta_formatted}`);
      bar.start(items.length, { asr: '-', l1: '-' });
      bar.update(resumed, { asr: '-', l1: '-' });
      let options: unknown = null;
      const t0 = performance.now();
      for (let start = resumed; start < items.length; start += opts.batch) {
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
        meanLinf: mean(records.map((r) => r.linf)), epsilon: (settings.pgd ?? settings.adv2)!.epsilon, seed: opts.seed,
        seconds: (performance.now() - t0) / 1000, resumedImages: resumed, options: options ?? settings,
        interpreterSettings: interpreter.settings(), ...runRecord(backend),
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
