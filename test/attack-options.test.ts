/** The shared attack flags of `adv2 attack` / `adv2 evaluate` and their translation into settings. */
import { describe, expect, it } from 'vitest';
import { attackSettings, parseLambdaStages } from '../src/cli/attack-options.js';

describe('attack flags', () => {
  it('parses λ stages and takes stage 2\'s length from them', () => {
    const stages = parseLambdaStages('3.1:176,12.5:176,31.4:176,157:172');
    expect(stages).toEqual([{ c: 3.1, steps: 176 }, { c: 12.5, steps: 176 }, { c: 31.4, steps: 176 }, { c: 157, steps: 172 }]);
    const s = attackSettings({ attack: 'adv2', epsilon: 0.031, lambdaStages: stages }, 0.05);
    expect(s.adv2?.steps).toBe(700);
    expect(s.adv2?.lambda).toEqual({ kind: 'stages', stages });
  });

  it('rejects malformed stages and conflicting λ flags with a usage error', () => {
    expect(() => parseLambdaStages('3:0')).toThrow(/c:steps pairs/);
    expect(() => parseLambdaStages('x:10')).toThrow(/c:steps pairs/);
    expect(() => attackSettings({ attack: 'adv2', epsilon: 0.031, lambda: 2, lambdaStages: [{ c: 1, steps: 5 }] }, 0.05)).toThrow(/replaces --lambda/);
    expect(() => attackSettings({ attack: 'adv2', epsilon: 0.031, lambdaSchedule: 'constant' }, 0.05)).toThrow(/needs --lambda/);
  });

  it('maps each flag onto its option and leaves unset ones to the library defaults', () => {
    const s = attackSettings({ attack: 'adv2', epsilon: 0.02, lambda: 3, lambdaSchedule: 'constant', stepDecay: 1, labelSmoothing: 0.05, selectConfidence: 0.95, warmup: 10, steps: 20, auxWeight: 0.3 }, 0.05);
    expect(s.adv2).toEqual({ epsilon: 0.02, steps: 20, warmupSteps: 10, lambda: { kind: 'constant', c: 3 }, stepDecayTo: 1, labelSmoothing: 0.05, selectConfidence: 0.95, auxWeight: 0.3 });
    expect(attackSettings({ attack: 'pgd', epsilon: 0.031, steps: 50, stepSize: 0.002 }, 0.05)).toEqual({ attack: 'pgd', pgd: { epsilon: 0.031, stepSize: 0.002, steps: 50 } });
    expect(attackSettings({ attack: 'adv2', epsilon: 0.031 }, 0.05).adv2).toEqual({ epsilon: 0.031 });
    // no --epsilon: the model's default
    expect(attackSettings({ attack: 'adv2' }, 0.05).adv2).toEqual({ epsilon: 0.05 });
  });
});
