/**
 * gaussianKernel1d, reflectPad, gaussianBlur.
 *
 * What is proved, per backend:
 * - kernels follow OpenCV's getGaussianKernel (spec 9.5 vectors, binomial tables for odd k ≤ 7 with
 *   σ ≤ 0, derived σ otherwise, sum 1);
 * - reflectPad equals tf.mirrorPad(…, 'reflect') in value, and its gradient matches finite
 *   differences — unlike tf.mirrorPad's, which tfjs 4.22 gets wrong at first order (recorded);
 * - gaussianBlur equals a direct JS 2-D convolution with cv2-style reflect (or zero) borders;
 * - first derivative vs finite differences; the blur is linear, so the second-order check runs
 *   inside x ↦ (B(x + 0.1x³))², proving the backward (conv2DBackpropInput, slices, reverses,
 *   concat) is itself correctly differentiated;
 * - no leaks through nested gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeak } from '../helpers/leak.js';
import { checkFirstOrder, checkSecondOrder, expectFdOk, maxAbsDiff, randomTensor, sandwich, secondOrderLoss } from '../helpers/fd.js';
import { gaussianBlur, gaussianKernel1d, opencvSigma, reflectPad } from '../../src/engine/ops/index.js';

/** direct 2-D blur of one [h, w] plane with a separable kernel and reflect-101 / zero borders */
function blurRef(plane: number[][], k: number[], mode: 'reflect' | 'zero'): number[][] {
  const h = plane.length;
  const w = plane[0]!.length;
  const p = (k.length - 1) / 2;
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const at = (i: number, j: number) => {
    if (mode === 'zero' && (i < 0 || i >= h || j < 0 || j >= w)) return 0;
    return plane[refl(i, h)]![refl(j, w)]!;
  };
  return plane.map((row, i) =>
    row.map((_, j) => {
      let s = 0;
      for (let a = 0; a < k.length; a++) for (let b = 0; b < k.length; b++) s += k[a]! * k[b]! * at(i + a - p, j + b - p);
      return s;
    }),
  );
}

describe('gaussianKernel1d (OpenCV semantics)', () => {
  it('matches the spec 9.5 vectors', () => {
    const cases: [number, number, number, number][] = [
      [11, 2.0, 0.200565, 0.008812],
      [21, 3.5, 0.114282, 0.001929],
      [11, 10, 0.095478, 0.084259],
    ];
    for (const [k, s, centre, end] of cases) {
      const g = gaussianKernel1d(k, s);
      expect(g.length).toBe(k);
      expect(g[(k - 1) / 2]).toBeCloseTo(centre, 6);
      expect(g[0]).toBeCloseTo(end, 6);
      expect(g[k - 1]).toBeCloseTo(end, 6);
      expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    expect(gaussianKernel1d(5, 0)).toEqual([1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]);
    expect(gaussianKernel1d(3, -1)).toEqual([0.25, 0.5, 0.25]);
    // OpenCV's k=7 table is not the binomial row: [2, 7, 14, 18, 14, 7, 2] / 64
    expect(gaussianKernel1d(7, 0)).toEqual([2, 7, 14, 18, 14, 7, 2].map((v) => v / 64));
    expect(gaussianKernel1d(7, 1.5)[3]).not.toBe(18 / 64); // σ > 0: computed, not the table
  });

  it('derives σ from k when sigma ≤ 0 and k > 7 (k=21, σ=−1 is the MASK-v2 σ=3.5 kernel)', () => {
    expect(opencvSigma(21)).toBeCloseTo(3.5, 12);
    const a = gaussianKernel1d(21, -1);
    const b = gaussianKernel1d(21, 3.5);
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
  });
});

describe.each(TEST_BACKENDS)('reflectPad and gaussianBlur on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('reflectPad equals tf.mirrorPad reflect; its gradient is right and tf.mirrorPad’s is not', () => {
    const x = randomTensor([2, 5, 4, 3], 1);
    const pads: [number, number, number, number] = [2, 1, 3, 2];
    const ref = (z: tf.Tensor) => tf.mirrorPad(z, [[0, 0], [2, 1], [3, 2], [0, 0]], 'reflect');
    expect(tf.tidy(() => maxAbsDiff(reflectPad(x, pads), ref(x)))).toBe(0);
    expectFdOk(checkFirstOrder((z) => reflectPad(z, pads), x), 'reflectPad first order');
    expect(checkFirstOrder(ref, x).ok, 'tf.mirrorPad gradient (tfjs 4.22 drops the reflected cells)').toBe(false);
    expectFdOk(checkSecondOrder(sandwich((z) => reflectPad(z, pads)), x), 'reflectPad second order');
    expect(() => reflectPad(x, 5)).toThrow(/must be </);
    x.dispose();
  });

  it('gaussianBlur equals a direct 2-D convolution (reflect and zero borders)', () => {
    const x = randomTensor([2, 6, 7, 2], 2);
    const xa = x.arraySync() as number[][][][];
    for (const [k, s, mode] of [[3, 0, 'reflect'], [5, 1.2, 'reflect'], [5, 0, 'zero'], [7, 2, 'reflect']] as const) {
      const y = gaussianBlur(x, k, s, { padding: mode });
      expect(y.shape).toEqual(x.shape);
      const ya = y.arraySync() as number[][][][];
      const kern = gaussianKernel1d(k, s);
      let worst = 0;
      for (let n = 0; n < 2; n++) {
        for (let c = 0; c < 2; c++) {
          const plane = xa[n]!.map((row) => row.map((px) => px[c]!));
          const want = blurRef(plane, kern, mode);
          want.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ya[n]![i]![j]![c]!)))));
        }
      }
      expect(worst, `k=${k} σ=${s} ${mode}`).toBeLessThan(1e-6);
      y.dispose();
    }
    x.dispose();
  });

  it('first order and second-order quantity match finite differences', () => {
    const x = randomTensor([1, 6, 6, 2], 3);
    for (const [k, s, mode] of [[3, 0, 'reflect'], [5, 1.5, 'reflect'], [5, 1.5, 'zero']] as const) {
      const op = (z: tf.Tensor) => gaussianBlur(z, k, s, { padding: mode });
      expectFdOk(checkFirstOrder(op, x), `blur k=${k} ${mode} first order`);
      expectFdOk(checkSecondOrder(sandwich(op), x), `blur k=${k} ${mode} second order`);
    }
    x.dispose();
  });

  it('does not leak tensors through nested gradients', async () => {
    const x = randomTensor([1, 6, 6, 2], 4);
    for (const op of [(z: tf.Tensor) => gaussianBlur(z, 5, 1.5), (z: tf.Tensor) => reflectPad(z, 2)]) {
      const { L2, dispose } = secondOrderLoss(sandwich(op), x);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(x)).dispose());
      await expectNoLeak(() => op(x).dispose());
      dispose();
    }
    x.dispose();
  });
});
