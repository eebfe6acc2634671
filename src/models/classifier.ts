/**
 * A classifier = architecture + constant weights + pre-processing. Callers pass images in [0,1]
 * (NHWC); normalisation, channel order and mean subtraction happen inside. The same weights run in
 * exact mode (true ReLU) or smoothed-gradient mode (every ReLU's backward replaced by a surrogate).
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture, NetOutput } from './architecture.js';
import { FoldedWeights, InferenceContext, PairRecorder, type Activation } from './context.js';
import { DenseNet, type DenseNetConfig } from './densenet.js';
import { ResNet, type ResNetConfig } from './resnet.js';
import { ResNet50, type ResNet50Config } from './resnet50.js';
import { type WeightMap, countParameters, disposeWeights } from './weights.js';

export type ArchConfig = ResNetConfig | DenseNetConfig | ResNet50Config;

export type Preprocess =
  | { kind: 'normalize'; mean: number[]; std: number[] }
  /** Keras "caffe" mode: RGB→BGR, ×255, subtract the BGR ImageNet means, no scaling */
  | { kind: 'caffe'; meanBgr: [number, number, number] };

export interface ModelCard {
  name: string;
  dataset: string;
  description?: string;
  testAccuracy?: number;
  testSet?: string;
  trainingSeconds?: number;
  epochs?: number;
  seed?: number;
  backend?: string;
  parameters?: number;
  [key: string]: unknown;
}

export interface ForwardOptions {
  /** ReLU used everywhere (default exact tf.relu); pass a surrogate for smoothed-gradient mode */
  relu?: Activation;
  /** intermediate layers to return (see layerNames()) */
  taps?: readonly string[] | 'all';
  /**
   * tensors added to named layers' outputs (zeros of the layer's shape): the gradient with
   * respect to a probe is the gradient with respect to that layer's activation (Grad-CAM)
   */
  probes?: Record<string, tf.Tensor>;
}

export interface ForwardResult extends NetOutput {
  taps: Record<string, tf.Tensor>;
}

export class InputError extends Error {
  override name = 'InputError';
}

export function buildArchitecture(config: ArchConfig): Architecture {
  switch (config.family) {
    case 'resnet': return new ResNet(config);
    case 'densenet': return new DenseNet(config);
    case 'resnet50': return new ResNet50(config);
    default: throw new Error(`unknown architecture family '${(config as { family: string }).family}'`);
  }
}

export function applyPreprocess(p: Preprocess, x: tf.Tensor4D): tf.Tensor4D {
  if (p.kind === 'normalize') return tf.div(tf.sub(x, tf.tensor1d(p.mean)), tf.tensor1d(p.std)) as tf.Tensor4D;
  return tf.sub(tf.mul(tf.reverse(x, 3), 255), tf.tensor1d(p.meanBgr)) as tf.Tensor4D;
}

const exactRelu: Activation = (z) => tf.relu(z);

export class Classifier {
  private folded: FoldedWeights | null = null;

  constructor(
    readonly card: ModelCard,
    readonly arch: Architecture,
    readonly weights: WeightMap,
    readonly preprocessing: Preprocess,
    readonly classNames: string[],
  ) {
    const missing = Object.keys(arch.params()).filter((n) => weights[n] === undefined);
    if (missing.length > 0) throw new Error(`model '${card.name}' lacks weights: ${missing.slice(0, 5).join(', ')}`);
    if (classNames.length !== arch.numClasses) {
      throw new Error(`model '${card.name}' has ${arch.numClasses} outputs but ${classNames.length} class names`);
    }
  }

  get name(): string { return this.card.name; }
  get inputShape(): [number, number, number] { return this.arch.inputShape; }
  get numClasses(): number { return this.arch.numClasses; }
  get parameterCount(): number { return countParameters(this.weights, (n) => n.endsWith('.mean') || n.endsWith('.var')); }
  layerNames(): string[] { return this.arch.layerNames(); }

  /** Throws a one-line InputError unless x is a finite [0,1] batch of this model's input shape. */
  validateInput(x: tf.Tensor): asserts x is tf.Tensor4D {
    const [h, w, c] = this.inputShape;
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw new InputError(`model '${this.name}' expects input [N,${h},${w},${c}], got [${x.shape.join(',')}]`);
    }
    const [lo, hi] = tf.tidy(() => [tf.min(x).dataSync()[0]!, tf.max(x).dataSync()[0]!]);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new InputError('input contains NaN or infinite values');
    if (lo < 0 || hi > 1) throw new InputError(`input values must lie in [0,1], got [${lo}, ${hi}]`);
  }

  preprocess(x: tf.Tensor4D): tf.Tensor4D {
    return applyPreprocess(this.preprocessing, x);
  }

  private foldedWeights(): FoldedWeights {
    if (this.folded === null) {
      const folded = new FoldedWeights(this.weights, (this.arch.config as { bnEpsilon?: number }).bnEpsilon);
      // trace once on a tiny input to learn which conv→bn pairs exist, then fold them
      const recorder = new PairRecorder(this.weights, exactRelu);
      tf.tidy(() => { this.arch.forward(tf.zeros([1, ...this.inputShape]) as tf.Tensor4D, recorder); });
      for (const [conv, bn] of recorder.pairs) folded.foldConvBn(conv, bn);
      this.folded = folded;
    }
    return this.folded;
  }

  /** Logits, last conv features and optional taps, all as functions of x (differentiable). */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): ForwardResult {
    const wanted = opts.taps === undefined ? new Set<string>() : opts.taps === 'all' ? 'all' : new Set(opts.taps);
    if (wanted instanceof Set) {
      const known = new Set(this.layerNames());
      const unknown = [...wanted].filter((n) => !known.has(n));
      if (unknown.length > 0) {
        throw new InputError(`model '${this.name}' has no layer '${unknown[0]}' (layers: ${[...known].join(', ')})`);
      }
    }
    const ctx = new InferenceContext(this.foldedWeights(), opts.relu ?? exactRelu, wanted);
    if (opts.probes) ctx.probes = opts.probes;
    const out = this.arch.forward(this.preprocess(x), ctx);
    return { ...out, taps: ctx.taps };
  }

  logits(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.forward(x, opts).logits;
  }

  probabilities(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  /** The final linear layer: w [K, classes], b [classes] — CAM weights. */
  head(): { w: tf.Tensor2D; b: tf.Tensor1D } {
    return { w: this.weights['fc.w'] as tf.Tensor2D, b: this.weights['fc.b'] as tf.Tensor1D };
  }

  dispose(): void {
    this.folded?.dispose();
    this.folded = null;
    disposeWeights(this.weights);
  }
}

/** Fresh weights for an architecture, seeded (He-normal convs, uniform linear, unit BN). */
export function initWeights(arch: Architecture, seed: number): WeightMap {
  const weights: WeightMap = {};
  let i = 0;
  for (const [name, d] of Object.entries(arch.params())) {
    // tfjs treats seed 0 as "unseeded" (Math.random): never pass it
    const s = seed * 1000 + i++ || 0x5eed;
    switch (d.init) {
      case 'zeros': weights[name] = tf.zeros(d.shape); break;
      case 'ones': weights[name] = tf.ones(d.shape); break;
      case 'he': {
        const fanIn = d.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        weights[name] = tf.truncatedNormal(d.shape, 0, Math.sqrt(2 / fanIn), 'float32', s);
        break;
      }
      case 'linear': {
        const limit = 1 / Math.sqrt(d.shape[0]!);
        weights[name] = tf.randomUniform(d.shape, -limit, limit, 'float32', s);
        break;
      }
    }
  }
  return weights;
}
