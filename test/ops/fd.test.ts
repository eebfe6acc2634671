/**
 * The finite-difference checker itself: it must pass correct derivatives conclusively and FAIL
 * when a derivative term is wrong or dropped (negative controls), on every backend.
 *
 * - positive: Σ w·sin(x) (first order) and its second-order quantity;
 * - first-order control: a customGrad whose gradient is 3 % too large is rejected;
 * - second-order control 1: stock tf.logSoftmax, whose gradient reads its saved output (the nested
 *   tape treats it as a constant): the check on x ↦ logSoftmax(x)² fails, our logSoftmax passes;
 * - second-order control 2: a surrogate ReLU whose h(z) is computed from a disconnected copy of z
 *   (what a "where/less" or output-based implementation does) silently drops h'(z): fails;
 * - second-order control 3: stock tf.maxPool under nesting throws; the checker reports it as a failure.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { checkFirstOrder, checkSecondOrder, expectFdOk, randomTensor, sandwich, spacedTensor } from '../helpers/fd.js';
import { customUnary, logSoftmax, maxPool, surrogateDerivative, surrogateRelu } from '../../src/engine/ops/index.js';

describe.each(TEST_BACKENDS)('finite-difference checker on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('passes correct first and second derivatives conclusively', () => {
    const x = randomTensor([4, 3], 1, -2, 2);
    expectFdOk(checkFirstOrder(tf.sin, x), 'sin first order');
    expectFdOk(checkSecondOrder(tf.sin, x), 'sin second order');
    x.dispose();
  });

  it('rejects a first derivative that is 3 % off', () => {
    const x = randomTensor([4, 3], 2, -2, 2);
    const wrongSin = customUnary(
      (z) => tf.sin(z),
      (dy, z) => tf.mul(dy, tf.mul(tf.cos(z), 1.03)),
    );
    const res = checkFirstOrder(wrongSin, x);
    expect(res.ok).toBe(false);
    expect(res.err / Math.abs(res.numeric)).toBeGreaterThan(0.02);
    x.dispose();
  });

  it('detects the wrong second derivative of stock tf.logSoftmax (and passes ours)', () => {
    const x = randomTensor([3, 5], 3, -2, 2);
    const stock = checkSecondOrder((z) => tf.square(tf.logSoftmax(z)), x);
    expect(stock.error).toBeUndefined(); // silently wrong, not throwing
    expect(stock.ok).toBe(false);
    expect(stock.err).toBeGreaterThan(10 * stock.tol);
    expectFdOk(checkSecondOrder((z) => tf.square(logSoftmax(z)), x), 'safe logSoftmax² second order');
    x.dispose();
  });

  it('detects a surrogate ReLU whose h(z) is disconnected from z (dropped second-order term)', () => {
    const h = surrogateDerivative({ kind: 'h' });
    const dropped = customUnary(
      (z) => tf.relu(z),
      // a copy of z that the tape cannot see: h'(z) never reaches a second-order loss
      (dy, z) => tf.mul(dy, h(tf.tensor(z.dataSync(), z.shape))),
    );
    // values with |z| in [0.01, 0.06] where h' is large; the cubic keeps x connected, so nothing throws
    const x = tf.tidy(() => {
      const r = randomTensor([2, 3, 2], 4);
      return tf.mul(tf.sign(r), tf.add(tf.mul(tf.abs(r), 0.05), 0.01));
    });
    const wrap = (relu: (z: tf.Tensor) => tf.Tensor) => (z: tf.Tensor) => relu(tf.add(z, tf.mul(tf.pow(z, 3), 0.1)));
    const bad = checkSecondOrder(wrap(dropped), x, { eps: 1e-3 });
    expect(bad.error).toBeUndefined();
    expect(bad.ok).toBe(false);
    expectFdOk(checkSecondOrder(wrap(surrogateRelu({ kind: 'h' })), x, { eps: 1e-3 }), 'connected h second order');
    x.dispose();
  });

  it('reports stock tf.maxPool under nesting as a failure (it throws), ours passes', () => {
    const x = spacedTensor([1, 4, 4, 2], 5, 0.05);
    const stock = checkSecondOrder(sandwich((z) => tf.maxPool(z as tf.Tensor4D, 2, 2, 'valid')), x);
    expect(stock.ok).toBe(false);
    expect(stock.error).toBeDefined();
    expectFdOk(checkSecondOrder(sandwich((z) => maxPool(z, 2, 2, 'valid')), x), 'maxPool second order');
    x.dispose();
  });
});
