/**
 * RTS — real-time saliency (Dabkowski & Gal 2017; spec 3.4): a trained network predicts, in one
 * forward pass, the mask that keeps the evidence for a class. The map is the network's mask at its
 * native resolution (half the input side: 28×28 at 56 px, 14×14 at 28 px; not up-sampled, like
 * the authors' attack code), natively in [0,1], for the selector class (the target class in
 * attacks).
 *
 * The network is trained per classifier (`adv2 train-rts`) and loaded by a Node adapter, so this
 * interpreter takes a preloaded RtsNetwork. Its attack form also returns the encoder's own
 * cross-entropy toward the class, CE(enc(x), c), summed over the batch, as an auxiliary loss: the
 * ADV² attack on RTS adds it with weight 0.1 (spec 4.6), which aligns the encoder features that
 * the selector gate depends on.
 */
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../engine/ops/index.js';
import type { Classifier } from '../models/classifier.js';
import { type Interpreter, checkClasses } from './interpreter.js';
import type { RtsNetwork } from './rts/network.js';

export class RtsInterpreter implements Interpreter {
  readonly name = 'rts';

  constructor(readonly model: Classifier, readonly net: RtsNetwork) {
    if (net.config.classifier !== model.name) {
      throw new Error(`RTS network '${net.name}' was trained to explain '${net.config.classifier}', not '${model.name}'`);
    }
    if (net.config.inputShape.join() !== model.inputShape.join()) {
      throw new Error(`RTS network '${net.name}' takes [${net.config.inputShape}] but '${model.name}' takes [${model.inputShape}]`);
    }
  }

  mapShape(): [number, number] {
    return this.net.maskShape;
  }

  settings(): Record<string, unknown> {
    return { network: this.net.name, config: this.net.config };
  }

  explain(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => this.attackMap(x, classes));
  }

  attackMap(x: tf.Tensor4D, classes: readonly number[]): tf.Tensor3D {
    checkClasses(this.model, x, classes);
    return this.net.forward(x, classes).mask;
  }

  /** CE(enc(x), c) of the RTS encoder's own head, summed over the batch (differentiable in x). */
  encoderLoss(x: tf.Tensor4D, classes: readonly number[]): tf.Scalar {
    checkClasses(this.model, x, classes);
    return crossEntropy(this.net.forward(x, classes).encoderLogits, classes, { reduction: 'sum' }) as tf.Scalar;
  }

  attackForward(x: tf.Tensor4D, classes: readonly number[]): { map: tf.Tensor3D; logits: tf.Tensor2D; auxLoss: tf.Scalar } {
    checkClasses(this.model, x, classes);
    const out = this.net.forward(x, classes);
    // when the classifier is the encoder (the ResNet RTS) one forward pass serves both
    const logits = this.net.encoder === this.model ? out.encoderLogits : this.model.logits(x);
    return { map: out.mask, logits, auxLoss: crossEntropy(out.encoderLogits, classes, { reduction: 'sum' }) as tf.Scalar };
  }
}
