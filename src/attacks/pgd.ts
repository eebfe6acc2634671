/** Targeted L∞ PGD with signed steps (paper Eq. 1, spec 4.1): the baseline ADV² is compared to. */
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../engine/ops/index.js';
import type { Interpreter } from '../interpreters/interpreter.js';
import type { Classifier } from '../models/classifier.js';
import { type AttackResult, type RunHooks, type StepTrace, evaluateTargets, quantize8, signedStep, validateAttackInput } from './attack.js';

export interface PgdOptions {
  /** L∞ radius in [0,1] pixel units */
  epsilon: number;
  stepSize: number;
  steps: number;
  /** stop once every image is classified as its target with at least this confidence (0 = never stop early) */
  stopAtConfidence: number;
  /** snap the result to 8-bit levels (what a PNG stores) before the final evaluation */
  quantize: boolean;
}

export const PGD_DEFAULTS: PgdOptions = { epsilon: 0.031, stepSize: 1 / 255, steps: 1000, stopAtConfidence: 0, quantize: true };

export class Pgd {
  readonly name = 'pgd';
  readonly options: PgdOptions;
  constructor(readonly model: Classifier, options: Partial<PgdOptions> = {}) {
    this.options = { ...PGD_DEFAULTS, ...options };
  }

  /** `interpreter`, if given, only explains the result (PGD ignores interpretations). */
  run(x0: tf.Tensor4D, targets: readonly number[], interpreter?: Interpreter, hooks: RunHooks = {}): AttackResult {
    validateAttackInput(this.model, x0, targets, interpreter);
    const t0 = performance.now();
    const o = this.options;
    const trace: StepTrace[] = [];
    let x = tf.clone(x0);
    const lossGrad = tf.valueAndGrad((xi: tf.Tensor) => crossEntropy(this.model.logits(xi as tf.Tensor4D), targets, { reduction: 'sum' }) as tf.Scalar);
    for (let step = 1; step <= o.steps; step++) {
      const { value, grad } = lossGrad(x);
      const next = signedStep(x, grad, o.stepSize, x0, o.epsilon);
      x.dispose(); grad.dispose();
      x = next;
      const traceEvery = hooks.traceEvery ?? 10;
      const last = step === o.steps;
      if (step % traceEvery === 0 || last || o.stopAtConfidence > 0) {
        const ev = evaluateTargets(this.model, x, targets);
        const entry: StepTrace = { step, stage: 'pgd', predictionLoss: value.dataSync()[0]! / targets.length, success: ev.success.filter(Boolean).length / targets.length };
        if (step % traceEvery === 0 || last) { trace.push(entry); hooks.onStep?.({ step, total: o.steps, trace: entry }); }
        if (o.stopAtConfidence > 0 && ev.success.every((s, i) => s && ev.confidence[i]! >= o.stopAtConfidence)) { value.dispose(); break; }
      }
      value.dispose();
    }
    if (o.quantize) { const q = quantize8(x, x0, o.epsilon); x.dispose(); x = q; }
    const ev = evaluateTargets(this.model, x, targets);
    return {
      adversarial: x,
      ...ev,
      map: interpreter?.explain(x, targets),
      selectedStep: targets.map(() => -1),
      trace,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}
