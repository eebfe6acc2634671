/**
 * SmoothGrad (Smilkov et al.): the GRAD saliency |∂·/∂x| averaged over noisy copies
 * x + N(0, σ²), then GRAD's post-processing (channel max, pooling, min–max; spec 3.6). Samples run
 * in chunks, so memory stays bounded however many are asked for; the noise is seeded.
 */
import * as tf from '@tensorflow/tfjs';
import { type SurrogateKind, absChannelMax, surrogateRelu } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { checkPool, classGradient, saliencyMap } from './grad.js';
import { type Interpreter, checkClasses } from './interpreter.js';

export interface SmoothGradOptions {
  samples?: number;
  /** noise standard deviation in [0,1] pixel units */
  sigma?: number;
  /** samples per chunk (per image) */
  chunk?: number;
  /** samples used inside attacks (each is a second-order gradient) */
  attackSamples?: number;
  pool?: number;
  seed?: number;
  of?: 'loss' | 'logit';
  surrogate?: SurrogateKind;
  /** explicit activation for the attack form, overriding `surrogate` (tests pass a smooth-forward twin) */
  attackRelu?: (z: tf.Tensor) => tf.Tensor;
}

export class SmoothGradInterpreter implements Interpreter {
  readonly name = 'smoothgrad';
  readonly options: Required<Omit<SmoothGradOptions, 'surrogate' | 'attackRelu'>>;
  private readonly attackRelu: (z: tf.Tensor) => tf.Tensor;
  private readonly attackReluName: SurrogateKind | 'custom';

  constructor(readonly model: Classifier, opts: SmoothGradOptions = {}) {
    const { surrogate: _surrogate, attackRelu: _attackRelu, ...rest } = opts;
    this.attackReluName = opts.attackRelu ? 'custom' : opts.surrogate ?? { kind: 'h' };
    this.options = { samples: 25, sigma: 0.1, chunk: 8, attackSamples: 8, pool: 1, seed: 0, of: 'loss', ...rest };
    checkPool(model, this.options.pool, 'SmoothGrad');
    if (!(this.options.samples >= 1 && this.options.chunk >= 1)) throw new Error('SmoothGrad needs samples ≥ 1 and chunk ≥ 1');
    this.attackRelu = opts.attackRelu ?? surrogateRelu(opts.surrogate ?? { kind: 'h' });
  }

  settings(): Record<string, unknown> {
    return { ...this.options, attackRelu: this.attackReluName };
  }

  mapShape(): [number, number] {
    const [h, w] = this.model.inputShape;
    return [h / this.options.pool, w / this.options.pool];
  }

  /** the attack step whose noise the attack form draws (0 = the fixed stream, e.g. outside attacks) */
  private attackStream = 0;

  attackStep(t: number): void {
    this.attackStream = t;
  }

  private map(x: tf.Tensor4D, classes: readonly number[], samples: number, relu?: (z: tf.Tensor) => tf.Tensor, stream = 0): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    const [n, h, w, c] = x.shape;
    const o = this.options;
    let acc: tf.Tensor4D | null = null;
    for (let start = 0, k = 0; start < samples; start += o.chunk, k++) {
      const m = Math.min(o.chunk, samples - start);
      // [m·n] noisy copies: sample-major, so the batch stays contiguous per sample
      // tfjs treats seed 0 as "unseeded": keep every seed non-zero
      const noise = tf.randomNormal([m * n, h, w, c], 0, o.sigma, 'float32', o.seed * 7919 + stream * 104729 + k + 1);
      const xs = tf.add(tf.tile(x, [m, 1, 1, 1]), noise) as tf.Tensor4D;
      const g = classGradient(this.model, xs, Array.from({ length: m * n }, (_, i) => classes[i % n]!), o.of, relu);
      const s = tf.sum(tf.reshape(absChannelMax(g), [m, n, h, w, 1]), 0) as tf.Tensor4D;
      acc = acc === null ? s : (tf.add(acc, s) as tf.Tensor4D);
    }
    return saliencyMap(tf.div(acc!, samples) as tf.Tensor4D, o.pool);
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.map(x, classes, this.options.samples));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return this.map(x, classes, this.options.attackSamples, this.attackRelu, this.attackStream);
  }
}
