import { describe, expect, it } from 'vitest';
import { Rng, hashString, rng } from '../src/util/rng.js';

describe('Rng', () => {
  it('produces the same sequence on every platform (golden values)', () => {
    const r = new Rng(42);
    expect([r.uint32(), r.uint32(), r.uint32()]).toEqual([2626566973, 1247484098, 2614520402]);
    expect(r.next()).toBe(0.5258469053078443);
    expect(r.int(1000)).toBe(658);
    const s = rng('adv2');
    expect([s.uint32(), s.uint32()]).toEqual([1579506099, 1909591208]);
    expect(hashString('adv2')).toEqual([3920580639, 430106839, 482205465, 3131162934]);
    expect(Array.from(new Rng(7).permutation(10))).toEqual([7, 3, 0, 9, 8, 4, 2, 6, 5, 1]);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = new Rng('x');
    const b = new Rng('x');
    const c = new Rng('y');
    const sa = Array.from({ length: 100 }, () => a.uint32());
    expect(Array.from({ length: 100 }, () => b.uint32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.uint32())).not.toEqual(sa);
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
  });

  it('next() is in [0, 1) with mean ≈ 0.5', () => {
    const r = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const v = r.next();
      expect(v >= 0 && v < 1).toBe(true);
      sum += v;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
  });

  it('int(n) is uniform over [0, n) and validates n', () => {
    const r = new Rng(4);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]!++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    expect(r.int(1)).toBe(0);
    for (let i = 0; i < 100; i++) {
      const v = r.intRange(-2, 2);
      expect(v >= -2 && v <= 2 && Number.isInteger(v)).toBe(true);
    }
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(2.5)).toThrow(/integer/);
  });

  it('normal() has mean ≈ 0 and std ≈ 1', () => {
    const r = new Rng(5);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      expect(Number.isFinite(v)).toBe(true);
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(s2 / n - mean * mean) - 1)).toBeLessThan(0.03);
    expect(Math.abs(new Rng(6).normal(10, 0.001) - 10)).toBeLessThan(0.01);
  });

  it('shuffle permutes in place, deterministically', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const out = new Rng(8).shuffle(a);
    expect(out).toBe(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const t = new Rng(8).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(t)).toEqual(a);
    expect(new Rng(9).shuffle([])).toEqual([]);
  });

  it('fork gives independent, reproducible streams that ignore the parent position', () => {
    const p = new Rng('parent');
    const f1 = p.fork('a');
    p.uint32();
    p.uint32();
    const f2 = p.fork('a');
    expect(f1.uint32()).toBe(f2.uint32());
    const x = Array.from({ length: 20 }, () => p.fork('x').uint32());
    expect(new Set(x).size).toBe(1);
    const ya = Array.from({ length: 20 }, (() => { const r = p.fork('a'); return () => r.uint32(); })());
    const yb = Array.from({ length: 20 }, (() => { const r = p.fork('b'); return () => r.uint32(); })());
    expect(ya).not.toEqual(yb);
    // forks don't alias the parent's own stream
    const q = new Rng('parent');
    expect(new Rng('parent').fork(0).uint32()).not.toBe(q.uint32());
    expect(p.fork(1).key).toBe('parent/1');
  });

  it('rejects invalid seeds', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/finite/);
    expect(() => new Rng(undefined as unknown as number)).toThrow(/number or a string/);
  });
});
