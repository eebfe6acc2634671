/** ResNet-style classifier: 3×3 stem, stages of basic residual blocks with batch norm, GAP + fc. */
import * as tf from '@tensorflow/tfjs';
import { type Architecture, type NetOutput, type ParamDecl, ParamList, gapHead } from './architecture.js';
import type { NetContext } from './context.js';

export interface ResNetConfig {
  family: 'resnet';
  inputShape: [number, number, number];
  numClasses: number;
  /** channels of each stage; stage i > 0 halves the resolution */
  widths: number[];
  blocksPerStage: number;
  /** stride of the stem convolution (2 for larger canvases) */
  stemStride: 1 | 2;
}

export class ResNet implements Architecture {
  readonly family = 'resnet';
  constructor(readonly config: ResNetConfig) {}
  get inputShape(): [number, number, number] { return this.config.inputShape; }
  get numClasses(): number { return this.config.numClasses; }

  private *blocks(): Generator<{ name: string; cin: number; cout: number; stride: number; project: boolean }> {
    let cin = this.config.widths[0]!;
    for (let s = 0; s < this.config.widths.length; s++) {
      const cout = this.config.widths[s]!;
      for (let b = 0; b < this.config.blocksPerStage; b++) {
        const stride = b === 0 && s > 0 ? 2 : 1;
        yield { name: `stage${s + 1}.block${b + 1}`, cin, cout, stride, project: stride !== 1 || cin !== cout };
        cin = cout;
      }
    }
  }

  params(): Record<string, ParamDecl> {
    const p = new ParamList();
    const [, , channels] = this.config.inputShape;
    p.conv('stem.conv', 3, channels, this.config.widths[0]!);
    p.bn('stem.bn', this.config.widths[0]!);
    for (const b of this.blocks()) {
      p.conv(`${b.name}.conv1`, 3, b.cin, b.cout); p.bn(`${b.name}.bn1`, b.cout);
      p.conv(`${b.name}.conv2`, 3, b.cout, b.cout); p.bn(`${b.name}.bn2`, b.cout);
      if (b.project) { p.conv(`${b.name}.proj`, 1, b.cin, b.cout); p.bn(`${b.name}.projbn`, b.cout); }
    }
    p.linear('fc', this.config.widths.at(-1)!, this.config.numClasses);
    return p.decls;
  }

  layerNames(): string[] {
    return ['stem', ...[...this.blocks()].map((b) => b.name)];
  }

  forward(x: tf.Tensor4D, ctx: NetContext): NetOutput {
    let h = ctx.tap('stem', ctx.relu(ctx.convBn(x, 'stem.conv', 'stem.bn', this.config.stemStride, 'same')) as tf.Tensor4D);
    for (const b of this.blocks()) {
      const y1 = ctx.relu(ctx.convBn(h, `${b.name}.conv1`, `${b.name}.bn1`, b.stride, 'same')) as tf.Tensor4D;
      const y2 = ctx.convBn(y1, `${b.name}.conv2`, `${b.name}.bn2`, 1, 'same');
      const shortcut = b.project ? ctx.convBn(h, `${b.name}.proj`, `${b.name}.projbn`, b.stride, 'valid') : h;
      h = ctx.tap(b.name, ctx.relu(tf.add(y2, shortcut)) as tf.Tensor4D);
    }
    return { features: h, logits: gapHead(h, ctx) };
  }
}
