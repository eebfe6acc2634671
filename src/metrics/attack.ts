/** Attack-level measures: success rate, misclassification confidence, perturbation norms. */

export interface AttackOutcome { success: boolean; confidence: number }

/** fraction of successful attacks (ASR) */
export function attackSuccessRate(outcomes: readonly AttackOutcome[]): number {
  if (outcomes.length === 0) return 0;
  return outcomes.filter((o) => o.success).length / outcomes.length;
}

/** mean probability of the target class over successful attacks (MC); NaN if none succeeded */
export function misclassificationConfidence(outcomes: readonly AttackOutcome[]): number {
  const ok = outcomes.filter((o) => o.success);
  return ok.length === 0 ? Number.NaN : ok.reduce((s, o) => s + o.confidence, 0) / ok.length;
}

export function linfDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
