/**
 * softmax / logSoftmax / crossEntropy.
 *
 * What is proved, per backend: forward values equal tfjs' kernels (and a hand computation for the
 * cross-entropy variants: index labels, number[] labels, one-hot/probability targets, the reference
 * code's label smoothing, the three reductions); first derivatives and the second-order quantity
 * (gradient of a loss on the input-gradient) match finite differences; the gradient of
 * crossEntropy equals softmax − q (closed form); no leaks through nested gradients.
 * The negative control (stock tf.logSoftmax failing the same second-order check) is in fd.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeak } from '../helpers/leak.js';
import { checkFirstOrder, checkSecondOrder, expectFdOk, maxAbsDiff, randomTensor, secondOrderLoss } from '../helpers/fd.js';
import { crossEntropy, logSoftmax, softmax } from '../../src/engine/ops/index.js';

describe.each(TEST_BACKENDS)('softmax family on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('forward equals tf.softmax / tf.logSoftmax (last axis, any rank)', () => {
    for (const shape of [[3, 5], [2, 2, 4]]) {
      const x = randomTensor(shape, 1, -3, 3);
      expect(tf.tidy(() => maxAbsDiff(softmax(x), tf.softmax(x)))).toBe(0);
      expect(tf.tidy(() => maxAbsDiff(logSoftmax(x), tf.logSoftmax(x)))).toBe(0);
      x.dispose();
    }
  });

  it('first order and second-order quantity match finite differences', () => {
    const x = randomTensor([3, 5], 2, -2, 2);
    for (const [name, op] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
      expectFdOk(checkFirstOrder(op, x), `${name} first order`);
      expectFdOk(checkSecondOrder(op, x), `${name} second order`);
    }
    x.dispose();
  });

  it('crossEntropy values: labels as indices, number[], one-hot; smoothing; reductions', () => {
    const logits = randomTensor([3, 4], 3, -2, 2);
    const z = logits.arraySync() as number[][];
    const labels = [2, 0, 3];
    const eps = 0.05;
    const manual = (smooth: number) =>
      z.map((row, i) => {
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        return -row.reduce((a, v, j) => a + (j === labels[i] ? 1 - smooth : smooth / 3) * (v - lse), 0);
      });
    const plain = manual(0);
    const smoothed = manual(eps);
    const idx = tf.tensor1d(labels, 'int32');
    const onehot = tf.oneHot(idx, 4).toFloat();
    const vals = (t: tf.Tensor) => {
      const a = Array.from(t.dataSync());
      t.dispose();
      return a;
    };
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    for (const lab of [idx, labels, onehot] as const) {
      const none = vals(crossEntropy(logits, lab, { reduction: 'none' }));
      none.forEach((v, i) => expect(v).toBeCloseTo(plain[i]!, 5));
      expect(vals(crossEntropy(logits, lab))[0]).toBeCloseTo(mean(plain), 5);
      expect(vals(crossEntropy(logits, lab, { reduction: 'sum' }))[0]).toBeCloseTo(plain.reduce((s, v) => s + v, 0), 5);
      const sm = vals(crossEntropy(logits, lab, { labelSmoothing: eps, reduction: 'none' }));
      sm.forEach((v, i) => expect(v).toBeCloseTo(smoothed[i]!, 5));
    }
    expect(() => crossEntropy(logits, [1, 2])).toThrow(/2 labels for 3/);
    tf.dispose([logits, idx, onehot]);
  });

  it('crossEntropy gradient is (softmax − q)/N; first and second order match finite differences', () => {
    const logits = randomTensor([3, 4], 4, -2, 2);
    const labels = [1, 3, 0];
    const g = tf.tidy(() => tf.grad((z: tf.Tensor) => crossEntropy(z, labels) as tf.Scalar)(logits));
    const want = tf.tidy(() => tf.div(tf.sub(tf.softmax(logits), tf.oneHot(tf.tensor1d(labels, 'int32'), 4).toFloat()), 3));
    expect(maxAbsDiff(g, want)).toBeLessThan(1e-6);
    for (const opts of [{}, { labelSmoothing: 0.1 }, { reduction: 'none' as const }]) {
      const op = (z: tf.Tensor) => crossEntropy(z, labels, opts);
      expectFdOk(checkFirstOrder(op, logits), `crossEntropy ${JSON.stringify(opts)} first order`);
      expectFdOk(checkSecondOrder(op, logits), `crossEntropy ${JSON.stringify(opts)} second order`);
    }
    tf.dispose([logits, g, want]);
  });

  it('does not leak tensors through nested gradients', async () => {
    const x = randomTensor([3, 5], 5);
    const ops = [softmax, logSoftmax, (z: tf.Tensor) => crossEntropy(z, [0, 1, 2], { labelSmoothing: 0.05 })];
    for (const op of ops) {
      const { L2, dispose } = secondOrderLoss(op, x);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(x)).dispose());
      dispose();
    }
    const labels = tf.tensor1d([0, 1, 2], 'int32');
    await expectNoLeak(() => crossEntropy(x, labels, { labelSmoothing: 0.1, reduction: 'sum' }).dispose());
    labels.dispose();
    x.dispose();
  });
});
