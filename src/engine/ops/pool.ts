/**
 * Pooling that survives double backprop.
 *
 * Why: tf.maxPool / tf.avgPool have first-order gradients (MaxPoolGrad / AvgPoolGrad kernels) but
 * those kernels cannot be differentiated again, and tf.maximum's gradient uses greaterEqual/less,
 * which breaks nesting. Here max-pooling is k² shifted slices of the padded input combined with
 * `exactMax` (exact value, gradient routed by a step() mask whose own derivative is zero), and
 * average pooling is reshape + mean or a conv2d with a constant ones kernel, whose input gradient
 * (conv2DBackpropInput) is itself differentiable. None of these ops needs a filter gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { cachedConst, customBinary, nhwc, reduceToShape } from './util.js';

/**
 * max(a, b) elementwise (broadcasting), exact in float32 (tf.maximum's value). The gradient goes to
 * b where b > a and to a otherwise (ties keep the first operand, so chained maxima keep the earliest
 * element like torch's max-pool), through step(b − a). Twice differentiable: the backward is linear
 * in dy with a locally constant mask. (a + relu(b − a) has the same derivatives but rounds the
 * value in float32.)
 */
export const exactMax: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = customBinary(
  (a, b) => tf.maximum(a, b),
  (dy, a, b) => {
    const toB = tf.step(tf.sub(b, a));
    return [reduceToShape(tf.sub(dy, tf.mul(dy, toB)), a.shape), reduceToShape(tf.mul(dy, toB), b.shape)];
  },
);

/** Pool/blur padding: TF 'same' (extra row/column at bottom/right), 'valid', p on every side, or explicit [[top, bottom], [left, right]]. */
export type PoolPadding = 'same' | 'valid' | number | [[number, number], [number, number]];

export interface PoolGeometry {
  oh: number;
  ow: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

function pair(v: number | [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!p.every((q) => Number.isInteger(q) && q >= 1)) throw new Error(`pool: ${what} must be positive integers, got ${String(v)}`);
  return p;
}

/** Output size and padding of a k×k/stride pool over h×w (TF 'same', PyTorch floor rule for numeric padding). */
export function poolGeometry(
  h: number,
  w: number,
  k: [number, number],
  s: [number, number],
  pad: PoolPadding,
): PoolGeometry {
  let top: number, bottom: number, left: number, right: number;
  if (pad === 'same') {
    const oh = Math.ceil(h / s[0]);
    const ow = Math.ceil(w / s[1]);
    const ph = Math.max((oh - 1) * s[0] + k[0] - h, 0);
    const pw = Math.max((ow - 1) * s[1] + k[1] - w, 0);
    top = Math.floor(ph / 2);
    bottom = ph - top;
    left = Math.floor(pw / 2);
    right = pw - left;
  } else if (pad === 'valid') {
    top = bottom = left = right = 0;
  } else if (typeof pad === 'number') {
    if (!Number.isInteger(pad) || pad < 0) throw new Error(`pool: padding must be a non-negative integer, got ${pad}`);
    top = bottom = left = right = pad;
  } else {
    [[top, bottom], [left, right]] = pad;
  }
  const oh = Math.floor((h + top + bottom - k[0]) / s[0]) + 1;
  const ow = Math.floor((w + left + right - k[1]) / s[1]) + 1;
  if (oh < 1 || ow < 1) throw new Error(`pool: window ${k.join('x')} does not fit a ${h}x${w} input with this padding`);
  return { oh, ow, top, bottom, left, right };
}

/** Padding value for max-pool borders: below any real activation but finite (−∞ gives ∞−∞ = NaN in the step mask). */
const NEG_PAD = -3.0e38;

/** Rows/cols di, di+s, ..., di+s·(o−1) of a padded [n, H, W, c] tensor: one slice + reshape + slice (no stridedSlice, which has no gradient). */
function shiftedSubsample(
  xp: tf.Tensor,
  di: number,
  dj: number,
  o: [number, number],
  s: [number, number],
): tf.Tensor {
  const [n, , , c] = xp.shape as [number, number, number, number];
  const win = tf.slice(xp, [0, di, dj, 0], [n, s[0] * o[0], s[1] * o[1], c]);
  if (s[0] === 1 && s[1] === 1) return win;
  const grouped = tf.reshape(win, [n * o[0], s[0], o[1], s[1] * c]);
  return tf.reshape(tf.slice(grouped, [0, 0, 0, 0], [n * o[0], 1, o[1], c]), [n, o[0], o[1], c]);
}

/** Pad so that every shifted window slice of size s·o fits (possibly more than the nominal bottom/right). */
function padForWindows(x: tf.Tensor, g: PoolGeometry, k: [number, number], s: [number, number], value: number): tf.Tensor {
  const [, h, w] = x.shape as [number, number, number, number];
  const bottom = Math.max(0, k[0] - 1 + s[0] * g.oh - g.top - h);
  const right = Math.max(0, k[1] - 1 + s[1] * g.ow - g.left - w);
  if (g.top === 0 && bottom === 0 && g.left === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]], value);
}

/**
 * Max-pool (NHWC) from k² shifted slices and `exactMax`; same values as tf.maxPool, twice
 * differentiable. Padding cells hold a huge negative number, so they never win.
 */
export function maxPool(
  x: tf.Tensor,
  k: number | [number, number],
  stride: number | [number, number],
  pad: PoolPadding = 'valid',
): tf.Tensor {
  const [, h, w] = nhwc(x, 'maxPool');
  const kk = pair(k, 'window');
  const ss = pair(stride, 'stride');
  const g = poolGeometry(h, w, kk, ss, pad);
  return tf.tidy(() => {
    const xp = padForWindows(x, g, kk, ss, NEG_PAD);
    let m: tf.Tensor | null = null;
    for (let di = 0; di < kk[0]; di++) {
      for (let dj = 0; dj < kk[1]; dj++) {
        const r = shiftedSubsample(xp, di, dj, [g.oh, g.ow], ss);
        m = m === null ? r : exactMax(m, r);
      }
    }
    return m!;
  });
}

export interface AvgPoolOptions {
  /** Divide by k² even where the window covers padding (PyTorch's default). Default false: divide
   * by the number of real cells (TF / tf.avgPool semantics). */
  countIncludePad?: boolean;
}

/**
 * Average pool (NHWC), twice differentiable. Non-overlapping windows without padding: crop +
 * reshape + mean. Otherwise channels are moved to the batch axis and a stride-s conv2d with a
 * constant [kh, kw, 1, 1] kernel of 1/(kh·kw) runs on the zero-padded input (depthwise conv has no
 * second derivative), followed by a per-cell count correction unless `countIncludePad`.
 */
export function avgPool(
  x: tf.Tensor,
  k: number | [number, number],
  stride: number | [number, number],
  pad: PoolPadding = 'valid',
  opts: AvgPoolOptions = {},
): tf.Tensor {
  const [n, h, w, c] = nhwc(x, 'avgPool');
  const kk = pair(k, 'window');
  const ss = pair(stride, 'stride');
  const g = poolGeometry(h, w, kk, ss, pad);
  return tf.tidy(() => {
    const usedH = g.oh * ss[0];
    const usedW = g.ow * ss[1];
    const noPadUsed = g.top === 0 && g.left === 0 && usedH <= h && usedW <= w;
    if (kk[0] === ss[0] && kk[1] === ss[1] && noPadUsed) {
      const crop = usedH === h && usedW === w ? x : tf.slice(x, [0, 0, 0, 0], [n, usedH, usedW, c]);
      return tf.mean(tf.reshape(crop, [n, g.oh, kk[0], g.ow, kk[1], c]), [2, 4]);
    }
    const xp = padForWindows(x, g, kk, ss, 0);
    const [, hp, wp] = xp.shape as [number, number, number, number];
    const cb = tf.reshape(tf.transpose(xp, [0, 3, 1, 2]), [n * c, hp, wp, 1]);
    const kernel = cachedConst(`avgk|${kk[0]}x${kk[1]}`, () => ({
      values: new Float32Array(kk[0] * kk[1]).fill(1 / (kk[0] * kk[1])),
      shape: [kk[0], kk[1], 1, 1],
    }));
    let y = tf.conv2d(cb as tf.Tensor4D, kernel as tf.Tensor4D, ss, 'valid');
    y = tf.transpose(tf.reshape(y, [n, c, g.oh, g.ow]), [0, 2, 3, 1]);
    const padded = g.top > 0 || g.left > 0 || (g.oh - 1) * ss[0] + kk[0] > g.top + h || (g.ow - 1) * ss[1] + kk[1] > g.left + w;
    if (!opts.countIncludePad && padded) {
      const scale = cachedConst(`avgcount|${h}x${w}|${kk.join('x')}|${ss.join('x')}|${g.top},${g.left}|${g.oh}x${g.ow}`, () =>
        countScale(h, w, kk, ss, g),
      );
      y = tf.mul(y, scale);
    }
    return y;
  });
}

/** (kh·kw) / (number of real cells) per output cell, shaped [oh, ow, 1] for broadcasting. */
function countScale(h: number, w: number, k: [number, number], s: [number, number], g: PoolGeometry) {
  const values = new Float32Array(g.oh * g.ow);
  const inside = (start: number, len: number, size: number) => Math.max(0, Math.min(start + len, size) - Math.max(start, 0));
  for (let i = 0; i < g.oh; i++) {
    const rows = inside(i * s[0] - g.top, k[0], h);
    for (let j = 0; j < g.ow; j++) {
      const cols = inside(j * s[1] - g.left, k[1], w);
      values[i * g.ow + j] = (k[0] * k[1]) / Math.max(1, rows * cols);
    }
  }
  return { values, shape: [g.oh, g.ow, 1] };
}

/** Spatial mean of NHWC → [N, C] (or [N, 1, 1, C] with keepDims). */
export function globalAvgPool(x: tf.Tensor, keepDims = false): tf.Tensor {
  nhwc(x, 'globalAvgPool');
  return tf.mean(x, [1, 2], keepDims);
}
