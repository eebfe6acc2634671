/**
 * resizeBilinear (matrix form).
 *
 * What is proved, per backend: the forward equals tf.image.resizeBilinear(x, size, false, true)
 * (half-pixel centres = PyTorch align_corners=False) for up-, down- and mixed scaling with
 * non-integer ratios; every interpolation-matrix row sums to 1 and matches PyTorch's rule on a
 * hand-computed case; the first derivative matches finite differences; the op is linear, so the
 * second-order check runs inside x ↦ (R(x + 0.1x³))², which proves that the backward (a matMul with
 * the transposed matrix) is itself correctly differentiated; matrices are cached (no growth on
 * repeated calls); no leaks through nested gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeak } from '../helpers/leak.js';
import { checkFirstOrder, checkSecondOrder, expectFdOk, maxAbsDiff, randomTensor, sandwich, secondOrderLoss } from '../helpers/fd.js';
import { bilinearMatrix, opCacheSize, resizeBilinear } from '../../src/engine/ops/index.js';

const CASES: { from: [number, number]; to: [number, number] }[] = [
  { from: [6, 6], to: [4, 4] },
  { from: [6, 6], to: [9, 9] },
  { from: [6, 6], to: [3, 5] },
  { from: [5, 7], to: [13, 4] },
  { from: [8, 8], to: [2, 2] },
  { from: [4, 4], to: [4, 7] },
];

describe.each(TEST_BACKENDS)('resizeBilinear on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('interpolation matrices: rows sum to 1, PyTorch half-pixel rule', () => {
    for (const [i, o] of [[6, 4], [6, 9], [5, 13], [8, 2], [1, 3], [3, 1]] as const) {
      const m = bilinearMatrix(i, o);
      for (let r = 0; r < o; r++) {
        const row = Array.from(m.subarray(r * i, (r + 1) * i));
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      }
    }
    // 2 → 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped at the last pixel)
    expect(Array.from(bilinearMatrix(2, 4))).toEqual([1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  });

  it('forward equals tf.image.resizeBilinear(x, size, false, true)', () => {
    for (const c of CASES) {
      const x = randomTensor([2, ...c.from, 3], 1);
      const d = tf.tidy(() => maxAbsDiff(resizeBilinear(x, c.to), tf.image.resizeBilinear(x as tf.Tensor4D, c.to, false, true)));
      expect(d, `${c.from} → ${c.to}`).toBeLessThan(1e-6);
      x.dispose();
    }
  });

  it('first order and second-order quantity match finite differences', () => {
    for (const c of [CASES[0]!, CASES[1]!, CASES[3]!]) {
      const x = randomTensor([1, ...c.from, 2], 2);
      const op = (z: tf.Tensor) => resizeBilinear(z, c.to);
      expectFdOk(checkFirstOrder(op, x), `${c.from} → ${c.to} first order`);
      expectFdOk(checkSecondOrder(sandwich(op), x), `${c.from} → ${c.to} second order`);
      x.dispose();
    }
  });

  it('caches its matrices and does not leak through nested gradients', async () => {
    const x = randomTensor([1, 6, 6, 2], 3);
    const op = (z: tf.Tensor) => resizeBilinear(z, [4, 9]);
    tf.tidy(() => op(x));
    const cached = opCacheSize();
    tf.tidy(() => op(x));
    expect(opCacheSize()).toBe(cached);
    const { L2, dispose } = secondOrderLoss(sandwich(op), x);
    await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(x)).dispose());
    await expectNoLeak(() => op(x).dispose());
    dispose();
    x.dispose();
  });
});
