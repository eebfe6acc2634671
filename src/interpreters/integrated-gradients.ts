/**
 * Integrated Gradients (Sundararajan et al.): (x − x̄) ⊙ mean_k ∇z_c(x̄ + (k/m)(x − x̄)) with a
 * black baseline by default (spec 3.6, midpoint Riemann sum), then GRAD's post-processing
 * (|·|, channel max, pooling, min–max). Steps run in chunks so memory stays bounded.
 */
import * as tf from '@tensorflow/tfjs';
import { type SurrogateKind, absChannelMax, surrogateRelu } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { checkPool, classGradient, saliencyMap } from './grad.js';
import { type Interpreter, checkClasses } from './interpreter.js';

export interface IntegratedGradientsOptions {
  steps?: number;
  /** steps per chunk (per image) */
  chunk?: number;
  /** steps used inside attacks (each is a second-order gradient) */
  attackSteps?: number;
  /** baseline pixel value (0 = black) */
  baseline?: number;
  pool?: number;
  surrogate?: SurrogateKind;
  /** explicit activation for the attack form, overriding `surrogate` (tests pass a smooth-forward twin) */
  attackRelu?: (z: tf.Tensor) => tf.Tensor;
}

export class IntegratedGradientsInterpreter implements Interpreter {
  readonly name = 'ig';
  readonly options: Required<Omit<IntegratedGradientsOptions, 'surrogate' | 'attackRelu'>>;
  private readonly attackRelu: (z: tf.Tensor) => tf.Tensor;
  private readonly attackReluName: SurrogateKind | 'custom';

  constructor(readonly model: Classifier, opts: IntegratedGradientsOptions = {}) {
    const { surrogate: _surrogate, attackRelu: _attackRelu, ...rest } = opts;
    this.attackReluName = opts.attackRelu ? 'custom' : opts.surrogate ?? { kind: 'h' };
    this.options = { steps: 32, chunk: 8, attackSteps: 8, baseline: 0, pool: 1, ...rest };
    checkPool(model, this.options.pool, 'IG');
    if (!(this.options.steps >= 1 && this.options.chunk >= 1)) throw new Error('IG needs steps ≥ 1 and chunk ≥ 1');
    this.attackRelu = opts.attackRelu ?? surrogateRelu(opts.surrogate ?? { kind: 'h' });
  }

  settings(): Record<string, unknown> {
    return { ...this.options, attackRelu: this.attackReluName };
  }

  mapShape(): [number, number] {
    const [h, w] = this.model.inputShape;
    return [h / this.options.pool, w / this.options.pool];
  }

  private map(x: tf.Tensor4D, classes: readonly number[], steps: number, relu?: (z: tf.Tensor) => tf.Tensor): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    const [n, h, w, c] = x.shape;
    const o = this.options;
    const delta = tf.sub(x, o.baseline) as tf.Tensor4D;
    let acc: tf.Tensor4D | null = null;
    for (let start = 0; start < steps; start += o.chunk) {
      const m = Math.min(o.chunk, steps - start);
      const alphas = tf.tensor4d(Array.from({ length: m }, (_, k) => (start + k + 0.5) / steps), [m, 1, 1, 1]);
      // [m, n, ...] points on the path, flattened to a batch of m·n
      const path = tf.add(o.baseline, tf.mul(tf.expandDims(delta, 0), tf.expandDims(alphas, 1)));
      const g = classGradient(this.model, tf.reshape(path, [m * n, h, w, c]) as tf.Tensor4D, Array.from({ length: m * n }, (_, i) => classes[i % n]!), 'logit', relu);
      const s = tf.sum(tf.reshape(g, [m, n, h, w, c]), 0) as tf.Tensor4D;
      acc = acc === null ? s : (tf.add(acc, s) as tf.Tensor4D);
    }
    const attribution = tf.mul(delta, tf.div(acc!, steps)) as tf.Tensor4D;
    return saliencyMap(absChannelMax(attribution) as tf.Tensor4D, o.pool);
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.map(x, classes, this.options.steps));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.map(x, classes, this.options.attackSteps, this.attackRelu);
  }
}
