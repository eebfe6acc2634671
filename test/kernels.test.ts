import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend, useNative } from './helpers/backends.js';
import { expectNoLeak } from './helpers/leak.js';
import {
  adv2KernelActive, clearAdv2KernelCaches, filterCacheStats, nativeConv, registerAdv2Kernels, runStockKernel, stockKernel, stockKernelsRequested,
  unregisterAdv2Kernels,
} from '../src/engine/kernels/index.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** deterministic values in [-1, 1) */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

interface Arr { shape: number[]; values: Float32Array | Int32Array; dtype: 'float32' | 'int32' }

interface CpuBackendLike {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.BackendValues): tf.TensorInfo;
  readSync(dataId: tf.DataId): tf.BackendValues;
  disposeData(dataId: tf.DataId): boolean;
}

/** The stock cpu kernel's result, computed on the cpu backend whatever backend is active. */
function cpuStock(kernelName: string, inputs: Record<string, Arr>, attrs: object): Arr {
  const cpu = tf.findBackend('cpu') as unknown as CpuBackendLike;
  const config = stockKernel(kernelName, 'cpu');
  if (config === undefined) throw new Error(`no stock cpu ${kernelName}`);
  const infos: Record<string, tf.TensorInfo> = {};
  for (const [name, a] of Object.entries(inputs)) infos[name] = cpu.makeTensorInfo(a.shape, a.dtype, a.values.slice());
  const out = config.kernelFunc({ inputs: infos, backend: cpu, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const values = (cpu.readSync(out.dataId) as Float32Array | Int32Array).slice();
  for (const info of [...Object.values(infos), out]) cpu.disposeData(info.dataId);
  return { shape: out.shape, values, dtype: out.dtype as 'float32' | 'int32' };
}

function runActive(kernelName: string, inputs: Record<string, Arr>, attrs: object): Arr {
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [name, a] of Object.entries(inputs)) ts[name] = tf.tensor(a.values, a.shape, a.dtype);
    const out = tf.engine().runKernel(kernelName, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: out.dataSync() as Float32Array | Int32Array, dtype: out.dtype as 'float32' | 'int32' };
  });
}

/** max |a - b| / max(1, max |b|) */
function relErr(a: Arr, b: Arr): number {
  expect(a.shape).toEqual(b.shape);
  let err = 0;
  let mag = 1;
  for (let i = 0; i < b.values.length; i++) {
    err = Math.max(err, Math.abs(a.values[i]! - b.values[i]!));
    mag = Math.max(mag, Math.abs(b.values[i]!));
  }
  return err / mag;
}

interface ConvCase {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw?: number; s: number | [number, number]; pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

// batch 1 and 3; H/W odd and even; kernels 1..7; strides 1, 2 (and 3, mixed); every pad kind
const CASES: ConvCase[] = [
  { n: 1, h: 7, w: 7, ci: 1, co: 3, kh: 1, s: 1, pad: 'same' },
  { n: 3, h: 8, w: 8, ci: 3, co: 16, kh: 3, s: 1, pad: 'same' },
  { n: 1, h: 13, w: 13, ci: 16, co: 3, kh: 5, s: 1, pad: 'valid' },
  { n: 1, h: 28, w: 28, ci: 3, co: 16, kh: 7, s: 1, pad: 3 },
  { n: 3, h: 7, w: 8, ci: 16, co: 16, kh: 3, s: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { n: 1, h: 8, w: 8, ci: 16, co: 16, kh: 3, s: 2, pad: 'same' },
  { n: 3, h: 7, w: 7, ci: 3, co: 16, kh: 3, s: 2, pad: 'same' },
  { n: 1, h: 13, w: 8, ci: 3, co: 1, kh: 3, s: 2, pad: 'valid' },
  { n: 3, h: 28, w: 28, ci: 3, co: 16, kh: 7, s: 2, pad: 3 },
  { n: 1, h: 13, w: 13, ci: 16, co: 3, kh: 5, s: 2, pad: 'same' },
  { n: 3, h: 8, w: 13, ci: 16, co: 16, kh: 1, s: 2, pad: 'valid' },
  { n: 1, h: 28, w: 28, ci: 16, co: 3, kh: 1, s: 2, pad: 0 },
  { n: 1, h: 13, w: 8, ci: 1, co: 16, kh: 3, s: 2, pad: [[0, 0], [1, 1], [0, 2], [0, 0]] },
  { n: 3, h: 10, w: 10, ci: 3, co: 3, kh: 3, s: 2, pad: 'valid' }, // last row of x unused
  { n: 1, h: 8, w: 7, ci: 3, co: 3, kh: 1, s: 1, pad: 2 }, // pad > k - 1: dy is cropped
  { n: 1, h: 9, w: 9, ci: 3, co: 3, kh: 3, s: 2, pad: 1, rounding: 'ceil' },
  { n: 1, h: 11, w: 10, ci: 3, co: 16, kh: 3, kw: 5, s: [1, 2], pad: 'same' },
  { n: 3, h: 13, w: 13, ci: 3, co: 3, kh: 5, s: 3, pad: 'same' },
  { n: 2, h: 6, w: 5, ci: 4, co: 3, kh: 1, s: 1, pad: [[0, 0], [0, 1], [0, 2], [0, 0]] }, // 1x1, padding after only
];

const caseName = (c: ConvCase): string =>
  `${c.n}x${c.h}x${c.w}x${c.ci}->${c.co} k${c.kh}${c.kw !== undefined ? `x${c.kw}` : ''} s${c.s} pad=${JSON.stringify(c.pad)}${c.rounding ? ` ${c.rounding}` : ''}`;

function caseData(c: ConvCase, seed: number): { x: Arr; w: Arr; dy: Arr; attrs: Record<string, unknown> } {
  const kw = c.kw ?? c.kh;
  const strides = typeof c.s === 'number' ? [c.s, c.s] : c.s;
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, kw, c.ci, c.co], strides as [number, number], 1, c.pad, c.rounding);
  const xs = [c.n, c.h, c.w, c.ci];
  const ws = [c.kh, kw, c.ci, c.co];
  const ys = [c.n, info.outHeight, info.outWidth, c.co];
  const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  return {
    x: { shape: xs, values: rand(size(xs), seed), dtype: 'float32' },
    w: { shape: ws, values: rand(size(ws), seed + 1), dtype: 'float32' },
    dy: { shape: ys, values: rand(size(ys), seed + 2), dtype: 'float32' },
    attrs: { strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.rounding },
  };
}

const TOL = 1e-4;

beforeAll(async () => {
  // the cpu backend computes the stock references
  await useBackend('cpu');
});

afterAll(() => {
  clearAdv2KernelCaches();
});

describe('adv2 kernel registry', () => {
  it('replaces the stock kernels on cpu and wasm, keeping the stock configs', async () => {
    await useBackend('wasm');
    for (const b of TEST_BACKENDS) {
      expect(adv2KernelActive('Conv2DBackpropInput', b)).toBe(true);
      expect(adv2KernelActive('Conv2DBackpropFilter', b)).toBe(true);
      expect(adv2KernelActive('UnsortedSegmentSum', b)).toBe(true);
      expect(stockKernel('Conv2DBackpropInput', b)).toBeDefined();
    }
    expect(stockKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(stockKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
    expect(stockKernel('Conv2DBackpropFilter', 'cpu')).toBeDefined();
  });

  it('is idempotent, can be undone and redone, and honours ADV2_STOCK_KERNELS', async () => {
    await useBackend('wasm');
    const mine = tf.getKernel('Conv2DBackpropInput', 'wasm');
    registerAdv2Kernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(mine);
    unregisterAdv2Kernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(stockKernel('Conv2DBackpropInput', 'wasm'));
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const before = process.env['ADV2_STOCK_KERNELS'];
    process.env['ADV2_STOCK_KERNELS'] = '1';
    try {
      expect(stockKernelsRequested()).toBe(true);
      registerAdv2Kernels();
      expect(adv2KernelActive('Conv2DBackpropInput', 'wasm')).toBe(false);
    } finally {
      if (before === undefined) delete process.env['ADV2_STOCK_KERNELS'];
      else process.env['ADV2_STOCK_KERNELS'] = before;
    }
    registerAdv2Kernels();
    expect(adv2KernelActive('Conv2DBackpropInput', 'wasm')).toBe(true);
    expect(adv2KernelActive('Conv2DBackpropFilter', 'wasm')).toBe(true);
  });
});

// wasm runs three times: with adv2's native convolution addon (when built) on its oneDNN and on
// its BLAS path, and with wasm's own kernels
const VARIANTS = [
  { backend: 'cpu' as const, native: false, engine: 'onednn' as const, label: 'cpu' },
  { backend: 'wasm' as const, native: true, engine: 'onednn' as const, label: 'wasm + native conv (oneDNN)' },
  { backend: 'wasm' as const, native: true, engine: 'blas' as const, label: 'wasm + native conv (BLAS)' },
  { backend: 'wasm' as const, native: false, engine: 'onednn' as const, label: 'wasm' },
];

for (const { backend, native, engine, label } of VARIANTS) {
  describe(`adv2 kernels on ${label}`, () => {
    let available = true;
    beforeAll(async () => {
      await useBackend(backend);
      available = await useNative(native, engine);
      if (!available) console.warn(`skipping '${label}': the native addon is not built (npm run build:native)`);
    });
    afterAll(async () => {
      await useNative(true, 'onednn');
    });

    it('runs on the intended kernels', (ctx) => {
      if (!available) return ctx.skip();
      expect(nativeConv() !== null).toBe(native);
      expect(adv2KernelActive('Conv2D', 'wasm')).toBe(native);
      if (native) {
        // a conv and both its gradients, all on the intended native path
        const before = nativeConv()!.calls();
        tf.tidy(() => tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same').sum())([tf.ones([1, 6, 6, 2]), tf.ones([3, 3, 2, 3])]));
        const after = nativeConv()!.calls();
        expect(after[engine] - before[engine]).toBe(3);
      }
    });

    it('Conv2D matches the stock kernel (strides, pads, dilations)', (ctx) => {
      if (!available) return ctx.skip();
      CASES.forEach((c, i) => {
        const d = caseData(c, 400 + i);
        const dilated = i % 5 === 1 && c.s === 1;
        const attrs = { ...d.attrs, dilations: dilated ? 2 : 1 };
        const ref = cpuStock('Conv2D', { x: d.x, filter: d.w }, attrs);
        const got = runActive('Conv2D', { x: d.x, filter: d.w }, attrs);
        expect(relErr(got, ref), `${caseName(c)}${dilated ? ' dilation 2' : ''}`).toBeLessThanOrEqual(TOL);
      });
    });

    it('Conv2DBackpropInput matches the stock kernel', (ctx) => {
      if (!available) return ctx.skip();
      CASES.forEach((c, i) => {
        const d = caseData(c, 100 + i);
        const attrs = { ...d.attrs, inputShape: d.x.shape };
        const ref = cpuStock('Conv2DBackpropInput', { dy: d.dy, filter: d.w }, attrs);
        const got = runActive('Conv2DBackpropInput', { dy: d.dy, filter: d.w }, attrs);
        expect(relErr(got, ref), caseName(c)).toBeLessThanOrEqual(TOL);
        if (backend === 'wasm' && i % 4 === 0) {
          // and the backend's own stock kernel
          const own = tf.tidy(() => {
            const t = runStockKernel('Conv2DBackpropInput', { dy: tf.tensor(d.dy.values, d.dy.shape), filter: tf.tensor(d.w.values, d.w.shape) }, attrs as unknown as tf.NamedAttrMap);
            return { shape: t.shape, values: t.dataSync() as Float32Array, dtype: 'float32' as const };
          });
          expect(relErr(got, own), `${caseName(c)} vs wasm stock`).toBeLessThanOrEqual(TOL);
        }
      });
    });

    it('Conv2DBackpropInput through tf.conv2dTranspose and a cached filter stays right', (ctx) => {
      if (!available) return ctx.skip();
      const d = caseData(CASES[6]!, 7);
      const w = tf.tensor4d(d.w.values, d.w.shape as [number, number, number, number]);
      const dy = tf.tensor4d(d.dy.values, d.dy.shape as [number, number, number, number]);
      const ref = cpuStock('Conv2DBackpropInput', { dy: d.dy, filter: d.w }, { ...d.attrs, inputShape: d.x.shape });
      for (let rep = 0; rep < 3; rep++) {
        const out = tf.conv2dTranspose(dy, w, d.x.shape as [number, number, number, number], 2, 'same');
        expect(relErr({ shape: out.shape, values: out.dataSync() as Float32Array, dtype: 'float32' }, ref)).toBeLessThanOrEqual(TOL);
        out.dispose();
      }
      const cached = filterCacheStats(tf.backend()).entries;
      // the native input gradient reads the filter as it is: no transformed copy to cache
      if (nativeConv() === null) expect(cached).toBeGreaterThanOrEqual(1);
      else expect(cached).toBe(0);
      // a new filter with other values must not hit the cache of the old one, whose entry goes
      // once it is disposed
      const w2 = tf.mul(w, -2);
      const ref2 = cpuStock('Conv2DBackpropInput', { dy: d.dy, filter: { ...d.w, values: d.w.values.map((v) => v * -2) } }, { ...d.attrs, inputShape: d.x.shape });
      w.dispose();
      const out2 = tf.conv2dTranspose(dy, w2 as tf.Tensor4D, d.x.shape as [number, number, number, number], 2, 'same');
      expect(relErr({ shape: out2.shape, values: out2.dataSync() as Float32Array, dtype: 'float32' }, ref2)).toBeLessThanOrEqual(TOL);
      expect(filterCacheStats(tf.backend()).entries).toBe(cached);
      // the same data seen through another shape (a reshape shares the dataId) is another filter
      const w3 = tf.reshape(w2, [d.w.shape[0]!, d.w.shape[1]!, d.w.shape[3]!, d.w.shape[2]!]) as tf.Tensor4D;
      const dy3 = tf.conv2d(tf.ones([d.x.shape[0]!, d.x.shape[1]!, d.x.shape[2]!, d.w.shape[3]!]) as tf.Tensor4D, w3, 2, 'same');
      const out3 = tf.conv2dTranspose(dy3, w3, [d.x.shape[0]!, d.x.shape[1]!, d.x.shape[2]!, d.w.shape[3]!], 2, 'same');
      const ref3 = cpuStock('Conv2DBackpropInput', {
        dy: { shape: dy3.shape, values: dy3.dataSync() as Float32Array, dtype: 'float32' },
        filter: { shape: w3.shape, values: w3.dataSync() as Float32Array, dtype: 'float32' },
      }, { ...d.attrs, inputShape: out3.shape });
      expect(relErr({ shape: out3.shape, values: out3.dataSync() as Float32Array, dtype: 'float32' }, ref3)).toBeLessThanOrEqual(TOL);
      tf.dispose([w2, w3, dy, dy3, out2, out3]);
      clearAdv2KernelCaches();
      expect(filterCacheStats(tf.backend()).entries).toBe(0);
    });

    it('Conv2DBackpropFilter matches the stock cpu kernel', (ctx) => {
      if (!available) return ctx.skip();
      CASES.forEach((c, i) => {
        const d = caseData(c, 200 + i);
        const attrs = { ...d.attrs, filterShape: d.w.shape };
        const ref = cpuStock('Conv2DBackpropFilter', { x: d.x, dy: d.dy }, attrs);
        const got = runActive('Conv2DBackpropFilter', { x: d.x, dy: d.dy }, attrs);
        expect(relErr(got, ref), caseName(c)).toBeLessThanOrEqual(TOL);
      });
    });

    it('Conv2DBackpropFilter handles NCHW', (ctx) => {
      if (!available) return ctx.skip();
      const c = CASES[9]!;
      const d = caseData(c, 300);
      const toNCHW = (a: Arr): Arr => {
        const [n, h, w, ch] = a.shape as [number, number, number, number];
        const v = new Float32Array(a.values.length);
        for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) for (let k = 0; k < ch; k++) {
          v[((b * ch + k) * h + y) * w + z] = a.values[((b * h + y) * w + z) * ch + k]!;
        }
        return { shape: [n, ch, h, w], values: v, dtype: 'float32' };
      };
      const attrs = { ...d.attrs, filterShape: d.w.shape };
      const ref = cpuStock('Conv2DBackpropFilter', { x: d.x, dy: d.dy }, attrs);
      const got = runActive('Conv2DBackpropFilter', { x: toNCHW(d.x), dy: toNCHW(d.dy) }, { ...attrs, dataFormat: 'NCHW' });
      expect(relErr(got, ref)).toBeLessThanOrEqual(TOL);
    });

    it('UnsortedSegmentSum matches the stock cpu kernel, drops out-of-range ids, and makes tf.gather differentiable', (ctx) => {
      if (!available) return ctx.skip();
      const x: Arr = { shape: [12, 3, 4], values: rand(144, 5), dtype: 'float32' };
      const ids: Arr = { shape: [12], values: Int32Array.from([0, 4, 2, 2, -1, 4, 0, 1, 5, 3, 3, 0]), dtype: 'int32' };
      const ref = cpuStock('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments: 5 });
      const got = runActive('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments: 5 });
      expect(relErr(got, ref)).toBeLessThanOrEqual(1e-6);
      // 2-d ids, int32 data
      const xi: Arr = { shape: [2, 3, 2], values: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), dtype: 'int32' };
      const ids2: Arr = { shape: [2, 3], values: Int32Array.from([1, 0, 1, 2, 2, 0]), dtype: 'int32' };
      const got2 = runActive('UnsortedSegmentSum', { x: xi, segmentIds: ids2 }, { numSegments: 3 });
      expect(got2.dtype).toBe('int32');
      expect(Array.from(got2.values)).toEqual([14, 16, 6, 8, 16, 18]);
      // gradient of gather: counts of each gathered row
      const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d([0, 2, 2, 3], 'int32')).sum())(tf.ones([4, 2])).dataSync());
      expect(Array.from(g)).toEqual([1, 1, 0, 0, 2, 2, 1, 1]);
    });

    it('Identity (tf.clone) shares data safely: the clone outlives its source, and nothing leaks', async (ctx) => {
      if (!available) return ctx.skip();
      const a = tf.tensor2d([[1, 2], [3, 4]]);
      const ids = tf.backend().numDataIds();
      const b = tf.clone(a);
      // shared, not copied
      expect(tf.backend().numDataIds()).toBe(ids);
      a.dispose();
      expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
      const c = tf.add(b, 1);
      b.dispose();
      expect(Array.from(c.dataSync())).toEqual([2, 3, 4, 5]);
      c.dispose();
      await expectNoLeak(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.add(t, tf.clone(t)).sum())(tf.ones([3])).dataSync()));
      const g = tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.add(t, tf.clone(t)).sum())(tf.ones([3])).dataSync()));
      expect(g).toEqual([2, 2, 2]);
    });

    it('second order: nested tf.grad through conv layers matches finite differences', (ctx) => {
      if (!available) return ctx.skip();
      const x0 = tf.tensor4d(rand(2 * 9 * 9 * 3, 11), [2, 9, 9, 3]);
      const w1 = tf.tensor4d(rand(3 * 3 * 3 * 4, 12).map((v) => v * 0.5), [3, 3, 3, 4]);
      const w2 = tf.tensor4d(rand(3 * 3 * 4 * 5, 13).map((v) => v * 0.5), [3, 3, 4, 5]);
      const v = tf.tensor4d(rand(2 * 5 * 5 * 5, 14), [2, 5, 5, 5]);
      const f = (x: tf.Tensor4D, a: tf.Tensor4D): tf.Tensor4D =>
        tf.conv2d(tf.softplus(tf.conv2d(x, a, 1, 'same')), w2, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      // L(x, w1) = sum((d <f(x), v> / dx)^2)
      const L = (x: tf.Tensor4D, a: tf.Tensor4D): tf.Scalar => {
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D, a), v)))(x);
        return tf.sum(tf.square(g));
      };
      const [gx, gw] = tf.grads((x: tf.Tensor, a: tf.Tensor) => L(x as tf.Tensor4D, a as tf.Tensor4D))([x0, w1]);
      const ux = tf.tensor4d(rand(x0.size, 15), x0.shape);
      const uw = tf.tensor4d(rand(w1.size, 16), w1.shape);
      const eps = 1e-2;
      const check = (analytic: number, plus: number, minus: number, what: string): void => {
        const fd = (plus - minus) / (2 * eps);
        expect(Math.abs(analytic - fd) / Math.max(Math.abs(fd), 1e-3), `${what}: analytic ${analytic} fd ${fd}`).toBeLessThanOrEqual(2e-2);
      };
      tf.tidy(() => {
        check(tf.sum(tf.mul(gx!, ux)).dataSync()[0]!,
          L(tf.add(x0, tf.mul(ux, eps)), w1).dataSync()[0]!, L(tf.sub(x0, tf.mul(ux, eps)), w1).dataSync()[0]!, 'dL/dx');
        check(tf.sum(tf.mul(gw!, uw)).dataSync()[0]!,
          L(x0, tf.add(w1, tf.mul(uw, eps))).dataSync()[0]!, L(x0, tf.sub(w1, tf.mul(uw, eps))).dataSync()[0]!, 'dL/dw1');
      });
      tf.dispose([x0, w1, w2, v, gx!, gw!, ux, uw]);
    });

    it('leaks nothing inside tf.grad (tensors and backend buffers)', async (ctx) => {
      if (!available) return ctx.skip();
      const x = tf.tensor4d(rand(2 * 8 * 8 * 3, 21), [2, 8, 8, 3]);
      const w = tf.tensor4d(rand(3 * 3 * 3 * 4, 22), [3, 3, 3, 4]);
      const table = tf.tensor2d(rand(20, 23), [10, 2]);
      const idx = tf.tensor1d([1, 3, 3, 9], 'int32');
      const dataIds = (): number => tf.backend().numDataIds();
      const steps: [string, () => void][] = [
        ['Conv2DBackpropInput', () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.conv2d(t as tf.Tensor4D, w, 2, 'same').sum())(x).dataSync())],
        ['Conv2DBackpropFilter', () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.conv2d(x, t as tf.Tensor4D, 2, 'same').sum())(w).dataSync())],
        ['UnsortedSegmentSum', () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.gather(t, idx).sum())(table).dataSync())],
        ['second order', () => tf.tidy(() => tf.grad((t: tf.Tensor) =>
          tf.grad((u: tf.Tensor) => tf.softplus(tf.conv2d(u as tf.Tensor4D, w, 1, 'same')).sum())(t).square().sum())(x).dataSync())],
      ];
      for (const [name, step] of steps) {
        await expectNoLeak(step);
        const before = dataIds();
        for (let i = 0; i < 3; i++) step();
        expect(dataIds() - before, `${name}: backend buffers`).toBe(0);
      }
      tf.dispose([x, w, table, idx]);
    });
  });
}
