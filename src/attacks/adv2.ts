/**
 * ADV² on PGD (paper Eq. 3–4, spec 4.2–4.5): find x* in the L∞ ball around x° that the classifier
 * assigns to c_t and whose interpretation is close to m_t:
 *   min CE(f(x), c_t) + λ_t · mean_pixels (g(x) − m_t)²  [+ w · aux(x), e.g. RTS's encoder CE]
 * Stage 1 warm-starts with plain targeted PGD; stage 2 adds the interpretation term with a λ
 * schedule; the best iterate per image (target confidence above a threshold, smallest map
 * distance under the exact interpreter) is returned.
 */
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../engine/ops/index.js';
import type { Interpreter } from '../interpreters/interpreter.js';
import { type AttackResult, type RunHooks, type StepTrace, evaluateTargets, pickPerImage, quantize8, signedDescent, signedStep, validateAttackInput } from './attack.js';

export type LambdaSchedule =
  /** λ_t = c·(1 + t/T): the authors' CAM/RTS schedule */
  | { kind: 'ramp'; c: number }
  | { kind: 'constant'; c: number }
  /** piecewise-constant stages (the authors' GRAD schedule); their steps must sum to `steps` */
  | { kind: 'stages'; stages: { c: number; steps: number }[] };

export interface Adv2Options {
  epsilon: number;
  stepSize: number;
  /** stage 1: plain PGD steps on CE toward c_t */
  warmupSteps: number;
  /** stage 2: steps on the joint loss */
  steps: number;
  lambda: LambdaSchedule;
  /** stage-2 step size decays linearly from stepSize to stepSize·stepDecayTo (1 = constant, the paper's) */
  stepDecayTo: number;
  /** label smoothing of the CE term (the authors' GRAD v3 uses 0.05) */
  labelSmoothing: number;
  /** evaluate the exact map every k stage-2 steps for best-iterate selection (0 = return the last iterate) */
  selectEvery: number;
  /** an iterate qualifies when the exact model gives the target at least this probability */
  selectConfidence: number;
  /** snap the result to 8-bit levels (what a PNG stores) before the final evaluation */
  quantize: boolean;
  /**
   * weight of the interpreter's auxiliary loss in stage 2, when its attackForward returns one
   * (RTS: the encoder's CE toward c_t; spec 4.6 uses 0.1)
   */
  auxWeight: number;
  /**
   * stage 2's prediction term becomes the hinge max(CE − (−ln p), 0): it stops pulling once the
   * target probability reaches p, so the interpretation term has the iterates to itself while the
   * class holds (0 = plain CE, the paper's). The authors' "alt" MASK attack keeps CE below a bound
   * the same way (spec 4.7).
   */
  hingeConfidence: number;
}

export const ADV2_DEFAULTS: Adv2Options = {
  epsilon: 0.031,
  stepSize: 1 / 255,
  warmupSteps: 300,
  steps: 700,
  lambda: { kind: 'ramp', c: 5 },
  stepDecayTo: 0.1,
  labelSmoothing: 0,
  selectEvery: 10,
  selectConfidence: 0.9,
  quantize: true,
  auxWeight: 0.1,
  hingeConfidence: 0,
};

export function lambdaAt(schedule: LambdaSchedule, t: number, total: number): number {
  switch (schedule.kind) {
    case 'ramp': return schedule.c * (1 + t / total);
    case 'constant': return schedule.c;
    case 'stages': {
      let end = 0;
      for (const s of schedule.stages) { end += s.steps; if (t <= end) return s.c; }
      return schedule.stages.at(-1)!.c;
    }
  }
}

export class Adv2 {
  readonly name = 'adv2';
  readonly options: Adv2Options;

  constructor(readonly interpreter: Interpreter, options: Partial<Adv2Options> = {}) {
    this.options = { ...ADV2_DEFAULTS, ...options };
    const o = this.options;
    if (o.lambda.kind === 'stages' && o.lambda.stages.reduce((n, s) => n + s.steps, 0) !== o.steps) {
      throw new Error(`λ stages cover ${o.lambda.stages.reduce((n, s) => n + s.steps, 0)} steps but stage 2 has ${o.steps}`);
    }
    if (!(o.hingeConfidence >= 0 && o.hingeConfidence < 1)) throw new Error(`hingeConfidence must be in [0, 1), got ${o.hingeConfidence}`);
  }

  get model() { return this.interpreter.model; }

  /**
   * The stage-2 loss, per image and summed over the batch (so each image's gradient is its own):
   * CE(f(x), c_t) + λ·mean_pixels (g(x) − m_t)² [+ auxWeight·aux(x) when the interpreter has one].
   */
  jointLoss(x: tf.Tensor4D, targets: readonly number[], targetMaps: tf.Tensor3D, lambda: number): tf.Scalar {
    const o = this.options;
    const fwd = this.interpreter.attackForward?.(x, targets)
      ?? { map: this.interpreter.attackMap(x, targets), logits: this.model.logits(x) };
    const ce = o.hingeConfidence > 0
      ? tf.sum(tf.relu(tf.sub(crossEntropy(fwd.logits, targets, { reduction: 'none', labelSmoothing: o.labelSmoothing }), -Math.log(o.hingeConfidence))))
      : crossEntropy(fwd.logits, targets, { reduction: 'sum', labelSmoothing: o.labelSmoothing });
    const mapLoss = tf.sum(tf.mean(tf.square(tf.sub(fwd.map, targetMaps)), [1, 2]));
    const loss = tf.add(ce, tf.mul(mapLoss, lambda)) as tf.Scalar;
    return fwd.auxLoss === undefined || o.auxWeight === 0 ? loss : tf.add(loss, tf.mul(fwd.auxLoss, o.auxWeight)) as tf.Scalar;
  }

  /** targetMaps: [N,h,w] in [0,1], the interpreter's map shape (e.g. the benign maps) */
  run(x0: tf.Tensor4D, targets: readonly number[], targetMaps: tf.Tensor3D, hooks: RunHooks = {}): AttackResult {
    validateAttackInput(this.model, x0, targets, this.interpreter);
    const [mh, mw] = this.interpreter.mapShape();
    if (targetMaps.rank !== 3 || targetMaps.shape[0] !== x0.shape[0] || targetMaps.shape[1] !== mh || targetMaps.shape[2] !== mw) {
      throw new Error(`target maps must be [${x0.shape[0]},${mh},${mw}] for ${this.interpreter.name}, got [${targetMaps.shape.join(',')}]`);
    }
    const t0 = performance.now();
    const o = this.options;
    const n = targets.length;
    const total = o.warmupSteps + o.steps;
    const traceEvery = hooks.traceEvery ?? 10;
    const trace: StepTrace[] = [];
    const record = (entry: StepTrace): void => { trace.push(entry); hooks.onStep?.({ step: entry.step, total, trace: entry }); };
    const successRate = (x: tf.Tensor4D): number => evaluateTargets(this.model, x, targets).success.filter(Boolean).length / n;

    let x = signedDescent(x0, (xi: tf.Tensor) =>
      crossEntropy(this.model.logits(xi as tf.Tensor4D), targets, { reduction: 'sum', labelSmoothing: o.labelSmoothing }) as tf.Scalar,
    { steps: o.warmupSteps, stepSize: o.stepSize, epsilon: o.epsilon, traceEvery },
    (step, predictionLoss, xi) => record({ step, stage: 'warmup', predictionLoss, success: successRate(xi) }));

    let lambda = 0;
    const jointGrad = tf.valueAndGrad((xi: tf.Tensor) => this.jointLoss(xi as tf.Tensor4D, targets, targetMaps, lambda));

    const best = { x: tf.clone(x), distance: new Array<number>(n).fill(Infinity), step: new Array<number>(n).fill(-1) };
    // candidates are judged as they will be returned: snapped to 8 bits when `quantize` is on
    // (snapping an iterate that just passed p ≥ selectConfidence can push it back below)
    const consider = (t: number): void => {
      const candidate = o.quantize ? quantize8(x, x0, o.epsilon) : tf.clone(x);
      const ev = evaluateTargets(this.model, candidate, targets);
      const dist = tf.tidy(() => Array.from(tf.mean(tf.square(tf.sub(this.interpreter.explain(candidate, targets), targetMaps)), [1, 2]).dataSync()));
      const better = dist.map((d, i) => ev.success[i]! && ev.confidence[i]! >= o.selectConfidence && d < best.distance[i]!);
      if (better.some(Boolean)) {
        const merged = pickPerImage(better, candidate, best.x);
        best.x.dispose();
        best.x = merged;
        better.forEach((b, i) => { if (b) { best.distance[i] = dist[i]!; best.step[i] = t; } });
      }
      candidate.dispose();
    };

    for (let t = 1; t <= o.steps; t++) {
      lambda = lambdaAt(o.lambda, t, o.steps);
      const alpha = o.stepSize * (1 - (1 - o.stepDecayTo) * (t - 1) / Math.max(1, o.steps - 1));
      if (o.selectEvery > 0 && (t - 1) % o.selectEvery === 0) consider(t - 1);
      this.interpreter.attackStep?.(t);
      const { value, grad } = jointGrad(x);
      const next = signedStep(x, grad, alpha, x0, o.epsilon);
      x.dispose(); grad.dispose();
      x = next;
      if (t % traceEvery === 0 || t === o.steps) {
        const step = o.warmupSteps + t;
        const parts = tf.tidy(() => {
          const m = this.interpreter.explain(x, targets);
          return tf.mean(tf.square(tf.sub(m, targetMaps))).dataSync()[0]!;
        });
        record({ step, stage: 'adv2', predictionLoss: value.dataSync()[0]! / n, interpretationLoss: parts, lambda, success: successRate(x) });
      }
      value.dispose();
    }
    if (o.selectEvery > 0) consider(o.steps);
    this.interpreter.attackStep?.(0);

    // images without a qualifying iterate keep the final one
    const adversarial = tf.tidy(() => {
      const chosen = pickPerImage(best.step.map((s) => s >= 0), best.x, x);
      return o.quantize ? quantize8(chosen, x0, o.epsilon) : chosen;
    });
    best.x.dispose(); x.dispose();
    const ev = evaluateTargets(this.model, adversarial, targets);
    return {
      adversarial,
      ...ev,
      map: this.interpreter.explain(adversarial, targets),
      selectedStep: best.step.map((s) => (s >= 0 ? o.warmupSteps + s : -1)),
      trace,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}
