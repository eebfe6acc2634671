/**
 * The common interpreter interface (Captum-style: one file per method). An interpreter turns
 * images x ∈ [0,1] and classes into attribution maps in [0,1], shape [N, h, w]. It exists twice:
 * `explain` for people (the exact model) and `attackMap` for attacks, a differentiable function of
 * x (gradient-family methods through the model's smoothed-gradient mode).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';

export interface Interpreter {
  readonly name: string;
  readonly model: Classifier;
  /** [h, w] of the maps this interpreter produces for its model */
  mapShape(): [number, number];
  /** the settings that determine its maps (recorded with every result, so a run can be repeated) */
  settings(): Record<string, unknown>;
  /** maps of the exact model, [N, h, w] in [0,1] (no gradient intended) */
  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D;
  /** the map as a differentiable function of x, for use inside tf.grad */
  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D;
  /**
   * map and exact-model logits together (one forward pass where the method allows it), plus an
   * optional auxiliary loss summed over the batch that attacks add with their own weight (RTS:
   * the encoder's cross-entropy toward the class, spec 4.6)
   */
  /**
   * attacks call this before each step t ≥ 1 (0 after the run): an attack form that averages over
   * random noise (SmoothGrad) then draws step t's own noise, so the attack optimises the expected
   * map rather than one fixed sample, and a run stays reproducible
   */
  attackStep?(t: number): void;
  attackForward?(x: tf.Tensor4D, classes: readonly number[]): { map: tf.Tensor3D; logits: tf.Tensor2D; auxLoss?: tf.Scalar };
}

export function checkClasses(model: Classifier, x: tf.Tensor, classes: readonly number[]): void {
  if (classes.length !== x.shape[0]) throw new Error(`${classes.length} classes given for a batch of ${x.shape[0]} images`);
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) {
      throw new Error(`class ${c} is out of range for model '${model.name}' (0..${model.numClasses - 1})`);
    }
  }
}
