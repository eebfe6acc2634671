/**
 * Grad-CAM (Selvaraju et al.): α_k = mean_ij ∂z_c/∂A_k[i,j] at a named layer A, map =
 * ReLU(Σ_k α_k A_k), per-image min–max (spec 3.3). The gradient with respect to A is taken via a
 * zero probe added at the layer; in the attack form the weights α stay functions of x (second
 * order). For a GAP + linear head at the last layer, Grad-CAM equals the clipped CAM.
 */
import * as tf from '@tensorflow/tfjs';
import { minMaxNormalize, surrogateRelu, type SurrogateKind } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { type Interpreter, checkClasses } from './interpreter.js';

export interface GradCamOptions {
  /** layer to explain (default: the last convolutional feature map) */
  layer?: string;
  /** ReLU backward inside attacks (default exact: Grad-CAM's weights need no smoothing) */
  surrogate?: SurrogateKind;
}

export class GradCamInterpreter implements Interpreter {
  readonly name = 'gradcam';
  readonly layer: string;
  private shape: number[] | null = null;
  private readonly attackRelu: (z: tf.Tensor) => tf.Tensor;
  private readonly attackReluName: SurrogateKind;

  constructor(readonly model: Classifier, opts: GradCamOptions = {}) {
    const layers = model.layerNames();
    this.layer = opts.layer ?? layers.at(-1)!;
    if (!layers.includes(this.layer)) throw new Error(`model '${model.name}' has no layer '${this.layer}' (layers: ${layers.join(', ')})`);
    this.attackReluName = opts.surrogate ?? { kind: 'exact' };
    this.attackRelu = surrogateRelu(this.attackReluName);
  }

  settings(): Record<string, unknown> {
    return { layer: this.layer, attackRelu: this.attackReluName };
  }

  /** [h, w, k] of the explained layer for one image */
  private layerShape(): number[] {
    if (this.shape === null) {
      this.shape = tf.tidy(() => this.model.forward(tf.zeros([1, ...this.model.inputShape]) as tf.Tensor4D, { taps: [this.layer] }).taps[this.layer]!.shape.slice(1));
    }
    return this.shape;
  }

  mapShape(): [number, number] {
    const [h, w] = this.layerShape();
    return [h!, w!];
  }

  private map(x: tf.Tensor4D, classes: readonly number[], relu?: (z: tf.Tensor) => tf.Tensor): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    const n = x.shape[0];
    const onehot = tf.oneHot(tf.tensor1d(classes as number[], 'int32'), this.model.numClasses);
    const probe = tf.zeros([n, ...this.layerShape()]);
    const dA = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(this.model.logits(x, { relu, probes: { [this.layer]: p } }), onehot)))(probe);
    const alpha = tf.mean(dA, [1, 2], true);
    const a = this.model.forward(x, { relu, taps: [this.layer] }).taps[this.layer]!;
    return minMaxNormalize(tf.relu(tf.sum(tf.mul(a, alpha), 3))) as tf.Tensor3D;
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.map(x, classes));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.map(x, classes, this.attackRelu);
  }
}
