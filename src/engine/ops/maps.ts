/**
 * Map helpers the interpreters need inside a differentiated path (GRAD map post-processing, MASK
 * objective, RTS decoder), all twice differentiable.
 *
 * Why: tf.max/tf.min reductions, tf.minimum and tf.clipByValue have no second derivative in tfjs
 * 4.22 and tf.depthToSpace has no gradient at all. Maxima/minima here are exact selections (the
 * `exactMax` chain, or argMax/argMin → oneHot masks), whose derivatives route dy to the selected
 * element through a constant mask.
 */
import * as tf from '@tensorflow/tfjs';
import { exactMax } from './pool.js';
import { customUnary } from './util.js';

/** Above this many channels `channelMax` selects with argMax → oneHot instead of a slice chain. */
const CHAIN_MAX_CHANNELS = 8;

/**
 * Max over the last axis, exact value; gradient to the (first) maximal channel. Shape [..., 1]
 * (keepDims, so NHWC stays NHWC) or [...] without.
 */
export function channelMax(x: tf.Tensor, keepDims = true): tf.Tensor {
  const c = x.shape[x.rank - 1]!;
  return tf.tidy(() => {
    let m: tf.Tensor;
    if (c === 1) {
      // tf.split into one piece breaks SplitV's gradient under nesting
      m = x;
    } else if (c <= CHAIN_MAX_CHANNELS) {
      const parts = tf.split(x, c, -1);
      m = parts[0]!;
      for (let i = 1; i < c; i++) m = exactMax(m, parts[i]!);
    } else {
      const mask = tf.cast(tf.oneHot(tf.argMax(x, -1), c), 'float32');
      m = tf.sum(tf.mul(x, mask), -1, true);
    }
    return keepDims ? m : tf.squeeze(m, [x.rank - 1]);
  });
}

/** max over the last axis of |x| (the GRAD map's RGB reduction), shape [..., 1] by default. */
export function absChannelMax(x: tf.Tensor, keepDims = true): tf.Tensor {
  return tf.tidy(() => channelMax(tf.abs(x), keepDims));
}

/** Per-sample exact max (or min) over all non-batch axes, shaped [N, 1, ..., 1] to broadcast against x. */
export function sampleExtreme(x: tf.Tensor, which: 'max' | 'min'): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0]!;
    const flat = tf.reshape(x, [n, -1]);
    const d = flat.shape[1]!;
    const idx = which === 'max' ? tf.argMax(flat, 1) : tf.argMin(flat, 1);
    const picked = tf.sum(tf.mul(flat, tf.cast(tf.oneHot(idx, d), 'float32')), 1);
    return tf.reshape(picked, [n, ...x.shape.slice(1).map(() => 1)]);
  });
}

/**
 * Per-sample min–max normalisation over all non-batch axes (spec 3.1 / 2.6):
 * a = m − min m; a / max(max a, eps). Twice differentiable.
 */
export function minMaxNormalize(m: tf.Tensor, eps = 1e-8): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.sub(m, sampleExtreme(m, 'min'));
    const top = sampleExtreme(a, 'max');
    const den = exactMax(top, tf.fill(top.shape, eps));
    return tf.div(a, den);
  });
}

/**
 * clamp(v, lo, hi) with the derivatives of relu(v − lo) − relu(v − hi) + lo (spec 9.2's recipe):
 * 1 for lo < v ≤ hi, else 0; second derivative 0. The value is the exact clamp (tf.clipByValue, or
 * maximum/minimum for tensor bounds), not the relu expression, which rounds in float32 above hi.
 * Bounds may be numbers or tensors broadcastable to v (e.g. an ε-ball x₀ ± ε); they are treated as
 * constants (no gradient flows to them).
 */
export function clampDiff(v: tf.Tensor, lo: number | tf.Tensor, hi: number | tf.Tensor): tf.Tensor {
  if (typeof lo === 'number' && typeof hi === 'number' && !(lo <= hi)) {
    throw new Error(`clampDiff: need lo <= hi, got ${lo} > ${hi}`);
  }
  const op = customUnary(
    (x) =>
      typeof lo === 'number' && typeof hi === 'number' ? tf.clipByValue(x, lo, hi) : tf.minimum(tf.maximum(x, lo), hi),
    (dy, x) => tf.mul(dy, tf.sub(tf.step(tf.sub(x, lo)), tf.step(tf.sub(x, hi)))),
  );
  return op(v);
}

/** clampDiff(v, 0, 1): the twice-differentiable clamp to [0, 1] (MASK's unrolled Adam step). */
export function clamp01Smooth(v: tf.Tensor): tf.Tensor {
  return clampDiff(v, 0, 1);
}

/**
 * PyTorch PixelShuffle(r) on NHWC: input channel c·r² + i·r + j → output (h·r + i, w·r + j, c)
 * (spec 9.1). Reshape + transpose, unlike tf.depthToSpace (other channel order, no gradient).
 */
export function pixelShuffle(x: tf.Tensor, r: number): tf.Tensor {
  if (x.rank !== 4) throw new Error(`pixelShuffle: expected NHWC, got [${x.shape.join(', ')}]`);
  const [n, h, w, cr] = x.shape as [number, number, number, number];
  if (!Number.isInteger(r) || r < 1 || cr % (r * r) !== 0) {
    throw new Error(`pixelShuffle: channels ${cr} not divisible by r² = ${r * r}`);
  }
  const c = cr / (r * r);
  return tf.tidy(() =>
    tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, c, r, r]), [0, 1, 4, 2, 5, 3]), [n, h * r, w * r, c]),
  );
}

export interface TotalVariationOptions {
  /** exponent β (MASK: 3). Default 3. */
  beta?: number;
  /** added inside the power (MASK: 1e-8). Default 1e-8. */
  eps?: number;
  /**
   * 'isotropic' (default, spec 3.5 [R]): Σ_{i<h−1, j<w−1} ((m[i+1,j]−m[i,j])² + (m[i,j+1]−m[i,j])² + eps)^{β/2}.
   * 'reference': the reference code's quirk Σ ((d_xᵀ)² + d_y² + eps)^{β/2} with the (h × (w−1))
   * horizontal differences transposed to ((w−1) × h); square maps only.
   */
  variant?: 'isotropic' | 'reference';
}

/** Total variation TV_β of NHWC maps, per sample (shape [N]), summed over positions and channels. */
export function totalVariation(m: tf.Tensor, opts: TotalVariationOptions = {}): tf.Tensor {
  if (m.rank !== 4) throw new Error(`totalVariation: expected NHWC, got [${m.shape.join(', ')}]`);
  const [n, h, w, c] = m.shape as [number, number, number, number];
  const beta = opts.beta ?? 3;
  const eps = opts.eps ?? 1e-8;
  const variant = opts.variant ?? 'isotropic';
  if (h < 2 || w < 2) throw new Error('totalVariation: map must be at least 2x2');
  return tf.tidy(() => {
    let s: tf.Tensor;
    if (variant === 'isotropic') {
      const base = tf.slice(m, [0, 0, 0, 0], [n, h - 1, w - 1, c]);
      const dy = tf.sub(tf.slice(m, [0, 1, 0, 0], [n, h - 1, w - 1, c]), base);
      const dx = tf.sub(tf.slice(m, [0, 0, 1, 0], [n, h - 1, w - 1, c]), base);
      s = tf.add(tf.add(tf.square(dy), tf.square(dx)), eps);
    } else {
      if (h !== w) throw new Error(`totalVariation: the 'reference' variant needs a square map, got ${h}x${w}`);
      const dy = tf.sub(tf.slice(m, [0, 1, 0, 0], [n, h - 1, w, c]), tf.slice(m, [0, 0, 0, 0], [n, h - 1, w, c]));
      const dx = tf.sub(tf.slice(m, [0, 0, 1, 0], [n, h, w - 1, c]), tf.slice(m, [0, 0, 0, 0], [n, h, w - 1, c]));
      s = tf.add(tf.add(tf.square(tf.transpose(dx, [0, 2, 1, 3])), tf.square(dy)), eps);
    }
    const p = beta === 2 ? s : tf.pow(s, beta / 2);
    return tf.sum(p, [1, 2, 3]);
  });
}
