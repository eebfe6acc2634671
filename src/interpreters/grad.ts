/**
 * GRAD — gradient saliency (spec 3.1, the authors' code): |∂CE(z(x), c)/∂x|, max over channels,
 * k×k average pooling, per-image min–max. The attack form takes the inner gradient through the
 * model's smoothed-gradient mode (surrogate ReLU backward), so the map has a non-zero derivative.
 */
import * as tf from '@tensorflow/tfjs';
import { type SurrogateKind, absChannelMax, avgPool, crossEntropy, minMaxNormalize, surrogateRelu } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { type Interpreter, checkClasses } from './interpreter.js';

export interface GradOptions {
  /** average-pool the saliency by this factor (1 = input resolution) */
  pool?: number;
  /** surrogate ReLU derivative used inside attacks (default the paper's h, τ = 1e-4) */
  surrogate?: SurrogateKind;
  /** explicit activation for the attack form, overriding `surrogate` (tests pass a smooth-forward twin) */
  attackRelu?: (z: tf.Tensor) => tf.Tensor;
  /**
   * what is differentiated: 'loss' = CE(z(x), c) (the authors' code, default) or 'logit' = z_c
   * (their prototype). Through exact ReLUs the logit map is piecewise constant in x (zero
   * interpretation gradient); the loss map still varies through the softmax.
   */
  of?: 'loss' | 'logit';
}

/** [N,H,W,1] non-negative saliency → pooled, per-image min–max normalised map [N,h,w] */
export function saliencyMap(a: tf.Tensor4D, pool: number): tf.Tensor3D {
  const pooled = pool > 1 ? (avgPool(a, pool, pool, 'valid') as tf.Tensor4D) : a;
  const [n, h, w] = pooled.shape;
  return minMaxNormalize(tf.reshape(pooled, [n, h, w])) as tf.Tensor3D;
}

export function checkPool(model: Classifier, pool: number, name: string): void {
  const [h, w] = model.inputShape;
  if (!Number.isInteger(pool) || pool < 1 || h % pool !== 0 || w % pool !== 0) {
    throw new Error(`${name} pooling ${pool} must be a positive integer dividing the input size ${h}×${w}`);
  }
}

/** gradient of Σ_i z_{c_i}(x_i) (logits) or of the summed CE, under `relu` */
export function classGradient(model: Classifier, x: tf.Tensor4D, classes: readonly number[], of: 'loss' | 'logit', relu?: (z: tf.Tensor) => tf.Tensor): tf.Tensor4D {
  return tf.grad((xi: tf.Tensor) => {
    const logits = model.logits(xi as tf.Tensor4D, { relu });
    return of === 'loss'
      ? crossEntropy(logits, classes, { reduction: 'sum' })
      : tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(classes as number[], 'int32'), model.numClasses)));
  })(x) as tf.Tensor4D;
}

export class GradInterpreter implements Interpreter {
  readonly name = 'grad';
  readonly pool: number;
  readonly of: 'loss' | 'logit';
  private readonly attackRelu: (z: tf.Tensor) => tf.Tensor;
  private readonly attackReluName: SurrogateKind | 'custom';

  constructor(readonly model: Classifier, opts: GradOptions = {}) {
    this.pool = opts.pool ?? 1;
    this.of = opts.of ?? 'loss';
    checkPool(model, this.pool, 'GRAD');
    this.attackReluName = opts.attackRelu ? 'custom' : opts.surrogate ?? { kind: 'h' };
    this.attackRelu = opts.attackRelu ?? surrogateRelu(opts.surrogate ?? { kind: 'h' });
  }

  settings(): Record<string, unknown> {
    return { pool: this.pool, of: this.of, attackRelu: this.attackReluName };
  }

  mapShape(): [number, number] {
    const [h, w] = this.model.inputShape;
    return [h / this.pool, w / this.pool];
  }

  /** normalised saliency map from the input gradient of CE toward `classes` under `relu` */
  private saliency(x: tf.Tensor4D, classes: readonly number[], relu: ((z: tf.Tensor) => tf.Tensor) | undefined): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    const g = classGradient(this.model, x, classes, this.of, relu);
    return saliencyMap(absChannelMax(g) as tf.Tensor4D, this.pool);
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.saliency(x, classes, undefined));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.saliency(x, classes, this.attackRelu);
  }
}
