/**
 * Finite-difference checks for first- and second-order derivatives (float32-aware).
 *
 * First order: for a scalar loss L and a unit direction v (a seeded random direction mixed with the
 * analytic gradient's direction, see checkGradient), compare the analytic directional derivative
 * <∇L(x), v> (tf.grad) with central differences
 * D(e) = (L(x+ev) − L(x−ev)) / 2e at e and e/2, combined by Richardson extrapolation
 * R = (4·D(e/2) − D(e)) / 3 (truncation O(e⁴)). Tolerance: rtol·max(|analytic|, |R|) plus the
 * float32 rounding floor 3δ/e, δ = 4·2⁻²³·max(|L|, Σ|terms of L|) (the error of R when each L is
 * off by δ).
 *
 * Second order: for y = op(x), a seeded cotangent u and target t,
 *   L2(x) = Σ (∂ Σ(op(x)·u)/∂x − t)²,
 * i.e. a loss on a gradient, like the GRAD attack's map loss. ∇L2 needs tf.grad nested in tf.grad;
 * its finite differences only need first-order gradients, so checkGradient(L2, x) validates the
 * second derivative of op (given its first derivative was validated separately).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** lowbias32 integer hash (same generator as the peer bench's parameters). */
function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** n deterministic uniforms in [0, 1) for `seed`. */
export function uniforms(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  const s = lowbias32((seed * 0x2545f491) >>> 0);
  for (let i = 0; i < n; i++) out[i] = (lowbias32((Math.imul(i, 0x9e3779b1) + s) >>> 0) >>> 8) / 16777216;
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Seeded uniform tensor in [lo, hi). */
export function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const u = uniforms(size(shape), seed);
  return tf.tensor(Float32Array.from(u, (v) => lo + (hi - lo) * v), shape);
}

/**
 * Seeded tensor whose values are pairwise at least `gap` apart (a shuffled arithmetic progression
 * centred on `center`), so max/argmax decisions cannot flip under small perturbations.
 */
export function spacedTensor(shape: number[], seed: number, gap = 0.05, center = 0): tf.Tensor {
  const n = size(shape);
  const u = uniforms(n, seed);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a]! - u[b]!);
  const vals = new Float32Array(n);
  order.forEach((pos, rank) => {
    vals[pos] = center + (rank - (n - 1) / 2) * gap;
  });
  return tf.tensor(vals, shape);
}

/** Seeded random unit vector (Euclidean norm 1) of `shape`. */
export function unitDirection(shape: number[], seed: number): tf.Tensor {
  const u = uniforms(size(shape), seed);
  const v = Float64Array.from(u, (x) => 2 * x - 1);
  const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1;
  return tf.tensor(Float32Array.from(v, (x) => x / norm), shape);
}

export interface FdOptions {
  /** largest finite-difference step along the unit direction (default 1e-2); e/2 is also used */
  eps?: number;
  /** direction seed (default 12345) */
  seed?: number;
  /** relative tolerance (default 2e-3) */
  rtol?: number;
  /** absolute tolerance; default the float32 rounding floor 3δ/e (see file header) */
  atol?: number;
  /**
   * magnitude whose float32 rounding bounds the error of one loss evaluation: δ = 4·2⁻²³·max(|L|,
   * noiseScale). Sums with cancellation need Σ|terms| here, not |L|; checkFirstOrder /
   * checkSecondOrder compute it.
   */
  noiseScale?: number;
  /** the check is "conclusive" only if tol ≤ maxPower·|derivative| (default 0.05) */
  maxPower?: number;
}

export interface FdResult {
  analytic: number;
  /** Richardson-extrapolated central difference */
  numeric: number;
  /** plain central differences at e and e/2 */
  coarse: number;
  fine: number;
  tol: number;
  err: number;
  /** |analytic − numeric| ≤ tol and the analytic gradient did not throw */
  ok: boolean;
  /** tol is small against the derivative (tol ≤ maxPower·|numeric|): a wrong term would be caught */
  conclusive: boolean;
  /** set when the analytic gradient threw (e.g. a missing second-order gradient) */
  error?: string;
}

function scalarOf(t: tf.Tensor): number {
  if (t.size !== 1) throw new Error(`expected a scalar loss, got shape [${t.shape.join(', ')}]`);
  return t.dataSync()[0]!;
}

const ULP = 2 ** -23;

/**
 * Compare <∇L(x), v> with Richardson-extrapolated central differences along a unit v. v mixes a
 * seeded random unit vector r̂ with the analytic gradient's direction ĝ: v = (r̂ + ĝ)/|r̂ + ĝ|.
 * The ĝ part makes the directional derivative large (≈ |∇L|/√2, not |∇L|/√n), so float32 noise
 * cannot hide a wrong value; the r̂ part still exposes errors in any component of the gradient.
 */
export function checkGradient(L: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, opts: FdOptions = {}): FdResult {
  const e = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 2e-3;
  let error: string | undefined;
  let g: tf.Tensor | null = null;
  try {
    g = tf.tidy(() => tf.grad((z: tf.Tensor) => L(z) as tf.Scalar)(x));
  } catch (err) {
    error = err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
  const v = tf.tidy(() => {
    const r = unitDirection(x.shape, opts.seed ?? 12345);
    const gn = g === null ? 0 : tf.norm(g).dataSync()[0]!;
    const d = g === null || !(gn > 0) || !Number.isFinite(gn) ? r : tf.add(r, tf.div(g, gn));
    return tf.div(d, tf.norm(d));
  });
  try {
    const analytic = g === null ? NaN : tf.tidy(() => scalarOf(tf.sum(tf.mul(g!, v))));
    const f = (t: number) => tf.tidy(() => scalarOf(L(tf.add(x, tf.mul(v, t)))));
    const f0 = f(0);
    const [p1, m1, p2, m2] = [f(e), f(-e), f(e / 2), f(-e / 2)];
    const coarse = (p1 - m1) / (2 * e);
    const fine = (p2 - m2) / e;
    const numeric = (4 * fine - coarse) / 3;
    const lmag = Math.max(Math.abs(f0), Math.abs(p1), Math.abs(m1), Math.abs(p2), Math.abs(m2), opts.noiseScale ?? 0);
    const delta = 4 * ULP * lmag;
    const atol = opts.atol ?? (3 * delta) / e;
    const scale = Math.max(Math.abs(analytic), Math.abs(numeric));
    const tol = atol + rtol * scale;
    const err = Math.abs(analytic - numeric);
    const res: FdResult = {
      analytic,
      numeric,
      coarse,
      fine,
      tol,
      err,
      ok: error === undefined && err <= tol,
      conclusive: tol <= (opts.maxPower ?? 0.05) * Math.abs(numeric),
    };
    if (error !== undefined) res.error = error;
    return res;
  } finally {
    tf.dispose([v, ...(g === null ? [] : [g])]);
  }
}

/** First-order check of op: L(x) = Σ op(x)·w with a seeded w (uniform in [−1, 1)). */
export function checkFirstOrder(op: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, opts: FdOptions & { lossSeed?: number } = {}): FdResult {
  const y = tf.tidy(() => op(x));
  const w = randomTensor(y.shape, opts.lossSeed ?? 4242);
  const noiseScale = tf.tidy(() => tf.sum(tf.abs(tf.mul(y, w))).dataSync()[0]!);
  try {
    return checkGradient((z) => tf.sum(tf.mul(op(z), w)), x, { noiseScale, ...opts });
  } finally {
    tf.dispose([y, w]);
  }
}

/**
 * L2(x) = Σ (g(x) − t)², g(x) = ∂ Σ(op(x)·u)/∂x, with a seeded u (shape of op(x), uniform in
 * [−1, 1)). The target is t = g(x₀) − r with r uniform in [−tScale, tScale) (default 0.1): close to
 * the gradient at the check point, so L2 is small and its float32 noise does not drown the
 * derivative (∇L2 = 2·(∂g)ᵀ(g − t)). Also returns the noise scale Σ 2|r|(|g| + |r|). Call dispose().
 */
export function secondOrderLoss(
  op: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  seed = 777,
  tScale = 0.1,
): { L2: (x: tf.Tensor) => tf.Scalar; noiseScale: number; dispose: () => void } {
  const outShape = tf.tidy(() => op(x).shape);
  const u = randomTensor(outShape, seed);
  const inner = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(op(z), u)) as tf.Scalar);
  const r = randomTensor(x.shape, seed + 1, -tScale, tScale);
  const t = tf.tidy(() => tf.sub(inner(x), r));
  const noiseScale = tf.tidy(() => tf.sum(tf.mul(tf.mul(tf.abs(r), tf.add(tf.abs(tf.add(t, r)), tf.abs(r))), 2)).dataSync()[0]!);
  const L2 = (z: tf.Tensor) => tf.sum(tf.square(tf.sub(inner(z), t))) as tf.Scalar;
  return { L2, noiseScale, dispose: () => tf.dispose([u, r, t]) };
}

/** checkGradient of the second-order quantity L2 built from op (see secondOrderLoss). */
export function checkSecondOrder(
  op: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  opts: FdOptions & { lossSeed?: number; tScale?: number } = {},
): FdResult {
  const { L2, noiseScale, dispose } = secondOrderLoss(op, x, opts.lossSeed, opts.tScale);
  try {
    return checkGradient(L2, x, { noiseScale, ...opts });
  } finally {
    dispose();
  }
}

/**
 * Wrap a piecewise-linear or linear op P as x ↦ (P(x + 0.1x³))², so that its second-order quantity is
 * non-trivial: the nested gradient must differentiate P's backward with respect to an x-dependent
 * cotangent (2·P(·)·u) and P's input. (x + 0.1x³ is strictly increasing: it keeps orderings and gaps.)
 */
export function sandwich(P: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return (x) => tf.square(P(tf.add(x, tf.mul(tf.mul(x, tf.square(x)), 0.1))));
}

/** Human-readable one-line summary of a check. */
export function describeFd(res: FdResult): string {
  return `analytic ${res.analytic} vs numeric ${res.numeric} (coarse ${res.coarse}, fine ${res.fine}), ` +
    `err ${res.err.toExponential(2)}, tol ${res.tol.toExponential(2)}${res.error ? `, threw: ${res.error}` : ''}`;
}

/**
 * vitest assertion: the check passed AND was conclusive (its tolerance is ≤ 5 % of the derivative,
 * so a dropped or wrong term would have failed it). `trivial: true` accepts a derivative that is
 * exactly zero on both sides (e.g. the second-order term of a piecewise-linear op), where there is
 * nothing to be conclusive about.
 */
export function expectFdOk(res: FdResult, label: string, opts: { trivial?: boolean } = {}): void {
  if (process.env['ADV2_FD_VERBOSE']) {
    console.log(`[fd] ${label}: err/tol ${(res.err / res.tol).toFixed(3)}, tol/|D| ${(res.tol / Math.abs(res.numeric)).toExponential(1)}; ${describeFd(res)}`);
  }
  expect(res.ok, `${label}: ${describeFd(res)}`).toBe(true);
  if (opts.trivial) {
    expect(res.analytic, `${label}: expected an identically zero derivative`).toBe(0);
  } else {
    expect(res.conclusive, `${label}: inconclusive, tolerance too large for the derivative: ${describeFd(res)}`).toBe(true);
  }
}

/** Max |a − b| of two tensors (or arrays). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
