/**
 * Stock tfjs vs adv2 kernels on the layer shapes of the PyTorch-peer profile (RESULTS.md finding 1).
 *
 *   npx tsx bench/kernels.ts                 # wasm + cpu
 *   npx tsx bench/kernels.ts --backend wasm  # one backend
 *   npx tsx bench/kernels.ts --quick         # fewer repetitions
 *
 * Per layer: the forward Conv2D (for scale), Conv2DBackpropInput and Conv2DBackpropFilter, stock
 * kernel vs adv2 kernel, and an input-gradient step (tf.grad of the layer) with the stock kernels
 * registered (unregisterAdv2Kernels) vs adv2's. ms per call with the result read back: the minimum
 * over the repetitions (the machine is shared; the minimum is the least disturbed), median in the
 * JSON line at the end. wasm has no stock Conv2DBackpropFilter; the cpu stock one (~0.5 µs per
 * multiply-add) is timed once, and skipped above 5e7 multiply-adds (2e7 with --quick). On cpu the
 * batch-16 layers run at batch 2 (`--cpu-batch N`) to keep the run short.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend.js';
import { registerAdv2Kernels, runStockKernel, stockKernel, unregisterAdv2Kernels } from '../src/engine/kernels/index.js';

interface Layer { name: string; n: number; hw: number; ci: number; co: number; k: number; s: number; pad: 'same' | 'valid' | number }

const LAYERS: Layer[] = [
  { name: '16x64x64x16->16 3x3', n: 16, hw: 64, ci: 16, co: 16, k: 3, s: 1, pad: 'same' },
  { name: '16x32x32x32->32 3x3', n: 16, hw: 32, ci: 32, co: 32, k: 3, s: 1, pad: 'same' },
  { name: '1x56x56x64->64 3x3', n: 1, hw: 56, ci: 64, co: 64, k: 3, s: 1, pad: 'same' },
  { name: '1x14x14x256->256 3x3', n: 1, hw: 14, ci: 256, co: 256, k: 3, s: 1, pad: 'same' },
  { name: '16x64x64x16->32 3x3/2', n: 16, hw: 64, ci: 16, co: 32, k: 3, s: 2, pad: 1 },
  { name: '16x64x64x16->32 1x1/2', n: 16, hw: 64, ci: 16, co: 32, k: 1, s: 2, pad: 0 },
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const bi = args.indexOf('--backend');
const backends = bi >= 0 ? [args[bi + 1]!] : ['wasm', 'cpu'];
const cb = args.indexOf('--cpu-batch');
const cpuBatch = cb >= 0 ? Number(args[cb + 1]) : 2;

interface Timing { min: number; med: number; reps: number }

/** min and median ms of f() (result read back and disposed), after one warm-up call */
function time(f: () => tf.Tensor, budgetMs = quick ? 400 : 1500, maxReps = quick ? 5 : 9): Timing {
  const w = f();
  w.dataSync();
  w.dispose();
  const ts: number[] = [];
  const t0 = performance.now();
  while (ts.length < maxReps && (ts.length < 3 || performance.now() - t0 < budgetMs)) {
    const a = performance.now();
    const r = f();
    r.dataSync();
    r.dispose();
    ts.push(performance.now() - a);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, med: ts[Math.floor(ts.length / 2)]!, reps: ts.length };
}

/** one timed call (the very slow stock cpu filter kernel) */
function once(f: () => tf.Tensor): Timing {
  const a = performance.now();
  const r = f();
  r.dataSync();
  r.dispose();
  const ms = performance.now() - a;
  return { min: ms, med: ms, reps: 1 };
}

const fmt = (t: Timing | undefined): string => (t === undefined ? '—' : t.min >= 100 ? t.min.toFixed(0) : t.min.toFixed(1));
const ratio = (a: Timing | undefined, b: Timing | undefined): string => (a === undefined || b === undefined ? '—' : `${(a.min / b.min).toFixed(1)}×`);

const records: Record<string, unknown>[] = [];
const load0 = os.loadavg()[0]!;
for (const backend of backends) {
  await selectBackend({ backend });
  console.log(`\n## ${backend} (tfjs ${tf.version.tfjs})\n`);
  console.log('| layer | Conv2D fwd | BackpropInput stock | adv2 | speed-up | BackpropFilter stock | adv2 | speed-up | input-grad step stock | adv2 |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const L0 of LAYERS) {
    const L = backend === 'cpu' && L0.n > cpuBatch ? { ...L0, n: cpuBatch, name: L0.name.replace(/^\d+x/, `${cpuBatch}x`) } : L0;
    const x = tf.randomNormal([L.n, L.hw, L.hw, L.ci]) as tf.Tensor4D;
    const w = tf.randomNormal([L.k, L.k, L.ci, L.co], 0, 0.1) as tf.Tensor4D;
    const y = tf.conv2d(x, w, L.s, L.pad);
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const inAttrs = { strides: [L.s, L.s], pad: L.pad, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap;
    const fAttrs = { strides: [L.s, L.s], pad: L.pad, dataFormat: 'NHWC', filterShape: w.shape } as unknown as tf.NamedAttrMap;
    const step = (): tf.Tensor => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(t as tf.Tensor4D, w, L.s, L.pad), dy)))(x));

    const fwd = time(() => tf.conv2d(x, w, L.s, L.pad));
    const biStock = time(() => runStockKernel('Conv2DBackpropInput', { dy, filter: w }, inAttrs));
    const biAdv2 = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, inAttrs) as tf.Tensor);
    let bfStock: Timing | undefined;
    if (stockKernel('Conv2DBackpropFilter', backend) !== undefined) {
      const macs = L.n * y.shape[1] * y.shape[2] * L.k * L.k * L.ci * L.co;
      if (backend !== 'cpu') bfStock = time(() => runStockKernel('Conv2DBackpropFilter', { x, dy }, fAttrs));
      else if (macs < (quick ? 2e7 : 5e7)) bfStock = once(() => runStockKernel('Conv2DBackpropFilter', { x, dy }, fAttrs));
    }
    const bfAdv2 = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, fAttrs) as tf.Tensor);
    const stepAdv2 = time(step);
    unregisterAdv2Kernels();
    const stepStock = time(step);
    registerAdv2Kernels();

    console.log(`| ${L.name} | ${fmt(fwd)} | ${fmt(biStock)} | ${fmt(biAdv2)} | ${ratio(biStock, biAdv2)} | ${fmt(bfStock)} | ${fmt(bfAdv2)} | ${ratio(bfStock, bfAdv2)} | ${fmt(stepStock)} | ${fmt(stepAdv2)} |`);
    records.push({ backend, layer: L.name, fwd, biStock, biAdv2, bfStock, bfAdv2, stepStock, stepAdv2 });
    tf.dispose([x, w, y, dy]);
  }
}
console.log('\nms per call (minimum over repetitions); speed-up = stock / adv2. "—": no stock kernel (wasm filter gradient) or not timed.');
console.log(`1-min load average: ${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (${os.cpus().length} cores).`);
console.log(JSON.stringify(records));
