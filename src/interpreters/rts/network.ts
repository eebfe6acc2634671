/**
 * The RTS network (Dabkowski & Gal 2017; spec 3.4) scaled to the zoo's 28–56 px inputs.
 *
 * Design decisions (measured on the zoo; see models/*-rts/CARD.md for the trained instances):
 * - Encoder: like the paper (one ImageNet ResNet-50 encodes for both the ResNet-50 and the
 *   DenseNet-169 RTS), the trained zoo *ResNet* of the classifier's dataset is the frozen encoder,
 *   with its own classifier head (its logits are the encoder logits sC of the ADV² attack's
 *   `0.1·CE(enc(x), c_t)` term). Never trained: training only differentiates the decoder.
 * - Taps: the deepest encoder layer (7×7×64 on the zoo ResNets) is gated by the selector; each
 *   up-sampling block takes as skip the last encoder layer at twice its input resolution
 *   (14×14×32, then 28×28×16). The mask has half the input's side: 28×28 for the 56 px models
 *   (two blocks), 14×14 for the 28 px ones (one block). The paper's ratio (56 for 224) would give
 *   14×14 and 7×7, too coarse for 21–42 px objects. A full-resolution mask (28×28 on 28 px) was
 *   measured to fail: trained with the same objective it turned into sparse stripes that keep
 *   the prediction with a few pixels (keep 18 %, delete 42 % on fmnist-resnet); the ×2 bilinear
 *   up-sampling into φ smooths the mask as upstream's ×4 does.
 * - Selector: embedding E ∈ R^{classes×C}, act = Σ_ch s_deep·E[c], s_deep ← s_deep·σ(act − κ),
 *   exists logits (−mean(act)/2, +mean(act)/2). E[c] is a one-hot matMul (tf.gather's gradient
 *   needs UnsortedSegmentSum, which wasm lacks).
 * - Up-sampling block (paper's): conv3×3 (in → 4·out, no bias) → BN → ReLU → pixel shuffle ×2 →
 *   concat skip → bottleneck residual block (1×1 → mid, BN, ReLU; 3×3, BN, ReLU; 1×1 → out, BN;
 *   plus a 1×1 conv with bias from the concatenation; add; ReLU), mid = max(8, out/4). Widths
 *   mirror the encoder (32, 16): ~0.1 M parameters, ~0.4 MB.
 * - Head: 1×1 conv → 2 channels; mask = |a| / (|a| + |b| + 1e-6) (the guard keeps a = b = 0 finite).
 * - Batch norm: batch statistics in training (TrainContext), running statistics folded into the
 *   convolutions for inference (InferenceContext), exactly like the zoo classifiers.
 * Everything is a function of x built from first-order-safe tfjs ops and adv2's ops (pixelShuffle,
 * sigmoid): the ADV² attack on RTS differentiates the mask with respect to x once.
 */
import * as tf from '@tensorflow/tfjs';
import { pixelShuffle, sigmoid } from '../../engine/ops/index.js';
import { ParamList, type ParamDecl } from '../../models/architecture.js';
import type { Classifier } from '../../models/classifier.js';
import { FoldedWeights, InferenceContext, type NetContext, PairRecorder } from '../../models/context.js';
import { type WeightMap, countParameters, disposeWeights } from '../../models/weights.js';

export interface RtsConfig {
  /** zoo classifier whose decisions the masks explain (the black box of the training objective) */
  classifier: string;
  /** zoo ResNet used as the frozen encoder (its head gives the encoder logits) */
  encoder: string;
  inputShape: [number, number, number];
  numClasses: number;
  /** encoder layer gated by the class selector (the deepest) */
  deepLayer: string;
  deepChannels: number;
  /** spatial size of the deep layer */
  deepSize: [number, number];
  /** one skip layer per up-sampling block, deep to shallow */
  skipLayers: string[];
  skipChannels: number[];
  /** output widths of the up-sampling blocks */
  widths: number[];
  /** selector confidence κ: gate = σ(act − κ) (the authors use 6 on ImageNet, 0 on ISIC) */
  kappa: number;
}

export interface RtsCard {
  name: string;
  [key: string]: unknown;
}

export interface RtsEncoding {
  /** encoder (own head) logits [N, classes] */
  logits: tf.Tensor2D;
  deep: tf.Tensor4D;
  skips: tf.Tensor4D[];
}

export interface RtsOutput {
  /** [N, h, w] in [0, 1]: 1 keeps the pixel (the evidence for the selected class) */
  mask: tf.Tensor3D;
  /** [N, 2]: (fake, real) logits of "the selected class is present" */
  existsLogits: tf.Tensor2D;
}

export const RTS_MASK_EPS = 1e-6;

/** Skip-layer choice and widths for an encoder: see the file header. */
export function rtsConfigFor(
  encoder: Classifier,
  classifier: Classifier,
  opts: { blocks?: number; widths?: number[]; kappa?: number } = {},
): RtsConfig {
  if (encoder.inputShape.join() !== classifier.inputShape.join()) {
    throw new Error(`encoder '${encoder.name}' takes [${encoder.inputShape}] but classifier '${classifier.name}' takes [${classifier.inputShape}]`);
  }
  if (encoder.numClasses !== classifier.numClasses) {
    throw new Error(`encoder '${encoder.name}' has ${encoder.numClasses} classes, classifier '${classifier.name}' ${classifier.numClasses}`);
  }
  const shapes = tf.tidy(() => {
    const out = encoder.forward(tf.zeros([1, ...encoder.inputShape]) as tf.Tensor4D, { taps: 'all' });
    return encoder.layerNames().map((name) => ({ name, shape: out.taps[name]!.shape as number[] }));
  });
  const deep = shapes.at(-1)!;
  // enough ×2 blocks for a mask of half the input side (see the file header)
  const blocks = opts.blocks ?? Math.max(1, Math.round(Math.log2(encoder.inputShape[0] / 2 / deep.shape[1]!)));
  const skips: { name: string; shape: number[] }[] = [];
  for (let b = 1; b <= blocks; b++) {
    const size = deep.shape[1]! * 2 ** b;
    const at = shapes.filter((s) => s.shape[1] === size && s.shape[2] === deep.shape[2]! * 2 ** b);
    if (at.length === 0) throw new Error(`encoder '${encoder.name}' has no layer at ${size}×${size} for up-sampling block ${b}`);
    skips.push(at.at(-1)!);
  }
  const widths = opts.widths ?? skips.map((s) => s.shape[3]!);
  if (widths.length !== blocks) throw new Error(`${widths.length} widths for ${blocks} up-sampling blocks`);
  return {
    classifier: classifier.name,
    encoder: encoder.name,
    inputShape: [...encoder.inputShape],
    numClasses: encoder.numClasses,
    deepLayer: deep.name,
    deepChannels: deep.shape[3]!,
    deepSize: [deep.shape[1]!, deep.shape[2]!],
    skipLayers: skips.map((s) => s.name),
    skipChannels: skips.map((s) => s.shape[3]!),
    widths,
    kappa: opts.kappa ?? 0,
  };
}

export function bottleneckWidth(out: number): number {
  return Math.max(8, Math.round(out / 4));
}

/** Parameter declarations of the decoder + selector (the encoder's weights are its own). */
export function rtsParams(config: RtsConfig): Record<string, ParamDecl> {
  const p = new ParamList();
  p.decls['selector.embedding'] = { shape: [config.numClasses, config.deepChannels], init: 'linear', trainable: true };
  let cin = config.deepChannels;
  config.widths.forEach((out, i) => {
    const pass = config.skipChannels[i]!;
    const mid = bottleneckWidth(out);
    p.conv(`up${i}.conv`, 3, cin, 4 * out); p.bn(`up${i}.bn`, 4 * out);
    p.conv(`up${i}.reduce`, 1, out + pass, mid); p.bn(`up${i}.reduce_bn`, mid);
    p.conv(`up${i}.mid`, 3, mid, mid); p.bn(`up${i}.mid_bn`, mid);
    p.conv(`up${i}.expand`, 1, mid, out); p.bn(`up${i}.expand_bn`, out);
    p.conv(`up${i}.shortcut`, 1, out + pass, out, true);
    cin = out;
  });
  p.conv('head', 1, cin, 2, true);
  return p.decls;
}

/** Seeded fresh decoder weights: He-normal convs, unit BN, E ~ N(0, 1/C) (spec 3.4's init). */
export function initRtsWeights(config: RtsConfig, seed: number): WeightMap {
  const weights: WeightMap = {};
  let i = 0;
  for (const [name, d] of Object.entries(rtsParams(config))) {
    // tfjs treats seed 0 as unseeded: never pass it
    const s = (seed * 1000 + i++) || 0x5eed;
    if (name === 'selector.embedding') {
      weights[name] = tf.randomNormal(d.shape, 0, 1 / Math.sqrt(config.deepChannels), 'float32', s);
    } else if (d.init === 'he') {
      const fanIn = d.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      weights[name] = tf.truncatedNormal(d.shape, 0, Math.sqrt(2 / fanIn), 'float32', s);
    } else {
      weights[name] = d.init === 'ones' ? tf.ones(d.shape) : tf.zeros(d.shape);
    }
  }
  return weights;
}

export function maskShapeOf(config: RtsConfig): [number, number] {
  const f = 2 ** config.widths.length;
  return [config.deepSize[0] * f, config.deepSize[1] * f];
}

/** Run the frozen encoder once: logits of its own head and the tapped features. */
export function encode(encoder: Classifier, config: RtsConfig, x: tf.Tensor4D): RtsEncoding {
  const out = encoder.forward(x, { taps: [config.deepLayer, ...config.skipLayers] });
  return {
    logits: out.logits,
    deep: out.taps[config.deepLayer] as tf.Tensor4D,
    skips: config.skipLayers.map((n) => out.taps[n] as tf.Tensor4D),
  };
}

/** Selector + up-sampling blocks + head, written against a NetContext (train or inference). */
export function decode(
  config: RtsConfig,
  enc: Pick<RtsEncoding, 'deep' | 'skips'>,
  classes: readonly number[] | tf.Tensor1D,
  ctx: NetContext & { readonly weights: WeightMap },
): RtsOutput {
  const n = enc.deep.shape[0];
  const idx = Array.isArray(classes) ? tf.tensor1d(classes as number[], 'int32') : (classes as tf.Tensor1D);
  const onehot = tf.oneHot(idx, config.numClasses).toFloat() as tf.Tensor2D;
  const e = tf.matMul(onehot, ctx.weights['selector.embedding'] as tf.Tensor2D);
  const act = tf.sum(tf.mul(enc.deep, tf.reshape(e, [n, 1, 1, config.deepChannels])), 3);
  const gate = sigmoid(tf.sub(act, config.kappa));
  let h = tf.mul(enc.deep, tf.expandDims(gate, 3)) as tf.Tensor4D;
  const meanAct = tf.mean(act, [1, 2]);
  const existsLogits = tf.stack([tf.mul(meanAct, -0.5), tf.mul(meanAct, 0.5)], 1) as tf.Tensor2D;
  config.widths.forEach((_out, i) => {
    const up = pixelShuffle(ctx.relu(ctx.convBn(h, `up${i}.conv`, `up${i}.bn`, 1, 'same')), 2) as tf.Tensor4D;
    const cat = tf.concat([up, enc.skips[i]!], 3);
    let b = ctx.relu(ctx.convBn(cat, `up${i}.reduce`, `up${i}.reduce_bn`, 1, 'valid')) as tf.Tensor4D;
    b = ctx.relu(ctx.convBn(b, `up${i}.mid`, `up${i}.mid_bn`, 1, 'same')) as tf.Tensor4D;
    b = ctx.convBn(b, `up${i}.expand`, `up${i}.expand_bn`, 1, 'valid');
    h = ctx.relu(tf.add(b, ctx.conv(cat, `up${i}.shortcut`, 1, 'valid'))) as tf.Tensor4D;
  });
  const head = ctx.conv(h, 'head', 1, 'valid');
  const [, mh, mw] = head.shape;
  const a = tf.abs(tf.slice(head, [0, 0, 0, 0], [n, mh, mw, 1]));
  const bb = tf.abs(tf.slice(head, [0, 0, 0, 1], [n, mh, mw, 1]));
  const mask = tf.reshape(tf.div(a, tf.add(tf.add(a, bb), RTS_MASK_EPS)), [n, mh, mw]) as tf.Tensor3D;
  return { mask, existsLogits };
}

const exactRelu = (z: tf.Tensor): tf.Tensor => tf.relu(z);

/** A trained (or fresh) RTS: config + decoder weights + the frozen encoder. */
export class RtsNetwork {
  private folded: FoldedWeights | null = null;

  constructor(
    readonly config: RtsConfig,
    readonly weights: WeightMap,
    readonly encoder: Classifier,
    readonly card: RtsCard = { name: `${config.classifier}-rts` },
    /** dispose() also disposes the encoder (when the loader created it for this network) */
    private readonly ownsEncoder = false,
  ) {
    if (encoder.name !== config.encoder) throw new Error(`RTS network '${card.name}' needs encoder '${config.encoder}', got '${encoder.name}'`);
    const missing = Object.keys(rtsParams(config)).filter((n) => weights[n] === undefined);
    if (missing.length > 0) throw new Error(`RTS network '${card.name}' lacks weights: ${missing.slice(0, 5).join(', ')}`);
  }

  get name(): string { return this.card.name; }
  get maskShape(): [number, number] { return maskShapeOf(this.config); }
  get parameterCount(): number { return countParameters(this.weights, (n) => n.endsWith('.mean') || n.endsWith('.var')); }

  /** Inference: mask, exists logits and encoder logits, all differentiable functions of x. */
  forward(x: tf.Tensor4D, classes: readonly number[]): RtsOutput & { encoderLogits: tf.Tensor2D } {
    const enc = encode(this.encoder, this.config, x);
    return { ...decode(this.config, enc, classes, new InferenceContext(this.foldedWeights(), exactRelu)), encoderLogits: enc.logits };
  }

  /** Forget folded batch norms (after the weights changed in training). */
  refold(): void {
    this.folded?.dispose();
    this.folded = null;
  }

  private foldedWeights(): FoldedWeights {
    if (this.folded === null) {
      const folded = new FoldedWeights(this.weights);
      const recorder = new PairRecorder(this.weights, exactRelu);
      tf.tidy(() => {
        const enc = encode(this.encoder, this.config, tf.zeros([1, ...this.config.inputShape]) as tf.Tensor4D);
        decode(this.config, enc, [0], recorder);
      });
      for (const [conv, bn] of recorder.pairs) folded.foldConvBn(conv, bn);
      this.folded = folded;
    }
    return this.folded;
  }

  dispose(): void {
    this.refold();
    disposeWeights(this.weights);
    if (this.ownsEncoder) this.encoder.dispose();
  }
}
