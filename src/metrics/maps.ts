/**
 * Distances between attribution maps (spec §5 / paper §5): L1 and L2 normalised by the number of
 * map pixels, and IoU of the top-k% pixels of each map. Plain arrays: metrics run anywhere.
 */

function checkSameSize(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`maps differ in size: ${a.length} vs ${b.length} pixels`);
  if (a.length === 0) throw new Error('maps are empty');
}

/** mean |a − b| over pixels */
export function mapL1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameSize(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** ‖a − b‖₂ / number of pixels (the paper's normalisation of L2 by map size) */
export function mapL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameSize(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s) / a.length;
}

/** indices of the top ⌈k·n⌉ pixels (ties broken by index, so the result is deterministic) */
function topIndices(m: ArrayLike<number>, fraction: number): Set<number> {
  const n = m.length;
  const count = Math.max(1, Math.min(n, Math.round(fraction * n)));
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j]! - m[i]! || i - j);
  return new Set(order.slice(0, count));
}

/** IoU of the top-k fraction of pixels of a and of b (k in (0,1]) */
export function mapIoU(a: ArrayLike<number>, b: ArrayLike<number>, fraction: number): number {
  checkSameSize(a, b);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`IoU fraction must be in (0,1], got ${fraction}`);
  const ta = topIndices(a, fraction);
  const tb = topIndices(b, fraction);
  let inter = 0;
  for (const i of ta) if (tb.has(i)) inter++;
  return inter / (ta.size + tb.size - inter);
}

export const DEFAULT_IOU_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** mean IoU over the fractions k = 10%…90% (the paper's summary) and the value at 50% */
export function mapIoUSummary(a: ArrayLike<number>, b: ArrayLike<number>, fractions = DEFAULT_IOU_FRACTIONS): { mean: number; at50: number } {
  const values = fractions.map((k) => mapIoU(a, b, k));
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, at50: mapIoU(a, b, 0.5) };
}

export interface MapComparison { l1: number; l2: number; iou: number; iou50: number }

export function compareMaps(a: ArrayLike<number>, b: ArrayLike<number>): MapComparison {
  const { mean, at50 } = mapIoUSummary(a, b);
  return { l1: mapL1(a, b), l2: mapL2(a, b), iou: mean, iou50: at50 };
}
