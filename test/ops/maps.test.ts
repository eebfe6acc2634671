/**
 * channelMax, absChannelMax, minMaxNormalize, clampDiff / clamp01Smooth, pixelShuffle, totalVariation.
 *
 * What is proved, per backend:
 * - values equal tfjs references (tf.max over channels, tf.min/tf.max per sample, tf.clipByValue)
 *   or hand/JS references (spec 9.5 PixelShuffle vector, PyTorch channel order in general, both TV
 *   variants), including the eps floor of the min–max normalisation;
 * - first derivatives match finite differences; inputs are spaced (no ties between channels or
 *   between a sample's extreme values, |x| away from 0 for abs, values away from lo/hi for the clamp),
 *   and the steps move no entry further than half the smallest gap;
 * - second order: minMaxNormalize and totalVariation are non-linear, checked directly; the
 *   piecewise-linear / linear ones (channel max, clamp, pixel shuffle) inside x ↦ (P(x + 0.1x³))²,
 *   which proves their backward is itself correctly differentiated (ties are out of scope);
 * - no leaks through nested gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeak } from '../helpers/leak.js';
import {
  checkFirstOrder,
  checkSecondOrder,
  expectFdOk,
  maxAbsDiff,
  randomTensor,
  sandwich,
  secondOrderLoss,
  spacedTensor,
} from '../helpers/fd.js';
import {
  absChannelMax,
  channelMax,
  clamp01Smooth,
  clampDiff,
  minMaxNormalize,
  pixelShuffle,
  totalVariation,
} from '../../src/engine/ops/index.js';

/** FD step: with gap 0.03 and |v_i| ≤ ~0.7, entries move by ≤ 4e-3 (× ≤ 1.2 through the cubic) */
const EPS = 5e-3;
/** values 0.007 + 0.03·(k + ½): distinct, |x| ≥ 0.008 and no two with equal |x| */
const spaced = (shape: number[], seed: number) => spacedTensor(shape, seed, 0.03, 0.007);

function tvRef(m: number[][], beta: number, eps: number, variant: 'isotropic' | 'reference'): number {
  const h = m.length;
  const w = m[0]!.length;
  let s = 0;
  if (variant === 'isotropic') {
    for (let i = 0; i < h - 1; i++) {
      for (let j = 0; j < w - 1; j++) {
        const dy = m[i + 1]![j]! - m[i]![j]!;
        const dx = m[i]![j + 1]! - m[i]![j]!;
        s += (dy * dy + dx * dx + eps) ** (beta / 2);
      }
    }
  } else {
    // d_y[i][j] = m[i+1][j] − m[i][j] ((h−1)×w); d_xᵀ[i][j] = d_x[j][i] = m[j][i+1] − m[j][i]
    for (let i = 0; i < h - 1; i++) {
      for (let j = 0; j < w; j++) {
        const dy = m[i + 1]![j]! - m[i]![j]!;
        const dxT = m[j]![i + 1]! - m[j]![i]!;
        s += (dxT * dxT + dy * dy + eps) ** (beta / 2);
      }
    }
  }
  return s;
}

describe.each(TEST_BACKENDS)('map helpers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('channelMax / absChannelMax equal tf.max over channels (slice chain for C ≤ 8, one-hot selection above)', () => {
    for (const c of [1, 3, 10]) {
      const x = randomTensor([2, 3, 4, c], c);
      expect(tf.tidy(() => maxAbsDiff(channelMax(x), tf.max(x, -1, true))), `C=${c}`).toBe(0);
      expect(tf.tidy(() => channelMax(x, false).shape)).toEqual([2, 3, 4]);
      expect(tf.tidy(() => maxAbsDiff(absChannelMax(x), tf.max(tf.abs(x), -1, true))), `abs C=${c}`).toBe(0);
      x.dispose();
    }
  });

  it('channelMax / absChannelMax: first order and second-order quantity match finite differences', () => {
    for (const c of [3, 10]) {
      const x = spaced([2, 3, 3, c], 10 + c);
      for (const [name, op] of [['channelMax', channelMax], ['absChannelMax', absChannelMax]] as const) {
        expectFdOk(checkFirstOrder((z) => op(z), x, { eps: EPS }), `${name} C=${c} first order`);
        expectFdOk(checkSecondOrder(sandwich((z) => op(z)), x, { eps: EPS }), `${name} C=${c} second order`);
      }
      x.dispose();
    }
  });

  it('minMaxNormalize: per-sample (m − min)/max(max − min, eps), eps floor for constant maps', () => {
    const m = randomTensor([3, 4, 4, 1], 20, -2, 5);
    const want = tf.tidy(() => {
      const lo = tf.min(m, [1, 2, 3], true);
      const hi = tf.max(m, [1, 2, 3], true);
      return tf.div(tf.sub(m, lo), tf.maximum(tf.sub(hi, lo), 1e-8));
    });
    expect(tf.tidy(() => maxAbsDiff(minMaxNormalize(m), want))).toBeLessThan(1e-6);
    const flat = tf.fill([2, 3, 3, 1], 0.7);
    expect(tf.tidy(() => tf.max(tf.abs(minMaxNormalize(flat))).dataSync()[0])).toBe(0);
    const tiny = tf.tensor4d([0, 1e-9, 2e-9, 0], [1, 2, 2, 1]);
// range 2e-9 < eps: divided by the floor 1e-8, not stretched to [0, 1]
    const t = tf.tidy(() => Array.from(minMaxNormalize(tiny).dataSync()));
    [0, 0.1, 0.2, 0].forEach((v, i) => expect(t[i]).toBeCloseTo(v, 6));
    tf.dispose([m, want, flat, tiny]);
  });

  it('minMaxNormalize: first order and second-order quantity match finite differences', () => {
    const x = spaced([2, 3, 3, 2], 21);
    expectFdOk(checkFirstOrder(minMaxNormalize, x, { eps: EPS }), 'minMaxNormalize first order');
    expectFdOk(checkSecondOrder(minMaxNormalize, x, { eps: EPS }), 'minMaxNormalize second order');
    x.dispose();
  });

  it('clampDiff equals tf.clipByValue with the relu(v−lo) − relu(v−hi) derivatives', () => {
    const v = tf.tensor1d([-1, 0, 0.2, 0.5, 1, 1.7]);
    expect(tf.tidy(() => maxAbsDiff(clamp01Smooth(v), tf.clipByValue(v, 0, 1)))).toBe(0);
    expect(tf.tidy(() => maxAbsDiff(clampDiff(v, 0.2, 0.9), tf.clipByValue(v, 0.2, 0.9)))).toBe(0);
    const g = tf.tidy(() => Array.from(tf.grad((z: tf.Tensor) => tf.sum(clamp01Smooth(z)) as tf.Scalar)(v).dataSync()));
    expect(g).toEqual([0, 0, 1, 1, 1, 0]); // relu'(0) = 0 at lo, 1 − 0 at hi
    expect(() => clampDiff(v, 1, 0)).toThrow(/lo <= hi/);
    // tensor bounds (an ε-ball around x₀): same value as maximum/minimum, same derivative rule
    const x0 = tf.tensor1d([0, 0, 0.5, 0.5, 1, 1]);
    const [lo, hi] = [tf.sub(x0, 0.3), tf.add(x0, 0.3)];
    expect(tf.tidy(() => maxAbsDiff(clampDiff(v, lo, hi), tf.minimum(tf.maximum(v, lo), hi)))).toBe(0);
    const gt = tf.tidy(() => Array.from(tf.grad((z: tf.Tensor) => tf.sum(clampDiff(z, lo, hi)) as tf.Scalar)(v).dataSync()));
    expect(gt).toEqual([0, 1, 1, 1, 1, 0]);
    tf.dispose([v, x0, lo, hi]);
  });

  it('clampDiff: first order and second-order quantity match finite differences', () => {
    const x = spaced([2, 3, 3, 2], 22); // 0.007 + 0.03·(k + ½), k = −18 … 17
    // bounds halfway between neighbouring values (0.007 + 0.03·k), so no entry sits at a kink; in the
    // second-order check the clamp acts on ψ(x) = x + 0.1x³, so the bounds are mapped through ψ
    const [a, b] = [0.007 - 0.03 * 10, 0.007 + 0.03 * 10];
    const psi = (t: number) => t + 0.1 * t ** 3;
    expectFdOk(checkFirstOrder((z) => clampDiff(z, a, b), x, { eps: EPS }), 'clampDiff first order');
    expectFdOk(checkSecondOrder(sandwich((z) => clampDiff(z, psi(a), psi(b))), x, { eps: EPS }), 'clampDiff second order');
    x.dispose();
  });

  it('pixelShuffle: spec 9.5 vector and PyTorch order; first and second order match finite differences', () => {
    const q = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 1, 8]);
    const y = pixelShuffle(q, 2); // [1, 2, 2, 2]
    const ya = y.arraySync() as number[][][][];
    expect(ya[0]!.map((row) => row.map((px) => px[0]))).toEqual([[0, 1], [2, 3]]);
    expect(ya[0]!.map((row) => row.map((px) => px[1]))).toEqual([[4, 5], [6, 7]]);
    const x = randomTensor([2, 2, 3, 18], 30);
    const xa = x.arraySync() as number[][][][];
    const za = tf.tidy(() => pixelShuffle(x, 3).arraySync()) as number[][][][];
    let bad = 0;
    for (let n = 0; n < 2; n++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 3; w++)
          for (let c = 0; c < 2; c++)
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 3; j++) if (za[n]![h * 3 + i]![w * 3 + j]![c] !== xa[n]![h]![w]![c * 9 + i * 3 + j]) bad++;
    expect(bad).toBe(0);
    expect(() => pixelShuffle(x, 4)).toThrow(/not divisible/);
    const s = randomTensor([1, 2, 2, 8], 31);
    expectFdOk(checkFirstOrder((z) => pixelShuffle(z, 2), s), 'pixelShuffle first order');
    expectFdOk(checkSecondOrder(sandwich((z) => pixelShuffle(z, 2)), s), 'pixelShuffle second order');
    tf.dispose([q, y, x, s]);
  });

  it('totalVariation equals a JS reference (isotropic and the reference-code quirk)', () => {
    const m = randomTensor([2, 5, 5, 1], 40, 0, 1);
    const ma = m.arraySync() as number[][][][];
    for (const variant of ['isotropic', 'reference'] as const) {
      for (const beta of [2, 3]) {
        const got = tf.tidy(() => Array.from(totalVariation(m, { beta, variant }).dataSync()));
        got.forEach((v, n) => {
          const want = tvRef(ma[n]!.map((row) => row.map((px) => px[0]!)), beta, 1e-8, variant);
          expect(v, `${variant} β=${beta}`).toBeCloseTo(want, 4);
        });
      }
    }
    expect(() => totalVariation(tf.zeros([1, 3, 4, 1]), { variant: 'reference' })).toThrow(/square/);
    m.dispose();
  });

  it('totalVariation: first order and second-order quantity match finite differences', () => {
    const m = randomTensor([2, 4, 4, 1], 41, 0, 1);
    for (const variant of ['isotropic', 'reference'] as const) {
      const op = (z: tf.Tensor) => totalVariation(z, { variant });
      expectFdOk(checkFirstOrder(op, m), `TV ${variant} first order`);
      expectFdOk(checkSecondOrder(op, m), `TV ${variant} second order`);
    }
    m.dispose();
  });

  it('does not leak tensors through nested gradients', async () => {
    const x = spaced([2, 3, 3, 4], 50);
    const x12 = spaced([2, 3, 3, 12], 51); // one-hot path of channelMax
    const ops: [(z: tf.Tensor) => tf.Tensor, tf.Tensor, boolean][] = [
      [(z) => channelMax(z), x, true],
      [(z) => channelMax(z), x12, true],
      [(z) => absChannelMax(z), x, true],
      [(z) => minMaxNormalize(z), x, false],
      [clamp01Smooth, x, true],
      [(z) => pixelShuffle(z, 2), x, true],
      [(z) => totalVariation(z), x, false],
    ];
    for (const [op, input, linear] of ops) {
      const { L2, dispose } = secondOrderLoss(linear ? sandwich(op) : op, input);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(input)).dispose());
      await expectNoLeak(() => op(input).dispose()); // the op itself cleans up its intermediates
      dispose();
    }
    tf.dispose([x, x12]);
  });
});
