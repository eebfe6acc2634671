/**
 * The attack flags `adv2 attack` and `adv2 evaluate` share, and their translation into
 * AttackSettings. Unset flags leave the library's defaults (ADV2_DEFAULTS, PGD_DEFAULTS) alone,
 * so results record exactly what ran.
 */
import type { Command } from 'commander';
import type { LambdaSchedule } from '../attacks/adv2.js';
import type { AttackName, AttackSettings } from '../experiments/run-attack.js';
import { UsageError, parseFloatOption, parseIntOption } from './util.js';

export interface AttackFlags {
  attack: AttackName;
  /** unset: the model's default (attackEpsilonFor) */
  epsilon?: number;
  stepSize?: number;
  steps?: number;
  warmup?: number;
  lambda?: number;
  lambdaSchedule?: 'ramp' | 'constant';
  lambdaStages?: { c: number; steps: number }[];
  stepDecay?: number;
  labelSmoothing?: number;
  selectConfidence?: number;
  auxWeight?: number;
  hingeConfidence?: number;
}

/** "c1:s1,c2:s2,…" → λ stages (the authors' GRAD schedule) */
export function parseLambdaStages(v: string): { c: number; steps: number }[] {
  const stages = v.split(',').map((part) => {
    const [c, steps] = part.split(':').map(Number);
    if (!Number.isFinite(c) || c! < 0 || !Number.isInteger(steps) || steps! < 1) {
      throw new UsageError(`--lambda-stages expects c:steps pairs such as 3.1:176,12.5:176, got '${part}'`);
    }
    return { c: c!, steps: steps! };
  });
  return stages;
}

export function addAttackOptions(cmd: Command): Command {
  return cmd
    .option('--epsilon <e>', 'L∞ radius in [0,1] pixel units, the same for PGD and ADV² in comparisons (default: 0.05 on the 28–56 px zoo, 0.031 = 8/255 on ImageNet, the paper\'s)', parseFloatOption('epsilon', 0, 1))
    .option('--step-size <a>', 'signed step size α (default 1/255)', parseFloatOption('step-size', 0, 1))
    .option('--steps <n>', 'PGD: total steps; ADV²: stage-2 steps (MASK: outer iterations)', parseIntOption('steps', 1))
    .option('--warmup <n>', 'ADV² stage-1 steps (plain PGD warm start)', parseIntOption('warmup', 0))
    .option('--lambda <c>', 'ADV² interpretation weight c on the per-pixel mean squared map error', parseFloatOption('lambda', 0))
    .option('--lambda-schedule <kind>', 'ramp (c→2c over stage 2, the paper\'s CAM/RTS schedule) or constant', (v: string) => {
      if (v !== 'ramp' && v !== 'constant') throw new UsageError(`--lambda-schedule must be ramp or constant, got '${v}'`);
      return v;
    })
    .option('--lambda-stages <list>', 'piecewise-constant λ, c:steps pairs summing to --steps (the authors\' GRAD schedule), e.g. 3.1:176,12.5:176,31.4:176,157:172', parseLambdaStages)
    .option('--step-decay <f>', 'stage-2 step size decays linearly from α to f·α (1 = constant, the paper\'s; default 0.1)', parseFloatOption('step-decay', 0, 1))
    .option('--label-smoothing <s>', 'label smoothing of the ADV² cross-entropy term', parseFloatOption('label-smoothing', 0, 0.99))
    .option('--select-confidence <p>', 'ADV² keeps the best iterate whose target probability is at least p (default 0.9)', parseFloatOption('select-confidence', 0, 1))
    .option('--aux-weight <w>', 'ADV² weight of the interpreter\'s auxiliary loss (RTS: the encoder\'s cross-entropy toward the target; default 0.1, spec 4.6)', parseFloatOption('aux-weight', 0))
    .option('--hinge-confidence <p>', 'ADV² stage 2 pulls toward the target only while its probability is below p (CE hinge; 0 = plain CE, the paper\'s)', parseFloatOption('hinge-confidence', 0, 0.999999));
}

function lambdaFrom(f: AttackFlags): LambdaSchedule | undefined {
  if (f.lambdaStages) {
    if (f.lambda !== undefined || f.lambdaSchedule !== undefined) throw new UsageError('--lambda-stages replaces --lambda and --lambda-schedule; give one or the other');
    return { kind: 'stages', stages: f.lambdaStages };
  }
  if (f.lambda === undefined && f.lambdaSchedule === undefined) return undefined;
  if (f.lambda === undefined) throw new UsageError('--lambda-schedule needs --lambda');
  return { kind: f.lambdaSchedule ?? 'ramp', c: f.lambda };
}

/** `defaultEpsilon` applies when --epsilon is not given (the model's own, attackEpsilonFor) */
export function attackSettings(f: AttackFlags, defaultEpsilon: number): AttackSettings {
  const common = { epsilon: f.epsilon ?? defaultEpsilon, ...(f.stepSize !== undefined ? { stepSize: f.stepSize } : {}) };
  if (f.attack === 'pgd') return { attack: 'pgd', pgd: { ...common, ...(f.steps !== undefined ? { steps: f.steps } : {}) } };
  const lambda = lambdaFrom(f);
  const steps = f.steps ?? (f.lambdaStages ? f.lambdaStages.reduce((n, s) => n + s.steps, 0) : undefined);
  return {
    attack: 'adv2',
    adv2: {
      ...common,
      ...(steps !== undefined ? { steps } : {}),
      ...(f.warmup !== undefined ? { warmupSteps: f.warmup } : {}),
      ...(lambda !== undefined ? { lambda } : {}),
      ...(f.stepDecay !== undefined ? { stepDecayTo: f.stepDecay } : {}),
      ...(f.labelSmoothing !== undefined ? { labelSmoothing: f.labelSmoothing } : {}),
      ...(f.selectConfidence !== undefined ? { selectConfidence: f.selectConfidence } : {}),
      ...(f.auxWeight !== undefined ? { auxWeight: f.auxWeight } : {}),
      ...(f.hingeConfidence !== undefined ? { hingeConfidence: f.hingeConfidence } : {}),
    },
  };
}
