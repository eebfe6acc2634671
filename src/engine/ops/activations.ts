/**
 * Activations with correct first AND second derivatives under nested tf.grad.
 *
 * - `sigmoid`, `exp`, `softplus`: tfjs' own sigmoid/exp gradients use the saved output, so their
 *   derivative is lost when a gradient is differentiated again (wrong or "Cannot compute gradient").
 *   These versions recompute from the saved input and call themselves in the gradient, so every
 *   order is connected.
 * - `surrogateRelu(kind)`: forward is the exact ReLU; backward multiplies dy by a surrogate
 *   derivative h(z) written with differentiable ops on the saved input (no where/less), so a loss on
 *   a gradient map sees h'(z) ≠ 0. This is the GRAD attack's "reference model" ReLU (spec 2.3).
 * - `surrogateReluSmooth(kind)`: same backward, forward the surrogate's antiderivative s(z) with
 *   s' = h. Only for finite-difference checks: with it, the backward is the true derivative.
 */
import * as tf from '@tensorflow/tfjs';
import { customUnary } from './util.js';

/** σ(x), twice (indeed arbitrarily often) differentiable: dσ = σ(1−σ) recomputed from x. */
export const sigmoid: (x: tf.Tensor) => tf.Tensor = customUnary(
  (x) => tf.sigmoid(x),
  (dy, x) => {
    const s = sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.sub(1, s)));
  },
);

/** exp(x), arbitrarily differentiable (tfjs' exp gradient uses its saved output). */
export const exp: (x: tf.Tensor) => tf.Tensor = customUnary(
  (x) => tf.exp(x),
  (dy, x) => tf.mul(dy, exp(x)),
);

/** softplus(x) = log(1+eˣ); gradient σ(x) via the safe sigmoid, so third order works too. */
export const softplus: (x: tf.Tensor) => tf.Tensor = customUnary(
  (x) => tf.softplus(x),
  (dy, x) => tf.mul(dy, sigmoid(x)),
);

/**
 * Which derivative the ReLU's backward uses.
 * - `h` (default, the paper's, spec 2.3): h(z) = 1 + z/√(z²+τ) for z < 0, z/√(z²+τ) for z ≥ 0,
 *   τ = 1e-4. Discontinuous at 0 (left limit 1, h(0) = 0); h'(z) = τ/(z²+τ)^{3/2} > 0.
 * - `sigmoid`: h(z) = σ(βz), β = 1 by default (the paper's alternative σ(z)).
 * - `softplus`: the derivative of softplus_β(z) = softplus(βz)/β, which is also σ(βz); kept as a
 *   separate name for configs that describe the surrogate by its antiderivative. Same backward as
 *   `sigmoid` with the same β.
 * - `exact`: the ReLU's own derivative 1[z > 0] (second-order term identically zero).
 */
export type SurrogateKind =
  | { kind: 'h'; tau?: number }
  | { kind: 'sigmoid'; beta?: number }
  | { kind: 'softplus'; beta?: number }
  | { kind: 'exact' };

export const DEFAULT_TAU = 1e-4;

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`surrogate ReLU: ${name} must be a positive number, got ${v}`);
  return v;
}

/**
 * The surrogate derivative h(z) for `kind`, built from ops whose own gradients are correct
 * (sqrt, div, sign, relu, the safe sigmoid), so h'(z) reaches a second-order loss.
 */
export function surrogateDerivative(kind: SurrogateKind = { kind: 'h' }): (z: tf.Tensor) => tf.Tensor {
  switch (kind.kind) {
    case 'h': {
      const tau = positive('tau', kind.tau ?? DEFAULT_TAU);
      // z/√(z²+τ) + 1[z<0]; the indicator as relu(sign(−z)) (0 at z = 0, like the paper's h(0) = 0).
      return (z) => tf.add(tf.div(z, tf.sqrt(tf.add(tf.square(z), tau))), tf.relu(tf.sign(tf.neg(z))));
    }
    case 'sigmoid':
    case 'softplus': {
      const beta = positive('beta', kind.beta ?? 1);
      return (z) => sigmoid(beta === 1 ? z : tf.mul(z, beta));
    }
    case 'exact':
      return (z) => tf.step(z);
    default: {
      const never: never = kind;
      throw new Error(`surrogate ReLU: unknown kind ${JSON.stringify(never)}`);
    }
  }
}

/** s(z) with s' = h for `kind` (the surrogate's antiderivative, up to a constant). */
function surrogateAntiderivative(kind: SurrogateKind): (z: tf.Tensor) => tf.Tensor {
  switch (kind.kind) {
    case 'h': {
      const tau = positive('tau', kind.tau ?? DEFAULT_TAU);
      // spec 2.3: z + √(z²+τ) for z < 0, √(z²+τ) for z ≥ 0, i.e. √(z²+τ) − relu(−z).
      return (z) => tf.sub(tf.sqrt(tf.add(tf.square(z), tau)), tf.relu(tf.neg(z)));
    }
    case 'sigmoid':
    case 'softplus': {
      const beta = positive('beta', kind.beta ?? 1);
      return (z) => (beta === 1 ? tf.softplus(z) : tf.div(tf.softplus(tf.mul(z, beta)), beta));
    }
    case 'exact':
      return (z) => tf.relu(z);
    default: {
      const never: never = kind;
      throw new Error(`surrogate ReLU: unknown kind ${JSON.stringify(never)}`);
    }
  }
}

/**
 * ReLU with exact forward and surrogate backward: d/dz = h(z) for `kind` (default the paper's h,
 * τ = 1e-4). `{ kind: 'exact' }` returns tf.relu itself (its second derivative is correctly zero).
 */
export function surrogateRelu(kind: SurrogateKind = { kind: 'h' }): (z: tf.Tensor) => tf.Tensor {
  if (kind.kind === 'exact') return (z) => tf.relu(z);
  const h = surrogateDerivative(kind);
  return customUnary((z) => tf.relu(z), (dy, z) => tf.mul(dy, h(z)));
}

/**
 * Test-only twin of `surrogateRelu(kind)`: identical backward, forward s(z) with s' = h, so finite
 * differences of the forward validate the backward. Not a ReLU: s(0) = √τ for `h`, log 2/β for
 * `sigmoid`/`softplus`.
 */
export function surrogateReluSmooth(kind: SurrogateKind = { kind: 'h' }): (z: tf.Tensor) => tf.Tensor {
  if (kind.kind === 'exact') return (z) => tf.relu(z);
  const h = surrogateDerivative(kind);
  return customUnary(surrogateAntiderivative(kind), (dy, z) => tf.mul(dy, h(z)));
}
