/**
 * Stock tfjs vs adv2 kernels on the layer shapes of the PyTorch-peer profile (RESULTS.md finding 1).
 *
 *   npx tsx bench/kernels.ts                 # wasm + cpu
 *   npx tsx bench/kernels.ts --backend wasm  # one backend
 *   npx tsx bench/kernels.ts --quick         # fewer repetitions
 *
 * Prints median ms per call (result read back) for the forward Conv2D (for scale), then
 * Conv2DBackpropInput and Conv2DBackpropFilter, stock vs adv2. wasm has no stock
 * Conv2DBackpropFilter; the cpu stock one is only timed where it takes less than ~20 s.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend.js';
import { runStockKernel, stockKernel } from '../src/engine/kernels/index.js';

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

/** median ms of f() (result read back and disposed), after one warm-up call */
function time(f: () => tf.Tensor, budgetMs = quick ? 300 : 1000, maxReps = quick ? 3 : 7): number {
  const w = f();
  w.dataSync();
  w.dispose();
  const ts: number[] = [];
  const t0 = performance.now();
  while (ts.length < maxReps && (ts.length === 0 || performance.now() - t0 < budgetMs)) {
    const a = performance.now();
    const r = f();
    r.dataSync();
    r.dispose();
    ts.push(performance.now() - a);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

/** one timed call (for the very slow stock cpu filter kernel) */
function once(f: () => tf.Tensor): number {
  const a = performance.now();
  const r = f();
  r.dataSync();
  r.dispose();
  return performance.now() - a;
}

const fmt = (ms: number | undefined): string => (ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(1)}×`);

for (const backend of backends) {
  await selectBackend({ backend });
  console.log(`\n## ${backend} (tfjs ${tf.version.tfjs})\n`);
  console.log('| layer | Conv2D fwd | BackpropInput stock | adv2 | speed-up | BackpropFilter stock | adv2 | speed-up |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const L of LAYERS) {
    const x = tf.randomNormal([L.n, L.hw, L.hw, L.ci]) as tf.Tensor4D;
    const w = tf.randomNormal([L.k, L.k, L.ci, L.co], 0, 0.1) as tf.Tensor4D;
    const y = tf.conv2d(x, w, L.s, L.pad);
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const inAttrs = { strides: [L.s, L.s], pad: L.pad, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap;
    const fAttrs = { strides: [L.s, L.s], pad: L.pad, dataFormat: 'NHWC', filterShape: w.shape } as unknown as tf.NamedAttrMap;

    const fwd = time(() => tf.conv2d(x, w, L.s, L.pad));
    const biStock = time(() => runStockKernel('Conv2DBackpropInput', { dy, filter: w }, inAttrs));
    const biAdv2 = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, inAttrs) as tf.Tensor);
    let bfStock: number | undefined;
    if (stockKernel('Conv2DBackpropFilter', backend) !== undefined) {
      // the stock cpu kernel costs ~1 µs per multiply-add: skip what would take > ~20 s
      const macs = L.n * y.shape[1] * y.shape[2] * L.k * L.k * L.ci * L.co;
      if (backend !== 'cpu' || macs < 2e7 || !quick) {
        bfStock = backend === 'cpu'
          ? once(() => runStockKernel('Conv2DBackpropFilter', { x, dy }, fAttrs))
          : time(() => runStockKernel('Conv2DBackpropFilter', { x, dy }, fAttrs));
      }
    }
    const bfAdv2 = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, fAttrs) as tf.Tensor);
    console.log(`| ${L.name} | ${fmt(fwd)} | ${fmt(biStock)} | ${fmt(biAdv2)} | ${ratio(biStock, biAdv2)} | ${fmt(bfStock)} | ${fmt(bfAdv2)} | ${ratio(bfStock, bfAdv2)} |`);
    tf.dispose([x, w, y, dy]);
  }
}
console.log('\nms per call, median; speed-up = stock / adv2. "—": no stock kernel (wasm filter gradient) or not timed.');
