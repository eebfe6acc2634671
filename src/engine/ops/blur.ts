/**
 * OpenCV-compatible Gaussian kernels and a twice-differentiable separable Gaussian blur.
 *
 * Why not tf.depthwiseConv2d: its gradient has no second derivative in tfjs 4.22. Channels are
 * moved to the batch axis and two conv2d's with [k,1,1,1] / [1,k,1,1] kernels run instead.
 * Why not tf.mirrorPad: its gradient (tfjs 4.22) only slices the centre out of dy and drops the
 * contributions of the reflected border cells — wrong already at first order. `reflectPad` builds
 * the same padding from slice + reverse + concat, whose gradients are exact.
 */
import * as tf from '@tensorflow/tfjs';
import { cachedConst, nhwc } from './util.js';

/** OpenCV's fixed kernels for odd k ≤ 7 when sigma ≤ 0 (getGaussianKernel's small_gaussian_tab). */
const SMALL_GAUSSIAN_TAB: Record<number, number[]> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
};

/** σ OpenCV derives from k when sigma ≤ 0: 0.3·((k−1)/2 − 1) + 0.8. */
export function opencvSigma(k: number): number {
  return 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
}

/**
 * cv2.getGaussianKernel(k, sigma): k taps summing to 1. sigma ≤ 0 → σ derived from k, except odd
 * k ≤ 7, which use OpenCV's binomial tables (k=3 → [¼, ½, ¼], k=5 → [1,4,6,4,1]/16).
 */
export function gaussianKernel1d(k: number, sigma: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`gaussianKernel1d: k must be a positive integer, got ${k}`);
  const table = SMALL_GAUSSIAN_TAB[k];
  if (sigma <= 0 && table !== undefined) return table.slice();
  const s = sigma > 0 ? sigma : opencvSigma(k);
  const scale2 = -0.5 / (s * s);
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const x = i - (k - 1) * 0.5;
    const t = Math.exp(scale2 * x * x);
    out.push(t);
    sum += t;
  }
  return out.map((t) => t / sum);
}

/**
 * Reflect padding of the two spatial axes of NHWC x (edge pixel not repeated: PyTorch 'reflect' =
 * tf.mirrorPad 'reflect'), with exact gradients. `pad` = p on every side or [top, bottom, left, right].
 */
export function reflectPad(x: tf.Tensor, pad: number | [number, number, number, number]): tf.Tensor {
  const [, h, w] = nhwc(x, 'reflectPad');
  const [top, bottom, left, right] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  if (Math.max(top, bottom) > h - 1 || Math.max(left, right) > w - 1) {
    throw new Error(`reflectPad: padding (${top}, ${bottom}, ${left}, ${right}) must be < the size ${h}x${w}`);
  }
  return tf.tidy(() => padAxis(padAxis(x, 1, top, bottom), 2, left, right));
}

function padAxis(x: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  if (before === 0 && after === 0) return x;
  const len = x.shape[axis]!;
  const part = (start: number, size: number) => {
    const begin = x.shape.map(() => 0);
    const sz = x.shape.slice();
    begin[axis] = start;
    sz[axis] = size;
    return tf.reverse(tf.slice(x, begin, sz), axis);
  };
  const pieces: tf.Tensor[] = [];
  if (before > 0) pieces.push(part(1, before));
  pieces.push(x);
  if (after > 0) pieces.push(part(len - 1 - after, after));
  return tf.concat(pieces, axis);
}

export interface GaussianBlurOptions {
  /** 'reflect' (default; cv2/PyTorch reflect, mirror without repeating the edge) or 'zero'. */
  padding?: 'reflect' | 'zero';
}

/**
 * Separable Gaussian blur of NHWC x with cv2.getGaussianKernel(k, sigma) along both axes, output
 * the same size as x (padding (k−1)/2, k odd). Twice differentiable in x.
 */
export function gaussianBlur(x: tf.Tensor, k: number, sigma: number, opts: GaussianBlurOptions = {}): tf.Tensor {
  const [n, h, w, c] = nhwc(x, 'gaussianBlur');
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new Error(`gaussianBlur: k must be a positive odd integer, got ${k}`);
  if (k === 1) return tf.clone(x);
  const p = (k - 1) / 2;
  const mode = opts.padding ?? 'reflect';
  return tf.tidy(() => {
    // channels → batch: [n·c, h, w, 1], so a single-channel conv2d blurs each channel separately
    let y = c === 1 ? tf.reshape(x, [n, h, w, 1]) : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]);
    y = mode === 'reflect' ? reflectPad(y, p) : tf.pad(y, [[0, 0], [p, p], [p, p], [0, 0]]);
    const taps = () => Float32Array.from(gaussianKernel1d(k, sigma));
    const kh = cachedConst(`gauss|${k}|${sigma}|h`, () => ({ values: taps(), shape: [k, 1, 1, 1] }));
    const kw = cachedConst(`gauss|${k}|${sigma}|w`, () => ({ values: taps(), shape: [1, k, 1, 1] }));
    y = tf.conv2d(y as tf.Tensor4D, kh as tf.Tensor4D, 1, 'valid');
    y = tf.conv2d(y as tf.Tensor4D, kw as tf.Tensor4D, 1, 'valid');
    return c === 1 ? y : tf.transpose(tf.reshape(y, [n, c, h, w]), [0, 2, 3, 1]);
  });
}
