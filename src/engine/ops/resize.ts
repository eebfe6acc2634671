/**
 * Bilinear resize as two matrix multiplies with fixed interpolation matrices.
 *
 * Why: tf.image.resizeBilinear's gradient is a ResizeBilinearGrad kernel that cannot be
 * differentiated again. A resize is linear in x, so y = A_h · x · A_wᵀ per image and channel, and
 * matMul's gradient is a matMul. Semantics: PyTorch align_corners=False = TF half-pixel centres
 * (source = (dst + 0.5)·in/out − 0.5, clamped at the borders), i.e. equal in forward to
 * tf.image.resizeBilinear(x, size, false, true).
 */
import * as tf from '@tensorflow/tfjs';
import { cachedConst, nhwc } from './util.js';

/** Row-major [outSize, inSize] half-pixel bilinear interpolation matrix (each row sums to 1). */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize < 1 || outSize < 1) {
    throw new Error(`bilinearMatrix: sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5); // PyTorch clamps negative coordinates to 0
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = src - i0;
    m[o * inSize + i0]! += 1 - l1;
    m[o * inSize + i1]! += l1;
  }
  return m;
}

function interp(inSize: number, outSize: number): tf.Tensor {
  return cachedConst(`bilinear|${inSize}->${outSize}`, () => ({
    values: bilinearMatrix(inSize, outSize),
    shape: [1, outSize, inSize],
  }));
}

/** Bilinear resize of NHWC x to [h, w] (half-pixel centres); twice differentiable. */
export function resizeBilinear(x: tf.Tensor, size: [number, number]): tf.Tensor {
  const [n, h, w, c] = nhwc(x, 'resizeBilinear');
  const [oh, ow] = size;
  return tf.tidy(() => {
    let y = x;
    if (oh !== h) {
      // [n, h, w·c] ← A_h [1, oh, h] (batch-broadcast matMul, no transposes)
      y = tf.reshape(tf.matMul(interp(h, oh), tf.reshape(y, [n, h, w * c])), [n, oh, w, c]);
    }
    if (ow !== w) {
      y = tf.reshape(tf.matMul(interp(w, ow), tf.reshape(y, [n * oh, w, c])), [n, oh, ow, c]);
    }
    return y === x ? tf.clone(x) : y;
  });
}
