/**
 * exactMax, maxPool, avgPool, globalAvgPool.
 *
 * What is proved, per backend:
 * - forward values equal tf.maximum / tf.maxPool / tf.avgPool / tf.mean for window 2–3, stride
 *   1–2, 'same' / 'valid' / numeric padding, divisible and non-divisible sizes (so both avgPool
 *   paths, reshape+mean and conv2d+count correction, are exercised), and PyTorch's
 *   count_include_pad semantics on request;
 * - first derivatives match finite differences for every config (inputs are shuffled arithmetic
 *   progressions with gaps of 0.05, so no window has a near-tie that a finite-difference step could
 *   flip), and equal tfjs' own gradients where those are right: tf.maxPool on cpu, tf.avgPool
 *   without padding. tfjs 4.22's AvgPoolGrad is wrong whenever a window covers padding (cpu and
 *   wasm) and wasm's MaxPoolGrad is wrong e.g. on 7×7 k2 s2 'valid'; a test records both;
 * - second order: these ops are piecewise linear (their own second derivative is 0), so each is
 *   checked inside x ↦ (P(x + 0.1x³))² (`sandwich`): the nested gradient must differentiate P's
 *   backward with respect to an x-dependent cotangent and P's input. This proves the backward is
 *   itself correctly differentiable (mask routing kept connected for the max, conv2DBackpropInput /
 *   reshape for the averages); it cannot prove anything about exact ties;
 * - exactMax's tie rule (gradient to the first operand) and broadcasting;
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
import { avgPool, exactMax, globalAvgPool, maxPool, type PoolPadding } from '../../src/engine/ops/index.js';

type Cfg = { k: number; s: number; pad: PoolPadding; h: number };
const CONFIGS: Cfg[] = [
  { k: 2, s: 2, pad: 'valid', h: 6 },
  { k: 2, s: 2, pad: 'valid', h: 7 },
  { k: 2, s: 2, pad: 'same', h: 7 },
  { k: 3, s: 2, pad: 'same', h: 6 },
  { k: 3, s: 2, pad: 1, h: 7 },
  { k: 3, s: 1, pad: 'same', h: 6 },
  { k: 3, s: 1, pad: 'valid', h: 6 },
  { k: 2, s: 1, pad: 'valid', h: 5 },
];
const name = (c: Cfg) => `k${c.k} s${c.s} pad ${String(c.pad)} on ${c.h}x${c.h}`;

describe.each(TEST_BACKENDS)('pooling on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('exactMax: value of tf.maximum, gradient routing, ties to the first operand, broadcasting', () => {
    const a = tf.tensor1d([1, 5, 3, 2]);
    const b = tf.tensor1d([4, 2, 3, -1]);
    expect(tf.tidy(() => maxAbsDiff(exactMax(a, b), tf.maximum(a, b)))).toBe(0);
    const [ga, gb] = tf.tidy(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(exactMax(p, q)) as tf.Scalar)([a, b]));
    expect(Array.from(ga!.dataSync())).toEqual([0, 1, 1, 1]);
    expect(Array.from(gb!.dataSync())).toEqual([1, 0, 0, 0]);
    const m = tf.tensor2d([[1, 2], [3, 4]]);
    const s = tf.scalar(2.5);
    const [gm, gs] = tf.tidy(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(exactMax(p, q)) as tf.Scalar)([m, s]));
    expect(Array.from(gm!.dataSync())).toEqual([0, 0, 1, 1]);
    expect(gs!.shape).toEqual([]);
    expect(gs!.dataSync()[0]).toBe(2);
    tf.dispose([a, b, ga!, gb!, m, s, gm!, gs!]);
  });

  it('exactMax: first and second order match finite differences', () => {
    const x = spacedTensor([2, 6], 1, 0.05);
    const op = (z: tf.Tensor) => {
      const [p, q] = tf.split(z, 2, 1);
      return exactMax(p!, q!);
    };
    expectFdOk(checkFirstOrder(op, x), 'exactMax first order');
    expectFdOk(checkSecondOrder(sandwich(op), x), 'exactMax second order');
    x.dispose();
  });

  it('maxPool equals tf.maxPool in value (all configs) and in gradient (cpu)', () => {
    for (const c of CONFIGS) {
      const x = spacedTensor([2, c.h, c.h, 2], 10 + c.h, 0.05);
      const ref = (z: tf.Tensor) => tf.maxPool(z as tf.Tensor4D, c.k, c.s, c.pad as 'same');
      expect(tf.tidy(() => maxAbsDiff(maxPool(x, c.k, c.s, c.pad), ref(x))), name(c)).toBe(0);
      if (backend === 'cpu') {
        // wasm's own MaxPoolGrad is wrong for some shapes (see the next test); cpu's is right here
        const w = tf.tidy(() => randomTensor(ref(x).shape, 3));
        const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(maxPool(z, c.k, c.s, c.pad), w)) as tf.Scalar)(x));
        const gRef = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(ref(z), w)) as tf.Scalar)(x));
        expect(maxAbsDiff(g, gRef), name(c)).toBeLessThan(1e-6);
        tf.dispose([w, g, gRef]);
      }
      x.dispose();
    }
  });

  it('maxPool first derivative matches finite differences for every config', () => {
    for (const c of CONFIGS) {
      const x = spacedTensor([1, c.h, c.h, 2], 20 + c.h, 0.05);
      expectFdOk(checkFirstOrder((z) => maxPool(z, c.k, c.s, c.pad), x), `maxPool ${name(c)} first order`);
      x.dispose();
    }
  });

  it('documents tfjs 4.22: wasm MaxPoolGrad is wrong on 7x7 k2 s2 valid, tf.avgPool gradients are wrong with padding', () => {
    const x = spacedTensor([1, 7, 7, 2], 27, 0.05);
    const stockMax = checkFirstOrder((z) => tf.maxPool(z as tf.Tensor4D, 2, 2, 'valid'), x);
    expect(stockMax.ok).toBe(backend !== 'wasm');
    for (const pad of ['same', 1] as const) {
      expect(checkFirstOrder((z) => tf.avgPool(z as tf.Tensor4D, 3, 2, pad), x).ok, `stock avgPool pad ${pad}`).toBe(false);
      expectFdOk(checkFirstOrder((z) => avgPool(z, 3, 2, pad), x), `avgPool pad ${pad} first order`);
    }
    x.dispose();
  });

  it('maxPool routes gradient only to real cells when a window overlaps the padding', () => {
    const x = tf.fill([1, 3, 3, 1], -5); // below 0, far above the padding value
    const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(maxPool(z, 3, 2, 1)) as tf.Scalar)(x));
    expect(Array.from(g.dataSync()).reduce((s, v) => s + v, 0)).toBe(4); // 2x2 outputs, each to one real cell
    tf.dispose([x, g]);
  });

  it('maxPool: second-order quantity matches finite differences', () => {
    for (const c of [CONFIGS[0]!, CONFIGS[3]!, CONFIGS[4]!, CONFIGS[5]!]) {
      const x = spacedTensor([1, c.h, c.h, 2], 20 + c.h, 0.05);
      expectFdOk(checkSecondOrder(sandwich((z) => maxPool(z, c.k, c.s, c.pad)), x), `maxPool ${name(c)} second order`);
      x.dispose();
    }
  });

  it('avgPool equals tf.avgPool in value (all configs) and in gradient (no padding)', () => {
    for (const c of CONFIGS) {
      const x = randomTensor([2, c.h, c.h, 3], 30 + c.h);
      const ref = (z: tf.Tensor) => tf.avgPool(z as tf.Tensor4D, c.k, c.s, c.pad as 'same');
      expect(tf.tidy(() => maxAbsDiff(avgPool(x, c.k, c.s, c.pad), ref(x))), name(c)).toBeLessThan(1e-6);
      if (c.pad === 'valid') {
        const w = tf.tidy(() => randomTensor(ref(x).shape, 4));
        const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(avgPool(z, c.k, c.s, c.pad), w)) as tf.Scalar)(x));
        const gRef = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(ref(z), w)) as tf.Scalar)(x));
        expect(maxAbsDiff(g, gRef), name(c)).toBeLessThan(1e-6);
        tf.dispose([w, g, gRef]);
      }
      x.dispose();
    }
  });

  it('avgPool countIncludePad divides by k² (PyTorch default)', () => {
    const x = tf.ones([1, 3, 3, 1]);
    const y = avgPool(x, 3, 1, 1, { countIncludePad: true });
    // corner window covers 4 real cells, edge 6, centre 9
    expect(Array.from(y.dataSync()).map((v) => Math.round(v * 9))).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    tf.dispose([x, y]);
  });

  it('avgPool: first order (every config) and second-order quantity match finite differences', () => {
    CONFIGS.forEach((c, i) => {
      const x = randomTensor([1, c.h, c.h, 2], 40 + c.h);
      const op = (z: tf.Tensor) => avgPool(z, c.k, c.s, c.pad);
      expectFdOk(checkFirstOrder(op, x), `avgPool ${name(c)} first order`);
      if (i % 2 === 0) expectFdOk(checkSecondOrder(sandwich(op), x), `avgPool ${name(c)} second order`);
      x.dispose();
    });
  });

  it('globalAvgPool equals the spatial mean; first and second order match finite differences', () => {
    const x = randomTensor([2, 4, 4, 3], 50);
    expect(tf.tidy(() => maxAbsDiff(globalAvgPool(x), tf.mean(x, [1, 2])))).toBeLessThan(1e-7);
    expect(tf.tidy(() => globalAvgPool(x, true).shape)).toEqual([2, 1, 1, 3]);
    expectFdOk(checkFirstOrder(globalAvgPool, x), 'globalAvgPool first order');
    expectFdOk(checkSecondOrder(sandwich(globalAvgPool), x), 'globalAvgPool second order');
    x.dispose();
  });

  it('does not leak tensors through nested gradients', async () => {
    const x = spacedTensor([1, 6, 6, 2], 60, 0.05);
    const ops = [
      (z: tf.Tensor) => maxPool(z, 3, 2, 1),
      (z: tf.Tensor) => avgPool(z, 2, 2),
      (z: tf.Tensor) => avgPool(z, 3, 2, 'same'),
      (z: tf.Tensor) => globalAvgPool(z),
      (z: tf.Tensor) => {
        const [p, q] = tf.split(z, 2, 3);
        return exactMax(p!, q!);
      },
    ];
    for (const op of ops) {
      const { L2, dispose } = secondOrderLoss(sandwich(op), x);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(x)).dispose());
      dispose();
    }
    x.dispose();
  });
});
