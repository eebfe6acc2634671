/**
 * Quality figures of a saliency mask (issue 5), for RTS model cards and tests.
 *
 * For each image, c = the classifier's prediction on x and m = the interpreter's map for c,
 * bilinearly up-sampled to the input and binarised at 0.5 (M; RTS masks are nearly binary and 0.5
 * is the spec's fixed threshold for RTS). With an alternative image alt:
 * - keep:   f(M·x + (1 − M)·alt) still predicts c              ("keeping only the masked region
 *           preserves the prediction")
 * - delete: f((1 − M)·x + M·alt) predicts a class other than c  ("deleting it changes it")
 * Two alternatives are reported:
 * - `background` (the headline figures): alt = 0, the blank canvas of the zoo's Fashion-MNIST
 *   images — deleting a region paints it with the background, keeping one blanks the rest;
 * - `blur`: alt = the Gaussian-blurred image (RTS's φ blurred alternative, σ = H/20, no noise).
 *   Blur keeps the silhouette of large objects (a blurred trouser is still a trouser at 56 px),
 *   so its deletion rate measures the classifier's robustness to blur as much as the mask.
 * Localisation (when object boxes are known), as in the interpreter sanity tests: `max` = the
 * up-sampled map's maximum (first in raster order among ties) lies in the box; `mass` = its top-10 %
 * pixels carry at least half their attribution inside the box.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianBlur, resizeBilinear } from '../../engine/ops/index.js';
import type { Classifier } from '../../models/classifier.js';
import type { Interpreter } from '../interpreter.js';
import { blendDefaults } from './objective.js';

export type QualityAlternative = 'background' | 'blur';

export interface MaskQuality {
  n: number;
  /** with the background alternative */
  keep: number;
  delete: number;
  /** with the blurred alternative */
  keepBlur: number;
  deleteBlur: number;
  /** only with boxes */
  localisationMax?: number;
  localisationMass?: number;
}

/** x' = M·x + (1 − M)·alt with M = [up-sampled map ≥ 0.5]; `invert` swaps the roles (deletion). */
export function keepRegion(x: tf.Tensor4D, map: tf.Tensor3D, alternative: QualityAlternative, invert = false): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const up = resizeBilinear(tf.expandDims(map, 3), [h, w]);
    let m = tf.cast(tf.greaterEqual(up, 0.5), 'float32');
    if (invert) m = tf.sub(1, m);
    if (alternative === 'background') return tf.mul(m, x) as tf.Tensor4D;
    const b = blendDefaults(h);
    const alt = gaussianBlur(x, b.blurKernel, b.blurSigma, { padding: 'zero' });
    return tf.add(tf.mul(m, x), tf.mul(tf.sub(1, m), alt)) as tf.Tensor4D;
  });
}

export function maskQuality(
  interpreter: Interpreter,
  x: tf.Tensor4D,
  boxes?: readonly [number, number, number, number][],
  chunk = 25,
): MaskQuality {
  const model: Classifier = interpreter.model;
  const n = x.shape[0];
  const [h, w] = model.inputShape;
  const counts = { keep: 0, delete: 0, keepBlur: 0, deleteBlur: 0, max: 0, mass: 0 };
  for (let s = 0; s < n; s += chunk) {
    const k = Math.min(chunk, n - s);
    let pred: number[] = [];
    const after: Record<string, number[]> = {};
    let up: Float32Array | null = null;
    tf.tidy(() => {
      const xs = tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) as tf.Tensor4D;
      pred = Array.from(tf.argMax(model.logits(xs), 1).dataSync());
      const map = interpreter.explain(xs, pred);
      const classify = (v: tf.Tensor4D) => Array.from(tf.argMax(model.logits(v), 1).dataSync());
      after['keep'] = classify(keepRegion(xs, map, 'background'));
      after['delete'] = classify(keepRegion(xs, map, 'background', true));
      after['keepBlur'] = classify(keepRegion(xs, map, 'blur'));
      after['deleteBlur'] = classify(keepRegion(xs, map, 'blur', true));
      if (boxes) up = resizeBilinear(tf.expandDims(map, 3), [h, w]).dataSync() as Float32Array;
    });
    for (let i = 0; i < k; i++) {
      if (after['keep']![i] === pred[i]) counts.keep++;
      if (after['delete']![i] !== pred[i]) counts.delete++;
      if (after['keepBlur']![i] === pred[i]) counts.keepBlur++;
      if (after['deleteBlur']![i] !== pred[i]) counts.deleteBlur++;
      if (boxes && up !== null) {
        const u: Float32Array = up;
        const [x0, y0, x1, y1] = boxes[s + i]!;
        const inBox = (q: number): boolean => { const yy = Math.floor(q / w), xx = q % w; return xx >= x0 && xx < x1 && yy >= y0 && yy < y1; };
        const m = u.subarray(i * h * w, (i + 1) * h * w);
        const order = Array.from({ length: h * w }, (_, q) => q).sort((a, b) => m[b]! - m[a]! || a - b);
        if (inBox(order[0]!)) counts.max++;
        const top = order.slice(0, Math.round(0.1 * h * w));
        const total = top.reduce((t, q) => t + m[q]!, 0);
        const inside = top.reduce((t, q) => t + (inBox(q) ? m[q]! : 0), 0);
        if (total > 0 && inside >= 0.5 * total) counts.mass++;
      }
    }
  }
  const q: MaskQuality = { n, keep: counts.keep / n, delete: counts.delete / n, keepBlur: counts.keepBlur / n, deleteBlur: counts.deleteBlur / n };
  if (boxes) { q.localisationMax = counts.max / n; q.localisationMass = counts.mass / n; }
  return q;
}
