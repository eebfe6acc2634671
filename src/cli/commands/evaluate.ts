import { type ChildProcess, fork } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { type Dataset, batchTensor } from '../../data/dataset.js';
import { type AttackSettings, type ImageRecord, runAttack } from '../../experiments/run-attack.js';
import type { Interpreter } from '../../interpreters/interpreter.js';
import { attackSuccessRate, misclassificationConfidence } from '../../metrics/attack.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { attackEpsilonFor } from '../../models/zoo.js';
import { fixtureDataset, fixtureFor, pickExamples } from '../inputs.js';
import { type AttackFlags, addAttackOptions, attackSettings } from '../attack-options.js';
import { CLI_INTERPRETER_NAMES, interpreterFor } from '../interpreters.js';
import { UsageError, invocation, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';

interface EvaluateOptions extends AttackFlags {
  model: string;
  interpreter: string;
  n: number;
  seed: number;
  batch: number;
  out: string;
  json?: boolean;
  resume?: boolean;
  workers: number;
  worker?: boolean;
}

/**
 * The records an interrupted run already streamed to `jsonl`, keyed by pick position and checked
 * against this run's picks: a resumed run attacks the same images toward the same targets. Lines
 * may be in any order (parallel workers); only the last one can be cut by the interruption.
 */
function resumedRecords(jsonl: string, items: readonly number[], targets: readonly number[]): Map<number, ImageRecord> {
  const done = new Map<number, ImageRecord>();
  if (!existsSync(jsonl)) return done;
  const position = new Map(items.map((item, k) => [item, k]));
  const lines = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.trim() !== '');
  for (const [k, line] of lines.entries()) {
    let r: ImageRecord;
    try { r = JSON.parse(line) as ImageRecord; } catch {
      if (k === lines.length - 1) break; // cut by the interruption: redo that image
      throw new UsageError(`--resume: ${jsonl} line ${k + 1} is not JSON`);
    }
    const at = position.get(r.index);
    if (at === undefined || targets[at] !== r.targetClass) {
      throw new UsageError(`--resume: ${jsonl} line ${k + 1} (image ${r.index} → ${r.targetClass}) is not one of this run's picks; use the same --model and --seed, or a new --out`);
    }
    done.set(at, r);
  }
  return done;
}

const mean = (v: number[]): number => (v.length === 0 ? Number.NaN : v.reduce((s, a) => s + a, 0) / v.length);

/** what the command needs to attack picks: the same in the parent and in every worker */
interface EvaluationContext {
  model: Classifier;
  interpreter: Interpreter;
  ds: Dataset;
  items: number[];
  targets: number[];
  settings: AttackSettings;
}

async function evaluationContext(opts: EvaluateOptions): Promise<EvaluationContext> {
  const model: Classifier = loadModel(opts.model);
  const interpreter = await interpreterFor(opts.interpreter, model);
  const ds = fixtureDataset(fixtureFor(model));
  const { indices: items, targets } = pickExamples(model, opts.n, opts.seed);
  return { model, interpreter, ds, items, targets, settings: attackSettings(opts, attackEpsilonFor(model.name)) };
}

/** attack the picks at `positions` together; records in the order of `positions` */
function attackBatch(ctx: EvaluationContext, positions: readonly number[]): { records: ImageRecord[]; options: unknown } {
  const idx = positions.map((k) => ctx.items[k]!);
  const { x } = batchTensor(ctx.ds, idx);
  const run = runAttack(ctx.interpreter, x, positions.map((k) => ctx.targets[k]!), ctx.settings, { trueClasses: idx.map((i) => ctx.ds.labels[i]!), indices: idx });
  tf.dispose([x, run.result.adversarial, run.result.map!, run.targetMaps]);
  return { records: run.records, options: run.options };
}

type ToWorker = { batch: number[] } | { stop: true };
type FromWorker = { ready: true } | { position: number; record: ImageRecord } | { options: unknown };

/** `--worker`: a child of `--workers N`; takes batches of pick positions over IPC until told to stop */
async function runWorker(opts: EvaluateOptions, cmd: Command): Promise<void> {
  await setupBackend(cmd);
  const ctx = await evaluationContext(opts);
  const send = (m: FromWorker): void => { process.send!(m); };
  // the parent gone (killed, interrupted): stop too
  const orphaned = (): never => process.exit(1);
  process.on('disconnect', orphaned);
  await new Promise<void>((resolve) => {
    process.on('message', (m: ToWorker) => {
      if ('stop' in m) { process.off('disconnect', orphaned); resolve(); return; }
      const { records, options } = attackBatch(ctx, m.batch);
      send({ options });
      records.forEach((record, k) => send({ position: m.batch[k]!, record }));
      send({ ready: true });
    });
    send({ ready: true });
  });
  ctx.model.dispose();
  process.disconnect();
}

/**
 * Run `batches` on `workers` (≤ batches.length) child processes (each its own tfjs instance, one core each), handing
 * out the next batch to whichever worker is free; `onRecord` sees every record as it arrives.
 */
async function runWorkers(workers: number, batches: number[][], onRecord: (position: number, r: ImageRecord) => void): Promise<unknown> {
  const here = fileURLToPath(import.meta.url);
  const entry = join(dirname(here), '..', `main${extname(here)}`);
  // from the TypeScript sources (tsx, vitest) the children need tsx's loader too
  const execArgv = extname(here) === '.ts' ? ['--import', 'tsx'] : [];
  const args = childArgs(invocation());
  let next = 0;
  let options: unknown = null;
  const children: ChildProcess[] = [];
  const finished = Array.from({ length: workers }, (_, w) => new Promise<void>((resolve, reject) => {
    const child = fork(entry, args, { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('message', (m: FromWorker) => {
      if ('options' in m) options = m.options;
      else if ('record' in m) onRecord(m.position, m.record);
      else child.send(next < batches.length ? { batch: batches[next++]! } : { stop: true });
    });
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`evaluation worker ${w + 1} failed (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  }));
  try {
    await Promise.all(finished);
  } catch (err) {
    for (const c of children) c.kill();
    throw err;
  }
  return options;
}

/** this invocation's arguments for a worker: the same command, as a worker, without the parent's duties */
function childArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--workers') { i++; continue; }
    if (a.startsWith('--workers=') || a === '--resume' || a === '--json') continue;
    out.push(a);
  }
  return [...out, '--worker'];
}

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
    .option('--workers <n>', 'attack batches in n processes at once, one core each (results identical to one process; default: the CPU count, at most 4)', parseIntOption('workers', 1, 64), Math.min(4, availableParallelism()))
    .addOption(new Option('--worker').hideHelp())
    .addHelpText('after', `
Every image is attacked independently (its own steps, λ, selection), so --batch, --workers and
--resume change the wall time, not the results (SmoothGrad excepted: its noise depends on the batch).
By default one worker process per core (at most 4); --workers 1 keeps everything in one process.

Examples:
  adv2 evaluate --model placed-resnet --interpreter cam --attack pgd --n 100 --out out/cam-pgd
  adv2 evaluate --model placed-resnet --interpreter cam --attack adv2 --n 100 --workers 2 --out out/cam-adv2
  adv2 evaluate ... --resume          # after an interruption, with the same flags`)
    .action(async (opts: EvaluateOptions, cmd: Command) => {
      if (opts.worker) { await runWorker(opts, cmd); return; }
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const ctx = await evaluationContext(opts);
      const { model, interpreter, items, settings } = ctx;
      const interpreterSettings = interpreter.settings();
      mkdirSync(opts.out, { recursive: true });
      const jsonl = join(opts.out, 'results.jsonl');
      // what determines every line of results.jsonl: a resumed run must match it exactly
      const config = JSON.stringify({ model: model.name, interpreter: interpreter.name, attack: opts.attack, seed: opts.seed, settings, interpreterSettings }, null, 2);
      const configFile = join(opts.out, 'config.json');
      if (opts.resume && existsSync(configFile) && readFileSync(configFile, 'utf8') !== config) {
        throw new UsageError(`--resume: ${configFile} records other settings than this command's; give the same flags, or a new --out`);
      }
      const done = opts.resume ? resumedRecords(jsonl, items, ctx.targets) : new Map<number, ImageRecord>();
      const resumed = done.size;
      writeAtomic(configFile, config);
      // no summary of an earlier run may sit beside this run's lines until this run's is written
      for (const f of ['summary.json', 'summary.md']) rmSync(join(opts.out, f), { force: true });
      const ordered = (): ImageRecord[] => [...done.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
      // rewritten whole, so a line cut by the interruption does not stay in the file
      writeAtomic(jsonl, ordered().map((r) => `${JSON.stringify(r)}\n`).join(''));

      const todo = items.map((_, k) => k).filter((k) => !done.has(k));
      const batches: number[][] = [];
      for (let b = 0; b < todo.length; b += opts.batch) batches.push(todo.slice(b, b + opts.batch));
      const bar = progressBar(`${opts.attack}/${opts.interpreter} |{bar}| {value}/{total} images | ASR {asr} | L1 {l1} | ETA {eta_formatted}`);
      bar.start(items.length, { asr: '-', l1: '-' });
      bar.update(resumed, { asr: '-', l1: '-' });
      const onRecord = (position: number, r: ImageRecord): void => {
        done.set(position, r);
        appendFileSync(jsonl, `${JSON.stringify(r)}\n`);
        const all = [...done.values()];
        const asr = 100 * attackSuccessRate(all);
        bar.update(done.size, { asr: `${asr.toFixed(0)}%`, l1: mean(all.map((x) => x.mapL1)).toFixed(3) });
        if (!process.stderr.isTTY) process.stderr.write(`${done.size}/${items.length} images, ASR ${asr.toFixed(1)}%\n`);
      };
      const t0 = performance.now();
      let options: unknown = null;
      // processes actually started (a run of one batch stays in this process)
      const workers = batches.length > 1 ? Math.min(opts.workers, batches.length) : 1;
      if (workers > 1) {
        options = await runWorkers(workers, batches, onRecord);
      } else {
        for (const batch of batches) {
          const out = attackBatch(ctx, batch);
          options = out.options;
          out.records.forEach((r, k) => onRecord(batch[k]!, r));
        }
      }
      bar.stop();
      const records = ordered();
      writeAtomic(jsonl, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      const summary = {
        model: model.name, interpreter: interpreter.name, attack: opts.attack, n: records.length,
        asr: attackSuccessRate(records), meanConfidence: misclassificationConfidence(records),
        meanL1: mean(records.map((r) => r.mapL1)), meanL2: mean(records.map((r) => r.mapL2)),
        meanIoU: mean(records.map((r) => r.mapIoU)), meanIoU50: mean(records.map((r) => r.mapIoU50)),
        meanLinf: mean(records.map((r) => r.linf)), epsilon: (settings.pgd ?? settings.adv2)!.epsilon, seed: opts.seed,
        seconds: (performance.now() - t0) / 1000, workers, resumedImages: resumed, options: options ?? settings,
        interpreterSettings, ...runRecord(backend),
      };
      const md = `| model | interpreter | attack | n | ASR | MC | L1 | L2 | IoU (mean 10–90%) | IoU@50% | ε |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n` +
        `| ${summary.model} | ${summary.interpreter} | ${summary.attack} | ${summary.n} | ${(100 * summary.asr).toFixed(1)}% | ${summary.meanConfidence.toFixed(3)} | ${summary.meanL1.toFixed(4)} | ${summary.meanL2.toFixed(5)} | ${summary.meanIoU.toFixed(3)} | ${summary.meanIoU50.toFixed(3)} | ${summary.epsilon} |\n\n` +
        `Command: adv2 ${invocation().join(' ')}\n`;
      writeAtomic(join(opts.out, 'summary.md'), md);
      writeAtomic(join(opts.out, 'summary.json'), JSON.stringify(summary, null, 2));
      if (opts.json) printJson(summary);
      else process.stdout.write(md);
      model.dispose();
    });
}
