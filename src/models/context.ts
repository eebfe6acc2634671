/**
 * A network is written once against a NetContext; the context decides what a layer means:
 * - InferenceContext: constant weights, batch norm from running statistics (folded into the
 *   preceding convolution where there is one), a selectable ReLU (exact or surrogate backward);
 * - TrainContext: trainable variables, batch norm from batch statistics (recorded so the caller
 *   can update the running averages outside the gradient tape).
 * Convolutions are unfused `tf.conv2d` on weights that are not gradient sources, so an input
 * gradient never computes filter gradients.
 */
import * as tf from '@tensorflow/tfjs';
import type { WeightMap } from './weights.js';

export type Activation = (z: tf.Tensor) => tf.Tensor;
export type Padding = 'same' | 'valid' | number;

export const BN_EPSILON = 1e-3;

export interface NetContext {
  readonly relu: Activation;
  /** convolution `name` (weights `name.w`, optional bias `name.b`) */
  conv(x: tf.Tensor4D, name: string, stride: number, pad: Padding): tf.Tensor4D;
  /** convolution followed by batch norm `bnName` */
  convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number, pad: Padding): tf.Tensor4D;
  /** batch norm `name` (`name.gamma`, `name.beta`, `name.mean`, `name.var`) */
  bn(x: tf.Tensor4D, name: string): tf.Tensor4D;
  /** linear layer `name` (`name.w` [in, out], `name.b`) */
  linear(x: tf.Tensor2D, name: string): tf.Tensor2D;
  /** record a named intermediate tensor (Grad-CAM layers, RTS encoders) */
  tap<T extends tf.Tensor>(name: string, x: T): T;
}

/**
 * Explicit symmetric padding for a k×k convolution, as PyTorch pads; tfjs 'same' at stride 2
 * pads only bottom/right, which would shift feature maps against CAM/box coordinates.
 */
export function convPad(pad: Padding, kernel: number): 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
  const p = pad === 'same' ? (kernel - 1) / 2 : pad === 'valid' ? 0 : pad;
  if (!Number.isInteger(p)) throw new Error(`symmetric padding needs an odd kernel, got ${kernel}`);
  return p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]];
}

function weight(weights: WeightMap, name: string): tf.Tensor {
  const w = weights[name];
  if (w === undefined) throw new Error(`missing weight '${name}'`);
  return w;
}

abstract class BaseContext implements NetContext {
  readonly taps: Record<string, tf.Tensor> = {};
  constructor(readonly weights: WeightMap, readonly relu: Activation, private readonly wanted: ReadonlySet<string> | 'all' = new Set()) {}

  conv(x: tf.Tensor4D, name: string, stride: number, pad: Padding): tf.Tensor4D {
    const w = weight(this.weights, `${name}.w`) as tf.Tensor4D;
    const y = tf.conv2d(x, w, stride, convPad(pad, w.shape[0]));
    const b = this.weights[`${name}.b`];
    return b === undefined ? y : (tf.add(y, b) as tf.Tensor4D);
  }

  abstract convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number, pad: Padding): tf.Tensor4D;
  abstract bn(x: tf.Tensor4D, name: string): tf.Tensor4D;

  linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const y = tf.matMul(x, weight(this.weights, `${name}.w`) as tf.Tensor2D) as tf.Tensor2D;
    const b = this.weights[`${name}.b`];
    return b === undefined ? y : (tf.add(y, b) as tf.Tensor2D);
  }

  /** zero tensors added at named layers, so a caller can take gradients with respect to them */
  probes: Record<string, tf.Tensor> = {};

  tap<T extends tf.Tensor>(name: string, x: T): T {
    const probe = this.probes[name];
    const out = probe === undefined ? x : (tf.add(x, probe) as T);
    if (this.wanted === 'all' || this.wanted.has(name)) this.taps[name] = out;
    return out;
  }
}

/** Batch norm folded to a per-channel scale and shift (and into conv weights), computed once. */
export class InferenceContext extends BaseContext {
  constructor(private readonly folded: FoldedWeights, relu: Activation, wanted: ReadonlySet<string> | 'all' = new Set()) {
    super(folded.weights, relu, wanted);
  }

  convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number, pad: Padding): tf.Tensor4D {
    const fc = this.folded.convBn.get(`${name}|${bnName}`);
    if (fc === undefined) return this.bn(this.conv(x, name, stride, pad), bnName);
    return tf.add(tf.conv2d(x, fc.w, stride, convPad(pad, fc.w.shape[0])), fc.b);
  }

  bn(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const f = this.folded.affine(name);
    return tf.add(tf.mul(x, f.scale), f.shift);
  }
}

/** Weights with batch norms precomputed as affine maps; owns the tensors it creates. */
export class FoldedWeights {
  readonly convBn = new Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>();
  private readonly affines = new Map<string, { scale: tf.Tensor1D; shift: tf.Tensor1D }>();

  /** bnEpsilon: the model's batch-norm epsilon (an architecture config may set `bnEpsilon`) */
  constructor(readonly weights: WeightMap, readonly bnEpsilon: number = BN_EPSILON) {}

  affine(name: string): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    let a = this.affines.get(name);
    if (a === undefined) {
      a = tf.tidy(() => {
        const gamma = weight(this.weights, `${name}.gamma`);
        const scale = tf.div(gamma, tf.sqrt(tf.add(weight(this.weights, `${name}.var`), this.bnEpsilon))) as tf.Tensor1D;
        const shift = tf.sub(weight(this.weights, `${name}.beta`), tf.mul(weight(this.weights, `${name}.mean`), scale)) as tf.Tensor1D;
        return { scale: tf.keep(scale), shift: tf.keep(shift) };
      });
      this.affines.set(name, a);
    }
    return a;
  }

  /** Fold batch norm `bnName` into convolution `convName` (w' = w·scale, b' = b·scale + shift). */
  foldConvBn(convName: string, bnName: string): void {
    const key = `${convName}|${bnName}`;
    if (this.convBn.has(key)) return;
    const { scale, shift } = this.affine(bnName);
    const folded = tf.tidy(() => {
      const w = tf.mul(weight(this.weights, `${convName}.w`), scale) as tf.Tensor4D;
      const b0 = this.weights[`${convName}.b`];
      const b = (b0 === undefined ? shift : tf.add(tf.mul(b0, scale), shift)) as tf.Tensor1D;
      return { w: tf.keep(w), b: tf.keep(b) };
    });
    this.convBn.set(key, folded);
  }

  dispose(): void {
    for (const { w, b } of this.convBn.values()) { w.dispose(); b.dispose(); }
    for (const { scale, shift } of this.affines.values()) { scale.dispose(); shift.dispose(); }
    this.convBn.clear();
    this.affines.clear();
  }
}

/** Records which conv→bn pairs a network uses, so FoldedWeights can fold them ahead of time. */
export class PairRecorder extends BaseContext {
  readonly pairs: [string, string][] = [];
  convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number, pad: Padding): tf.Tensor4D {
    this.pairs.push([name, bnName]);
    return this.conv(x, name, stride, pad);
  }
  bn(x: tf.Tensor4D): tf.Tensor4D {
    return x;
  }
}

/** Training: batch statistics, recorded for the running-average update. */
export class TrainContext extends BaseContext {
  readonly batchStats = new Map<string, { mean: tf.Tensor; variance: tf.Tensor }>();

  convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number, pad: Padding): tf.Tensor4D {
    return this.bn(this.conv(x, name, stride, pad), bnName);
  }

  bn(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    // kept: tf.grad disposes what its function creates; the trainer disposes these after the update
    this.batchStats.set(name, { mean: tf.keep(mean), variance: tf.keep(variance) });
    const gamma = weight(this.weights, `${name}.gamma`);
    const beta = weight(this.weights, `${name}.beta`);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta);
  }
}
