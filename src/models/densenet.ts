/**
 * DenseNet-style classifier: stem conv, dense blocks of BN-ReLU-conv3×3 layers whose outputs are
 * concatenated, transitions BN-ReLU-conv1×1 + 2×2 average pool, final BN-ReLU, GAP + fc.
 */
import * as tf from '@tensorflow/tfjs';
import { type Architecture, type NetOutput, type ParamDecl, ParamList, avgPool2, gapHead } from './architecture.js';
import type { NetContext } from './context.js';

export interface DenseNetConfig {
  family: 'densenet';
  inputShape: [number, number, number];
  numClasses: number;
  stemWidth: number;
  growth: number;
  /** number of BN-ReLU-conv layers in each dense block */
  layersPerBlock: number[];
  /** channel reduction of each transition (0.5 = halve) */
  compression: number;
  stemStride: 1 | 2;
}

export class DenseNet implements Architecture {
  readonly family = 'densenet';
  constructor(readonly config: DenseNetConfig) {}
  get inputShape(): [number, number, number] { return this.config.inputShape; }
  get numClasses(): number { return this.config.numClasses; }

  /** channel count after each block and each transition */
  private plan(): { blocks: { cin: number }[]; transitions: { cin: number; cout: number }[]; final: number } {
    const blocks: { cin: number }[] = [];
    const transitions: { cin: number; cout: number }[] = [];
    let c = this.config.stemWidth;
    this.config.layersPerBlock.forEach((n, i) => {
      blocks.push({ cin: c });
      c += n * this.config.growth;
      if (i < this.config.layersPerBlock.length - 1) {
        const cout = Math.floor(c * this.config.compression);
        transitions.push({ cin: c, cout });
        c = cout;
      }
    });
    return { blocks, transitions, final: c };
  }

  params(): Record<string, ParamDecl> {
    const p = new ParamList();
    const { growth, stemWidth, layersPerBlock } = this.config;
    const plan = this.plan();
    p.conv('stem.conv', 3, this.config.inputShape[2], stemWidth);
    layersPerBlock.forEach((n, i) => {
      let c = plan.blocks[i]!.cin;
      for (let l = 0; l < n; l++) {
        p.bn(`block${i + 1}.layer${l + 1}.bn`, c);
        p.conv(`block${i + 1}.layer${l + 1}.conv`, 3, c, growth);
        c += growth;
      }
      const t = plan.transitions[i];
      if (t !== undefined) { p.bn(`trans${i + 1}.bn`, t.cin); p.conv(`trans${i + 1}.conv`, 1, t.cin, t.cout); }
    });
    p.bn('final.bn', plan.final);
    p.linear('fc', plan.final, this.config.numClasses);
    return p.decls;
  }

  layerNames(): string[] {
    const names = ['stem'];
    this.config.layersPerBlock.forEach((_, i) => {
      names.push(`block${i + 1}`);
      if (i < this.config.layersPerBlock.length - 1) names.push(`trans${i + 1}`);
    });
    return [...names, 'final'];
  }

  forward(x: tf.Tensor4D, ctx: NetContext): NetOutput {
    let h = ctx.tap('stem', ctx.conv(x, 'stem.conv', this.config.stemStride, 'same'));
    const blocks = this.config.layersPerBlock;
    blocks.forEach((n, i) => {
      for (let l = 0; l < n; l++) {
        const name = `block${i + 1}.layer${l + 1}`;
        const y = ctx.conv(ctx.relu(ctx.bn(h, `${name}.bn`)) as tf.Tensor4D, `${name}.conv`, 1, 'same');
        h = tf.concat([h, y], 3);
      }
      ctx.tap(`block${i + 1}`, h);
      if (i < blocks.length - 1) {
        const t = ctx.conv(ctx.relu(ctx.bn(h, `trans${i + 1}.bn`)) as tf.Tensor4D, `trans${i + 1}.conv`, 1, 'valid');
        h = ctx.tap(`trans${i + 1}`, avgPool2(t));
      }
    });
    const features = ctx.tap('final', ctx.relu(ctx.bn(h, 'final.bn')) as tf.Tensor4D);
    return { features, logits: gapHead(features, ctx) };
  }
}
