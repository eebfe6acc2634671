/**
 * What every attack shares (torchattacks-style uniform call): the L∞ projection in [0,1] pixel
 * space, a fresh evaluation of the exact model and interpreter on the final images, and the
 * result record.
 */
import * as tf from '@tensorflow/tfjs';
import type { Interpreter } from '../interpreters/interpreter.js';
import type { Classifier } from '../models/classifier.js';

export interface StepTrace {
  step: number;
  stage: 'warmup' | 'adv2' | 'pgd';
  /** mean over the batch */
  predictionLoss: number;
  interpretationLoss?: number;
  lambda?: number;
  /** fraction of images currently classified as their target */
  success: number;
}

export interface AttackResult {
  /** adversarial images [N,H,W,C] in [0,1] (caller disposes) */
  adversarial: tf.Tensor4D;
  /** per image: the exact model classifies x* as its target */
  success: boolean[];
  predicted: number[];
  /** probability of the target class under the exact model */
  confidence: number[];
  /** the exact interpreter's map of x* for its target class [N,h,w] (caller disposes), when an interpreter was given */
  map?: tf.Tensor3D;
  /** stage-2 step at which each image's returned iterate was taken (-1: final iterate) */
  selectedStep: number[];
  trace: StepTrace[];
  seconds: number;
}

export interface ProgressInfo { step: number; total: number; trace: StepTrace }

export interface RunHooks {
  onStep?(info: ProgressInfo): void;
  /** trace every k steps (default 10) */
  traceEvery?: number;
}

/** x ← clip(clip(x, x° − ε, x° + ε), 0, 1): the perturbation first, then the pixel range. */
export function projectLinf(x: tf.Tensor4D, x0: tf.Tensor4D, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.minimum(tf.maximum(x, tf.sub(x0, epsilon)), tf.add(x0, epsilon)), 0, 1) as tf.Tensor4D);
}

/** one signed descent step followed by the projection */
export function signedStep(x: tf.Tensor4D, grad: tf.Tensor, stepSize: number, x0: tf.Tensor4D, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => projectLinf(tf.sub(x, tf.mul(tf.sign(grad), stepSize)) as tf.Tensor4D, x0, epsilon));
}

/** exact-model prediction, target confidence and success of a batch */
export function evaluateTargets(model: Classifier, x: tf.Tensor4D, targets: readonly number[]): { predicted: number[]; confidence: number[]; success: boolean[] } {
  const [pred, probs] = tf.tidy(() => {
    const p = tf.softmax(model.logits(x));
    return [Array.from(tf.argMax(p, 1).dataSync()), p.arraySync() as number[][]];
  });
  const confidence = targets.map((t, i) => probs[i]![t]!);
  return { predicted: pred, confidence, success: pred.map((p, i) => p === targets[i]) };
}

export function validateAttackInput(model: Classifier, x0: tf.Tensor4D, targets: readonly number[], interpreter?: Interpreter): void {
  model.validateInput(x0);
  if (targets.length !== x0.shape[0]) throw new Error(`${targets.length} targets for ${x0.shape[0]} images`);
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= model.numClasses) throw new Error(`target class ${t} is out of range 0..${model.numClasses - 1}`);
  }
  if (interpreter && interpreter.model !== model) throw new Error('the interpreter explains a different model than the one attacked');
}

/**
 * Snap x to the 8-bit grid (what a PNG stores) without leaving the ε-ball around x°: round, and
 * where rounding crossed the ball's edge, take the grid level one step toward x°. x° is assumed
 * to be on the grid (it came from an 8-bit image).
 */
export function quantize8(x: tf.Tensor4D, x0: tf.Tensor4D, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => {
    const q = tf.div(tf.round(tf.mul(x, 255)), 255);
    const over = tf.greater(tf.abs(tf.sub(q, x0)), epsilon + 1e-7);
    const towards = tf.sub(q, tf.div(tf.sign(tf.sub(q, x0)), 255));
    return tf.clipByValue(tf.where(over, towards, q), 0, 1) as tf.Tensor4D;
  });
}

/** per image i: a[i] where take[i], else b[i] (any rank, batch-first) */
export function pickPerImage<T extends tf.Tensor>(take: readonly boolean[], a: T, b: T): T {
  return tf.tidy(() => {
    const cond = tf.reshape(tf.tensor1d(take.map(Number), 'bool'), [take.length, ...a.shape.slice(1).map(() => 1)]);
    return tf.where(tf.broadcastTo(cond, a.shape), a, b) as T;
  });
}

/**
 * Stage 1 of ADV² (and its MASK variant): signed, projected descent from x° on a batch-summed
 * loss; `onTrace(step, meanLoss, x)` every `traceEvery` steps. Returns the final iterate.
 */
export function signedDescent(
  x0: tf.Tensor4D, loss: (x: tf.Tensor) => tf.Scalar,
  o: { steps: number; stepSize: number; epsilon: number; traceEvery: number },
  onTrace: (step: number, meanLoss: number, x: tf.Tensor4D) => void,
): tf.Tensor4D {
  let x = tf.clone(x0);
  const lossGrad = tf.valueAndGrad(loss);
  for (let step = 1; step <= o.steps; step++) {
    const { value, grad } = lossGrad(x);
    const next = signedStep(x, grad, o.stepSize, x0, o.epsilon);
    x.dispose(); grad.dispose();
    x = next;
    if (step % o.traceEvery === 0) onTrace(step, value.dataSync()[0]! / x0.shape[0], x);
    value.dispose();
  }
  return x;
}
