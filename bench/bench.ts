/**
 * adv2 engine benchmark (not a test): milliseconds per call of the workloads attacks are made of —
 * forward, input gradient of the cross-entropy, a CAM attack step and a GRAD attack step (second
 * order through the surrogate ReLU) — per backend, network and batch size.
 *
 *   npm run bench                               # cpu and wasm, the small nets at 28² and 64²
 *   npm run bench -- --backends wasm --nets zoo --batches 1,16
 *   npm run bench -- --stock                    # stock tfjs kernels (before/after comparisons)
 *   npm run bench -- --json > bench.json
 */
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { selectBackend } from '../src/engine/backend.js';
import { registerAdv2Kernels, unregisterAdv2Kernels } from '../src/engine/kernels/index.js';
import { crossEntropy } from '../src/engine/ops/index.js';
import { CamInterpreter } from '../src/interpreters/cam.js';
import { GradInterpreter } from '../src/interpreters/grad.js';
import type { Interpreter } from '../src/interpreters/interpreter.js';
import { type ArchConfig, Classifier, buildArchitecture, initWeights } from '../src/models/classifier.js';
import { ZOO } from '../src/models/zoo.js';

type Workload = 'forward' | 'inputgrad' | 'cam' | 'grad';
const WORKLOADS: Workload[] = ['forward', 'inputgrad', 'cam', 'grad'];

interface Net { name: string; arch: ArchConfig; load?: () => Promise<Classifier> }

const SMALL_NETS: Net[] = [
  { name: 'smallres-28', arch: { family: 'resnet', inputShape: [28, 28, 1], numClasses: 10, widths: [16, 32, 64], blocksPerStage: 2, stemStride: 1 } },
  { name: 'smallres-64', arch: { family: 'resnet', inputShape: [64, 64, 1], numClasses: 10, widths: [16, 32, 64], blocksPerStage: 2, stemStride: 1 } },
];

function zooNets(): Net[] {
  return ZOO.filter((z) => z.arch.family !== 'resnet50').map((z) => ({ name: z.name, arch: z.arch as ArchConfig }));
}

/** the fetched ImageNet ResNet-50 (`adv2 models fetch resnet50-imagenet`), loaded once the backend is up */
function resnet50Net(): Net[] {
  const entry = ZOO.find((z) => z.name === 'resnet50-imagenet')!;
  return [{
    name: entry.name,
    arch: entry.arch,
    load: async () => (await import('../src/models/node/zoo-loader.js')).loadModel(entry.name),
  }];
}

function randomModel(net: Net): Classifier {
  const arch = buildArchitecture(net.arch);
  const classes = Array.from({ length: arch.numClasses }, (_, i) => `class ${i}`);
  return new Classifier({ name: net.name, dataset: 'random' }, arch, initWeights(arch, 7), { kind: 'normalize', mean: [0.5], std: [0.25] }, classes);
}

function makeWork(kind: Workload, model: Classifier, batch: number): { run: () => tf.Tensor; dispose: () => void } {
  const [h, w, c] = model.inputShape;
  const x = tf.randomUniform([batch, h, w, c], 0, 1, 'float32', 11) as tf.Tensor4D;
  const targets = Array.from({ length: batch }, (_, i) => (7 * i + 3) % model.numClasses);
  let extra: tf.Tensor | null = null;
  let run: () => tf.Tensor;
  switch (kind) {
    case 'forward':
      run = () => model.logits(x);
      break;
    case 'inputgrad':
      run = () => tf.grad((xi: tf.Tensor) => crossEntropy(model.logits(xi as tf.Tensor4D), targets))(x);
      break;
    case 'cam':
    case 'grad': {
      // CE toward the targets + MSE between the interpreter's attack map and a fixed random map
      const interpreter: Interpreter = kind === 'cam' ? new CamInterpreter(model) : new GradInterpreter(model);
      const [mh, mw] = interpreter.mapShape();
      const m = tf.randomUniform([batch, mh, mw], 0, 1, 'float32', 5);
      extra = m;
      run = () => tf.grad((xi: tf.Tensor) => {
        const xx = xi as tf.Tensor4D;
        // one forward pass where the interpreter allows it, as the ADV² attack does
        const { map, logits } = interpreter.attackForward?.(xx, targets) ?? { map: interpreter.attackMap(xx, targets), logits: model.logits(xx) };
        return tf.add(crossEntropy(logits, targets), tf.mean(tf.square(tf.sub(map, m))));
      })(x);
      break;
    }
  }
  return { run, dispose: () => { x.dispose(); extra?.dispose(); } };
}

/** median ms per call over rounds of ~budget ms each (at least minCalls calls in total) */
function time(fn: () => tf.Tensor, budgetMs: number, rounds: number): { ms: number; calls: number } {
  const once = (): number => {
    const t0 = performance.now();
    const out = tf.tidy(fn);
    out.dataSync();
    out.dispose();
    return performance.now() - t0;
  };
  once(); // warm-up: kernel setup, weight folding
  const first = once();
  const perRound = Math.max(1, Math.min(50, Math.round(budgetMs / Math.max(first, 1e-3))));
  const samples: number[] = [];
  let calls = 2;
  for (let r = 0; r < rounds; r++) {
    let total = 0;
    for (let i = 0; i < perRound; i++) total += once();
    samples.push(total / perRound);
    calls += perRound;
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, calls };
}

interface Row { backend: string; net: string; batch: number; workload: Workload; ms: number; msPerImage: number; calls: number; leaked: number }

async function main(): Promise<void> {
  const program = new Command('bench')
    .option('--backends <list>', 'comma-separated backends', 'cpu,wasm')
    .addOption(new Option('--nets <set>', 'small: 28²/64² ResNets; zoo: the zoo architectures; resnet50: ImageNet ResNet-50 (fetched); all').default('small'))
    .option('--batches <list>', 'comma-separated batch sizes', '1,16')
    .option('--workloads <list>', 'comma-separated workloads', WORKLOADS.join(','))
    .option('--budget <ms>', 'time budget per round', '600')
    .option('--rounds <n>', 'rounds per row (median)', '3')
    .option('--stock', 'use the stock tfjs kernels instead of adv2\'s')
    .option('--json', 'print JSON rows instead of a table')
    .parse(process.argv);
  const o = program.opts<{ backends: string; nets: string; batches: string; workloads: string; budget: string; rounds: string; stock?: boolean; json?: boolean }>();
  const sets = o.nets.split(',');
  const nets: Net[] = [];
  if (sets.includes('small') || sets.includes('all')) nets.push(...SMALL_NETS);
  if (sets.includes('zoo') || sets.includes('all')) nets.push(...zooNets());
  if (sets.includes('resnet50') || sets.includes('all')) nets.push(...resnet50Net());
  const batches = o.batches.split(',').map(Number);
  const workloads = o.workloads.split(',') as Workload[];
  const rows: Row[] = [];
  for (const backend of o.backends.split(',')) {
    const info = await selectBackend({ backend });
    if (o.stock) unregisterAdv2Kernels(); else registerAdv2Kernels();
    const native = info.native === undefined ? '' : 'config' in info.native ? `, native convolutions (${info.native.config}, ${info.native.threads} thread(s))` : `, native convolutions off (${info.native.off})`;
    process.stderr.write(`bench: backend ${info.name}, ${info.threads} thread(s)${info.simd ? ', SIMD' : ''}, ${o.stock ? 'stock' : 'adv2'} kernels${native}\n`);
    for (const net of nets) {
      let model: Classifier;
      try {
        model = net.load ? await net.load() : randomModel(net);
      } catch (err) {
        process.stderr.write(`bench: skipping ${net.name} (${(err as Error).message})\n`);
        continue;
      }
      for (const batch of net.name.startsWith('resnet50') ? [1] : batches) {
        for (const workload of workloads) {
          const work = makeWork(workload, model, batch);
          tf.tidy(work.run).dispose(); // first call builds lazily cached tensors (folded weights)
          const before = tf.memory().numTensors;
          const budget = backend === 'cpu' ? Number(o.budget) / 3 : Number(o.budget);
          const { ms, calls } = time(work.run, budget, backend === 'cpu' ? 1 : Number(o.rounds));
          const row: Row = { backend, net: net.name, batch, workload, ms, msPerImage: ms / batch, calls, leaked: tf.memory().numTensors - before };
          rows.push(row);
          work.dispose();
          if (!o.json) process.stderr.write(`  ${net.name} b${batch} ${workload}: ${ms.toFixed(1)} ms\n`);
        }
      }
      model.dispose();
    }
  }
  if (o.json) { process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`); return; }
  printTable(rows);
}

function printTable(rows: Row[]): void {
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  process.stdout.write('\n| backend | net | batch | forward ms | input-grad ms | CAM step ms | GRAD step ms | input-grad / forward |\n|---|---|---:|---:|---:|---:|---:|---:|\n');
  const keys = [...new Set(rows.map((r) => `${r.backend}|${r.net}|${r.batch}`))];
  for (const k of keys) {
    const [backend, net, batch] = k.split('|');
    const get = (w: Workload): Row | undefined => rows.find((r) => `${r.backend}|${r.net}|${r.batch}` === k && r.workload === w);
    const cell = (w: Workload): string => { const r = get(w); return r ? fmt(r.ms) : '-'; };
    const f = get('forward'), g = get('inputgrad');
    const ratio = f && g ? (g.ms / f.ms).toFixed(2) : '-';
    process.stdout.write(`| ${backend} | ${net} | ${batch} | ${cell('forward')} | ${cell('inputgrad')} | ${cell('cam')} | ${cell('grad')} | ${ratio} |\n`);
  }
  const leaks = rows.filter((r) => r.leaked !== 0);
  if (leaks.length > 0) process.stdout.write(`\nWARNING: tensor leaks in ${leaks.map((r) => `${r.net}/${r.workload}`).join(', ')}\n`);
}

main().catch((err) => { process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1; });
