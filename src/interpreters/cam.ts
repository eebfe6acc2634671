/**
 * CAM (Zhou et al.): m_c = Σ_k w_{k,c} A_k on the last conv feature map A, min–max normalised per
 * image (spec 3.2: no ReLU, no upsampling). Exact for GAP + linear heads, which every zoo model has.
 */
import * as tf from '@tensorflow/tfjs';
import { minMaxNormalize } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { type Interpreter, checkClasses } from './interpreter.js';

export class CamInterpreter implements Interpreter {
  readonly name = 'cam';
  constructor(readonly model: Classifier) {}

  settings(): Record<string, unknown> {
    return { layer: 'last conv (GAP + linear head)' };
  }

  mapShape(): [number, number] {
    const f = tf.tidy(() => this.model.forward(tf.zeros([1, ...this.model.inputShape]) as tf.Tensor4D).features.shape);
    return [f[1], f[2]];
  }

  /** raw class activation map [N, h, w] for the given classes, as a function of x */
  rawMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.rawWithLogits(x, classes).raw;
  }

  private rawWithLogits(x: tf.Tensor4D, classes: readonly number[]): { raw: tf.Tensor3D; logits: tf.Tensor2D } {
    checkClasses(this.model, x, classes);
    const { features, logits } = this.model.forward(x);
    const [n, , , k] = features.shape;
    // columns of fc.w for each image's class, as rows: [N, K]
    const w = tf.transpose(tf.gather(this.model.head().w, tf.tensor1d(classes as number[], 'int32'), 1)) as tf.Tensor2D;
    return { raw: tf.sum(tf.mul(features, tf.reshape(w, [n, 1, 1, k])), 3) as tf.Tensor3D, logits };
  }

  attackForward(x: tf.Tensor4D, classes: readonly number[]): { map: tf.Tensor3D; logits: tf.Tensor2D } {
    const { raw, logits } = this.rawWithLogits(x, classes);
    return { map: minMaxNormalize(raw) as tf.Tensor3D, logits };
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.attackMap(x, classes));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return minMaxNormalize(this.rawMap(x, classes)) as tf.Tensor3D;
  }
}
