/**
 * softmax / log-softmax / cross-entropy over the last axis with correct second derivatives.
 *
 * Why: tf.softmax, tf.logSoftmax and tf.losses.softmaxCrossEntropy compute their gradient from the
 * saved forward output, which a nested tape treats as a constant — the gradient of a loss on an
 * input-gradient comes out silently wrong (tfjs-notes, RESULTS.md finding 5). Here the forward is
 * tfjs' own (stable) kernel and the backward recomputes the probabilities from the saved logits
 * with the safe `softmax`, recursively, so every derivative order is connected.
 */
import * as tf from '@tensorflow/tfjs';
import { customUnary } from './util.js';

/** softmax over the last axis; d = p ⊙ (dy − Σ dy⊙p), p recomputed from the input. */
export const softmax: (logits: tf.Tensor) => tf.Tensor = customUnary(
  (z) => tf.softmax(z),
  (dy, z) => {
    const p = softmax(z);
    return tf.mul(p, tf.sub(dy, tf.sum(tf.mul(dy, p), -1, true)));
  },
);

/** log-softmax over the last axis; d = dy − (Σ dy)·p, p = softmax(input). */
export const logSoftmax: (logits: tf.Tensor) => tf.Tensor = customUnary(
  (z) => tf.logSoftmax(z),
  (dy, z) => tf.sub(dy, tf.mul(tf.sum(dy, -1, true), softmax(z))),
);

export interface CrossEntropyOptions {
  /**
   * ε: the true class gets 1 − ε and every other class ε/(C − 1) — the reference code's convention
   * (spec 4.3: ε = 0.05 gives q_c = 0.95, others 0.05/999). Not PyTorch's (1 − ε)·onehot + ε/C.
   * Applied as q ↦ (1 − ε)·q + ε·(1 − q)/(C − 1) to probability targets too. Default 0.
   */
  labelSmoothing?: number;
  /** 'mean' over the batch (default), 'sum', or 'none' (per-sample losses, shape [N]). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy of `logits` [N, C] against class indices (number[] or an int tensor [N]) or
 * target probabilities / one-hot rows (float tensor [N, C]). Targets are constants (no gradient).
 */
export function crossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor | readonly number[],
  opts: CrossEntropyOptions = {},
): tf.Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  const [n, c] = logits.shape as [number, number];
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  if (eps > 0 && c < 2) throw new Error('crossEntropy: label smoothing needs at least 2 classes');
  const reduction = opts.reduction ?? 'mean';
  return tf.tidy(() => {
    let q: tf.Tensor;
    if (Array.isArray(labels) || (labels as tf.Tensor).rank === 1) {
      const idx = Array.isArray(labels) ? tf.tensor1d(labels as number[], 'int32') : tf.cast(labels as tf.Tensor, 'int32');
      if (idx.shape[0] !== n) throw new Error(`crossEntropy: ${idx.shape[0]} labels for ${n} logit rows`);
      q = tf.oneHot(idx, c).toFloat();
    } else {
      const t = labels as tf.Tensor;
      if (t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== c) {
        throw new Error(`crossEntropy: targets must be [${n}, ${c}], got [${t.shape.join(', ')}]`);
      }
      q = tf.cast(t, 'float32');
    }
    if (eps > 0) q = tf.add(tf.mul(q, 1 - eps), tf.mul(tf.sub(1, q), eps / (c - 1)));
    const perSample = tf.neg(tf.sum(tf.mul(q, logSoftmax(logits)), -1));
    if (reduction === 'none') return perSample;
    return reduction === 'sum' ? tf.sum(perSample) : tf.mean(perSample);
  });
}
