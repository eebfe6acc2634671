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
  /**
   * what is differentiated: 'loss' = CE(z(x), c) (the authors' code, default) or 'logit' = z_c
   * (their prototype). Through exact ReLUs the logit map is piecewise constant in x (zero
   * interpretation gradient); the loss map still varies through the softmax.
   */
  of?: 'loss' | 'logit';
}

export class GradInterpreter implements Interpreter {
  readonly name = 'grad';
  readonly pool: number;
  readonly of: 'loss' | 'logit';
  private readonly attackRelu: (z: tf.Tensor) => tf.Tensor;

  constructor(readonly model: Classifier, opts: GradOptions = {}) {
    this.pool = opts.pool ?? 1;
    this.of = opts.of ?? 'loss';
    const [h, w] = model.inputShape;
    if (!Number.isInteger(this.pool) || this.pool < 1 || h % this.pool !== 0 || w % this.pool !== 0) {
      throw new Error(`GRAD pooling ${this.pool} must be a positive integer dividing the input size ${h}×${w}`);
    }
    this.attackRelu = surrogateRelu(opts.surrogate ?? { kind: 'h' });
  }

  mapShape(): [number, number] {
    const [h, w] = this.model.inputShape;
    return [h / this.pool, w / this.pool];
  }

  /** normalised saliency map from the input gradient of CE toward `classes` under `relu` */
  private saliency(x: tf.Tensor4D, classes: readonly number[], relu: ((z: tf.Tensor) => tf.Tensor) | undefined): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    const g = tf.grad((xi: tf.Tensor) => {
      const logits = this.model.logits(xi as tf.Tensor4D, { relu });
      return this.of === 'loss'
        ? crossEntropy(logits, classes, { reduction: 'sum' })
        : tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(classes as number[], 'int32'), this.model.numClasses)));
    })(x);
    let a = absChannelMax(g) as tf.Tensor4D;
    if (this.pool > 1) a = avgPool(a, this.pool, this.pool, 'valid') as tf.Tensor4D;
    const [n, h, w] = a.shape;
    return minMaxNormalize(tf.reshape(a, [n, h, w])) as tf.Tensor3D;
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.saliency(x, classes, undefined));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.saliency(x, classes, this.attackRelu);
  }
}
