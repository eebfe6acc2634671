/**
 * Architecture = a parameter list (names, shapes, initialisers) plus a forward function written
 * against a NetContext. Every family ends in global average pooling + one linear layer named
 * `fc`, so CAM is exact: logits = mean_ij(features) · fc.w + fc.b.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetContext } from './context.js';

export type Init = 'he' | 'zeros' | 'ones' | 'linear';

export interface ParamDecl {
  shape: number[];
  init: Init;
  /** running statistics and other state that training does not differentiate */
  trainable: boolean;
}

export interface NetOutput {
  /** last convolutional feature map (after its activation): what CAM weighs */
  features: tf.Tensor4D;
  logits: tf.Tensor2D;
}

export interface Architecture {
  readonly family: string;
  /** the serialisable configuration the architecture was built from */
  readonly config: { family: string };
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  params(): Record<string, ParamDecl>;
  /** x is already pre-processed (normalised) NHWC */
  forward(x: tf.Tensor4D, ctx: NetContext): NetOutput;
  /** names a caller may tap (in forward order) */
  layerNames(): string[];
}

export class ParamList {
  readonly decls: Record<string, ParamDecl> = {};
  conv(name: string, k: number, cin: number, cout: number, bias = false): void {
    this.decls[`${name}.w`] = { shape: [k, k, cin, cout], init: 'he', trainable: true };
    if (bias) this.decls[`${name}.b`] = { shape: [cout], init: 'zeros', trainable: true };
  }
  bn(name: string, c: number): void {
    this.decls[`${name}.gamma`] = { shape: [c], init: 'ones', trainable: true };
    this.decls[`${name}.beta`] = { shape: [c], init: 'zeros', trainable: true };
    this.decls[`${name}.mean`] = { shape: [c], init: 'zeros', trainable: false };
    this.decls[`${name}.var`] = { shape: [c], init: 'ones', trainable: false };
  }
  linear(name: string, cin: number, cout: number): void {
    this.decls[`${name}.w`] = { shape: [cin, cout], init: 'linear', trainable: true };
    this.decls[`${name}.b`] = { shape: [cout], init: 'zeros', trainable: true };
  }
}

/** Global average pooling + the `fc` linear head shared by every family. */
export function gapHead(features: tf.Tensor4D, ctx: NetContext): tf.Tensor2D {
  return ctx.linear(tf.mean(features, [1, 2]) as tf.Tensor2D, 'fc');
}

/** 2×2 average pool as reshape + mean: exact, and twice differentiable (tf.avgPool is not). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`avgPool2 needs even spatial size, got ${h}×${w}`);
  return tf.mean(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D;
}
