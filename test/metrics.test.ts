import { describe, expect, it } from 'vitest';
import { compareMaps, mapIoU, mapIoUSummary, mapL1, mapL2 } from '../src/metrics/maps.js';
import { attackSuccessRate, l2Distance, linfDistance, misclassificationConfidence } from '../src/metrics/attack.js';

describe('map distances', () => {
  it('L1 and L2 on hand-made maps', () => {
    const a = [0, 0, 1, 1];
    const b = [0, 1, 1, 0];
    expect(mapL1(a, b)).toBeCloseTo(0.5, 12);
    expect(mapL2(a, b)).toBeCloseTo(Math.sqrt(2) / 4, 12);
    expect(mapL1(a, a)).toBe(0);
  });

  it('IoU of top-k pixels', () => {
    // top 50% of a = {2,3}; of b = {1,2} → intersection 1, union 3
    expect(mapIoU([0, 0.1, 0.9, 1], [0, 1, 0.9, 0.2], 0.5)).toBeCloseTo(1 / 3, 12);
    expect(mapIoU([0, 0.1, 0.9, 1], [0, 0.1, 0.9, 1], 0.5)).toBe(1);
    // top 25% are single pixels: disjoint
    expect(mapIoU([0, 0, 0, 1], [1, 0, 0, 0], 0.25)).toBe(0);
  });

  it('IoU summary averages k = 10..90% and reports 50%', () => {
    const m = Array.from({ length: 100 }, (_, i) => i / 100);
    const s = mapIoUSummary(m, m);
    expect(s.mean).toBe(1);
    expect(s.at50).toBe(1);
    const rev = [...m].reverse();
    // top 50% of m is 50..99, of rev is 0..49: disjoint
    expect(mapIoUSummary(m, rev).at50).toBe(0);
    expect(compareMaps(m, rev).l1).toBeCloseTo(0.5, 2);
  });

  it('rejects mismatched or empty maps', () => {
    expect(() => mapL1([1], [1, 2])).toThrow(/differ in size/);
    expect(() => mapL2([], [])).toThrow(/empty/);
    expect(() => mapIoU([1], [1], 0)).toThrow(/fraction/);
  });
});

describe('attack measures', () => {
  it('ASR and MC', () => {
    const o = [{ success: true, confidence: 0.9 }, { success: false, confidence: 0.2 }, { success: true, confidence: 0.7 }, { success: false, confidence: 0.1 }];
    expect(attackSuccessRate(o)).toBe(0.5);
    expect(misclassificationConfidence(o)).toBeCloseTo(0.8, 12);
    expect(Number.isNaN(misclassificationConfidence([{ success: false, confidence: 1 }]))).toBe(true);
  });

  it('perturbation norms', () => {
    expect(linfDistance([0, 0.5, 1], [0.1, 0.5, 0.7])).toBeCloseTo(0.3, 12);
    expect(l2Distance([0, 0], [3, 4])).toBe(5);
  });
});
