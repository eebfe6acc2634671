/**
 * One attack on one batch, measured the paper's way: benign maps for the true classes, the attack
 * toward the targets, and per image the success, confidence, map distances to the target map and
 * perturbation size.
 */
import * as tf from '@tensorflow/tfjs';
import { Adv2, ADV2_DEFAULTS, type Adv2Options } from '../attacks/adv2.js';
import { Adv2Mask, ADV2_MASK_DEFAULTS, type Adv2MaskOptions } from '../attacks/adv2-mask.js';
import type { AttackResult, RunHooks } from '../attacks/attack.js';
import { Pgd, PGD_DEFAULTS, type PgdOptions } from '../attacks/pgd.js';
import type { Interpreter } from '../interpreters/interpreter.js';
import { MaskInterpreter } from '../interpreters/mask.js';
import { l2Distance, linfDistance } from '../metrics/attack.js';
import { compareMaps } from '../metrics/maps.js';

export type AttackName = 'pgd' | 'adv2';

export interface AttackSettings {
  attack: AttackName;
  pgd?: Partial<PgdOptions>;
  adv2?: Partial<Adv2Options>;
  /** ADV² against MASK (the bilevel attack); epsilon, stepSize (→ warmupStepSize), warmupSteps, steps (→ outerSteps) and selectConfidence are also taken from `adv2` */
  adv2Mask?: Partial<Adv2MaskOptions>;
}

export interface ImageRecord {
  index: number;
  trueClass: number | null;
  targetClass: number;
  predictedClass: number;
  success: boolean;
  confidence: number;
  /** distances between the adversarial map (exact interpreter, target class) and the target map */
  mapL1: number;
  mapL2: number;
  mapIoU: number;
  mapIoU50: number;
  linf: number;
  l2: number;
  selectedStep: number;
}

export interface AttackRun {
  result: AttackResult;
  /** target maps the distances are measured against [N,h,w] (caller disposes) */
  targetMaps: tf.Tensor3D;
  records: ImageRecord[];
  options: PgdOptions | Adv2Options | Adv2MaskOptions;
}

/**
 * Attack `x0` toward `targets`. Target maps default to the benign maps (true class if known,
 * else the predicted class): "the attack leaves no trace in the explanation".
 */
export function runAttack(
  interpreter: Interpreter,
  x0: tf.Tensor4D,
  targets: readonly number[],
  settings: AttackSettings,
  opts: { trueClasses?: readonly (number | null)[]; targetMaps?: tf.Tensor3D; indices?: readonly number[]; hooks?: RunHooks } = {},
): AttackRun {
  const model = interpreter.model;
  const n = targets.length;
  const explained = opts.trueClasses?.map((c) => c ?? -1) ?? new Array<number>(n).fill(-1);
  if (explained.some((c) => c < 0)) {
    const pred = tf.tidy(() => Array.from(tf.argMax(model.logits(x0), 1).dataSync()));
    explained.forEach((c, i) => { if (c < 0) explained[i] = pred[i]!; });
  }
  const targetMaps = opts.targetMaps ? tf.clone(opts.targetMaps) : interpreter.explain(x0, explained);
  let result: AttackResult;
  let options: PgdOptions | Adv2Options | Adv2MaskOptions;
  if (settings.attack === 'pgd') {
    const pgd = new Pgd(model, settings.pgd);
    options = pgd.options;
    result = pgd.run(x0, targets, interpreter, opts.hooks);
  } else if (interpreter instanceof MaskInterpreter) {
    // MASK's map is an optimisation: `--attack adv2` is the bilevel attack (spec 4.7); λ does not apply
    const a = settings.adv2 ?? {};
    const adv2Mask = new Adv2Mask(interpreter, {
      ...(a.epsilon !== undefined ? { epsilon: a.epsilon } : {}),
      ...(a.stepSize !== undefined ? { warmupStepSize: a.stepSize } : {}),
      ...(a.warmupSteps !== undefined ? { warmupSteps: a.warmupSteps } : {}),
      ...(a.steps !== undefined ? { outerSteps: a.steps } : {}),
      ...(a.selectConfidence !== undefined ? { selectConfidence: a.selectConfidence } : {}),
      ...settings.adv2Mask,
    });
    options = adv2Mask.options;
    result = adv2Mask.run(x0, targets, targetMaps, opts.hooks);
  } else {
    const adv2 = new Adv2(interpreter, settings.adv2);
    options = adv2.options;
    result = adv2.run(x0, targets, targetMaps, opts.hooks);
  }
  const maps = result.map!.arraySync() as number[][][];
  const goal = targetMaps.arraySync() as number[][][];
  const xs = x0.arraySync() as number[][][][];
  const advs = result.adversarial.arraySync() as number[][][][];
  const records = targets.map((t, i): ImageRecord => {
    const d = compareMaps(maps[i]!.flat(), goal[i]!.flat());
    const a = xs[i]!.flat(2);
    const b = advs[i]!.flat(2);
    return {
      index: opts.indices?.[i] ?? i,
      trueClass: opts.trueClasses?.[i] ?? null,
      targetClass: t,
      predictedClass: result.predicted[i]!,
      success: result.success[i]!,
      confidence: result.confidence[i]!,
      mapL1: d.l1, mapL2: d.l2, mapIoU: d.iou, mapIoU50: d.iou50,
      linf: linfDistance(a, b), l2: l2Distance(a, b),
      selectedStep: result.selectedStep[i]!,
    };
  });
  return { result, targetMaps, records, options };
}

export const DEFAULT_SETTINGS = { pgd: PGD_DEFAULTS, adv2: ADV2_DEFAULTS, adv2Mask: ADV2_MASK_DEFAULTS };
