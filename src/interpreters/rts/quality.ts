/**
 * Quality figures of a saliency mask (issue 5), for RTS model cards and tests.
 *
 * For each image, c = the classifier's prediction on x and m = the interpreter's map for c,
 * bilinearly up-sampled to the input and binarised at 0.5 (RTS masks are nearly binary; 0.5 is the
 * spec's fixed threshold for RTS). With alt = the Gaussian-blurred image (the blurred alternative
 * of the RTS blending operator φ, without its noise):
 * - keep:   f(M·x + (1 − M)·alt) still predicts c           ("keeping only the masked region
 *           preserves the prediction")
 * - delete: f((1 − M)·x + M·alt) predicts a class other than c  ("deleting it changes the prediction")
 * - localisation (when object boxes are known), as in the interpreter sanity tests: `max` = the
 *   map's maximum (first in raster order among ties) lies in the box; `mass` = the top-10 % pixels
 *   of the up-sampled map carry at least half their attribution inside the box.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianBlur, resizeBilinear } from '../../engine/ops/index.js';
import type { Classifier } from '../../models/classifier.js';
import type { Interpreter } from '../interpreter.js';
import { blendDefaults } from './objective.js';

export interface MaskQuality {
  n: number;
  keep: number;
  delete: number;
  /** only with boxes */
  localisationMax?: number;
  localisationMass?: number;
}

/** x' = M·x + (1 − M)·blur(x) with M = [up-sampled map ≥ 0.5]; `invert` swaps the roles (deletion). */
export function keepRegion(x: tf.Tensor4D, map: tf.Tensor3D, invert = false): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const b = blendDefaults(h);
    const up = resizeBilinear(tf.expandDims(map, 3), [h, w]);
    let m = tf.cast(tf.greaterEqual(up, 0.5), 'float32');
    if (invert) m = tf.sub(1, m);
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
  let kept = 0, deleted = 0, byMax = 0, byMass = 0;
  for (let s = 0; s < n; s += chunk) {
    const k = Math.min(chunk, n - s);
    let pred: number[] = [], keepPred: number[] = [], delPred: number[] = [];
    let up: Float32Array | null = null;
    tf.tidy(() => {
      const xs = tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) as tf.Tensor4D;
      pred = Array.from(tf.argMax(model.logits(xs), 1).dataSync());
      const map = interpreter.explain(xs, pred);
      keepPred = Array.from(tf.argMax(model.logits(keepRegion(xs, map)), 1).dataSync());
      delPred = Array.from(tf.argMax(model.logits(keepRegion(xs, map, true)), 1).dataSync());
      if (boxes) up = resizeBilinear(tf.expandDims(map, 3), [h, w]).dataSync() as Float32Array;
    });
    for (let i = 0; i < k; i++) {
      if (keepPred[i] === pred[i]) kept++;
      if (delPred[i] !== pred[i]) deleted++;
      if (boxes && up !== null) {
        const u: Float32Array = up;
        const [x0, y0, x1, y1] = boxes[s + i]!;
        const inBox = (q: number): boolean => { const yy = Math.floor(q / w), xx = q % w; return xx >= x0 && xx < x1 && yy >= y0 && yy < y1; };
        const m = u.subarray(i * h * w, (i + 1) * h * w);
        const order = Array.from({ length: h * w }, (_, q) => q).sort((a, b) => m[b]! - m[a]! || a - b);
        if (inBox(order[0]!)) byMax++;
        const top = order.slice(0, Math.round(0.1 * h * w));
        const total = top.reduce((t, q) => t + m[q]!, 0);
        const inside = top.reduce((t, q) => t + (inBox(q) ? m[q]! : 0), 0);
        if (total > 0 && inside >= 0.5 * total) byMass++;
      }
    }
  }
  const q: MaskQuality = { n, keep: kept / n, delete: deleted / n };
  if (boxes) { q.localisationMax = byMax / n; q.localisationMass = byMass / n; }
  return q;
}
