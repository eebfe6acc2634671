/**
 * Surrogate ReLU and the safe sigmoid/exp/softplus.
 *
 * What is proved, per backend (cpu, wasm):
 * - forward of surrogateRelu is exactly tf.relu for every kind;
 * - the paper's h matches the spec 9.5 test vectors (both as surrogateDerivative and as the actual
 *   backward of surrogateRelu with dy = 1);
 * - first order: the backward equals the derivative of its smooth twin's forward s(z) (finite
 *   differences of s), and the exact-forward op's gradient equals the twin's gradient;
 * - second order: the gradient of L2 = Σ(∂Σ(relu_h(x)·u)/∂x − t)² (a loss on a surrogate gradient)
 *   matches finite differences of L2, and for h also the closed form 2(u·h − t)·u·h'(z) with
 *   h' = τ/(z²+τ)^{3/2}; inputs stay ≥ 0.02 away from h's discontinuity at 0;
 * - sigmoid/exp/softplus: forward equals tfjs', first and second order match finite differences;
 * - no tensor leaks through nested tf.grad.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeak } from '../helpers/leak.js';
import { checkFirstOrder, checkGradient, checkSecondOrder, expectFdOk, maxAbsDiff, randomTensor, secondOrderLoss } from '../helpers/fd.js';
import {
  exp,
  sigmoid,
  softplus,
  surrogateDerivative,
  surrogateRelu,
  surrogateReluSmooth,
  type SurrogateKind,
} from '../../src/engine/ops/index.js';

/**
 * values with |z| in [0.01, 0.08]: away from h's jump at 0 (the FD steps for h move an entry by
 * ≤ 1e-3) but inside the band where h'(z) = τ/(z²+τ)^{3/2} is large, so the second-order term is
 * substantial.
 */
function awayFromZero(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => {
    const r = randomTensor(shape, seed);
    return tf.mul(tf.sign(r), tf.add(tf.mul(tf.abs(r), 0.07), 0.01));
  });
}

const KINDS: SurrogateKind[] = [
  { kind: 'h' },
  { kind: 'h', tau: 1e-2 },
  { kind: 'sigmoid' },
  { kind: 'sigmoid', beta: 5 },
  { kind: 'softplus', beta: 2 },
  { kind: 'exact' },
];
const label = (k: SurrogateKind) => JSON.stringify(k);
/** h varies on the scale √τ around 0: small steps; the sigmoid kinds are smooth on the scale 1/β */
const epsFor = (k: SurrogateKind) => (k.kind === 'h' ? 1e-3 : 1e-2);

describe.each(TEST_BACKENDS)('activations on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('h matches the spec 9.5 test vectors, as a function and as the backward of surrogateRelu', () => {
    const z = tf.tensor1d([-0.1, -0.001, 0, 0.001, 0.1]);
    const expected = [0.00496, 0.9005, 0, 0.0995, 0.99504];
    const h = tf.tidy(() => Array.from(surrogateDerivative({ kind: 'h' })(z).dataSync()));
    const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(surrogateRelu()(x)) as tf.Scalar)(z).dataSync()));
    for (let i = 0; i < 5; i++) {
      expect(h[i]).toBeCloseTo(expected[i]!, 5);
      expect(g[i]).toBeCloseTo(expected[i]!, 5);
    }
    expect(g[2]).toBe(0); // h(0) = 0: right-hand value, not the left limit 1
    z.dispose();
  });

  it('sigmoid kind is σ(βz) and softplus kind its identical twin', () => {
    const z = randomTensor([10], 3, -3, 3);
    const a = tf.tidy(() => surrogateDerivative({ kind: 'sigmoid', beta: 2 })(z));
    const b = tf.tidy(() => surrogateDerivative({ kind: 'softplus', beta: 2 })(z));
    const ref = tf.tidy(() => tf.sigmoid(tf.mul(z, 2)));
    expect(maxAbsDiff(a, ref)).toBeLessThan(1e-6);
    expect(maxAbsDiff(b, ref)).toBeLessThan(1e-6);
    tf.dispose([z, a, b, ref]);
  });

  it('forward is exactly tf.relu for every kind', () => {
    const z = randomTensor([2, 3, 3, 2], 5);
    for (const k of KINDS) {
      const d = tf.tidy(() => maxAbsDiff(surrogateRelu(k)(z), tf.relu(z)));
      expect(d, label(k)).toBe(0);
    }
    z.dispose();
  });

  it('first order: backward = derivative of the smooth twin (finite differences), same as the exact-forward op', () => {
    const z = awayFromZero([2, 3, 2], 11);
    for (const k of KINDS) {
      const w = randomTensor([2, 3, 2], 12);
      expectFdOk(checkFirstOrder(surrogateReluSmooth(k), z, { eps: epsFor(k) }), `${label(k)} first order`);
      const same = tf.tidy(() =>
        maxAbsDiff(
          tf.grad((x: tf.Tensor) => tf.sum(tf.mul(surrogateRelu(k)(x), w)) as tf.Scalar)(z),
          tf.grad((x: tf.Tensor) => tf.sum(tf.mul(surrogateReluSmooth(k)(x), w)) as tf.Scalar)(z),
        ),
      );
      expect(same, label(k)).toBe(0);
      w.dispose();
    }
    z.dispose();
  });

  it('second order: ∇ of a loss on the surrogate gradient matches finite differences', () => {
    const z = awayFromZero([2, 3, 2], 21);
    for (const k of KINDS) {
      // exact ReLU: g = u·1[z>0] does not depend on z, so ∇L2 ≡ 0 (trivial but must not throw)
      expectFdOk(checkSecondOrder(surrogateRelu(k), z, { eps: epsFor(k) }), `${label(k)} second order`, {
        trivial: k.kind === 'exact',
      });
    }
    z.dispose();
  });

  it("second order of the paper's h equals the closed form 2(u·h − t)·u·h'(z)", () => {
    const tau = 1e-4;
    const z = awayFromZero([2, 3, 2], 31);
    const { L2, dispose } = secondOrderLoss(surrogateRelu({ kind: 'h', tau }), z, 5, 0.5);
    const got = tf.tidy(() => tf.grad(L2)(z));
    // rebuild u and r as secondOrderLoss does (same seeds): t = u·h(z) − r, so u·h − t = r
    const u = randomTensor(z.shape, 5);
    const r = randomTensor(z.shape, 6, -0.5, 0.5);
    const want = tf.tidy(() => {
      const hp = tf.div(tau, tf.pow(tf.add(tf.square(z), tau), 1.5));
      return tf.mul(tf.mul(tf.mul(r, u), hp), 2);
    });
    const scale = tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]!);
    expect(maxAbsDiff(got, want) / scale).toBeLessThan(1e-4);
    tf.dispose([z, got, u, r, want]);
    dispose();
  });

  it('sigmoid, exp, softplus: forward = tfjs, first and second order match finite differences', () => {
    const x = randomTensor([3, 4], 41, -2, 2);
    const ops: [string, (x: tf.Tensor) => tf.Tensor, (x: tf.Tensor) => tf.Tensor][] = [
      ['sigmoid', sigmoid, tf.sigmoid],
      ['exp', exp, tf.exp],
      ['softplus', softplus, tf.softplus],
    ];
    for (const [name, op, ref] of ops) {
      expect(tf.tidy(() => maxAbsDiff(op(x), ref(x))), name).toBe(0);
      expectFdOk(checkFirstOrder(op, x), `${name} first order`);
      expectFdOk(checkSecondOrder(op, x), `${name} second order`);
    }
    x.dispose();
  });

  it('third order of the safe sigmoid is connected (gradient of a loss on a second derivative)', () => {
    // d/dx Σ (σ''(x))² by nesting three tf.grad's vs finite differences of σ''
    const x = randomTensor([5], 51, -2, 2);
    const d2 = (z: tf.Tensor) =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.grad((b: tf.Tensor) => tf.sum(sigmoid(b)) as tf.Scalar)(a)) as tf.Scalar)(z);
    expectFdOk(checkGradient((z) => tf.sum(tf.square(d2(z))), x), 'sigmoid third order');
    x.dispose();
  });

  it('does not leak tensors through nested gradients', async () => {
    const z = awayFromZero([2, 3, 2], 61);
    for (const k of KINDS) {
      const { L2, dispose } = secondOrderLoss(surrogateRelu(k), z);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(z)).dispose());
      dispose();
    }
    for (const op of [sigmoid, exp, softplus]) {
      const { L2, dispose } = secondOrderLoss(op, z);
      await expectNoLeak(() => tf.tidy(() => tf.grad(L2)(z)).dispose());
      dispose();
    }
    z.dispose();
  });
});
