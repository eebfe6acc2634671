/**
 * Small seeded pseudo-random number generator (sfc32 seeded through the cyrb128 string hash).
 *
 * Deterministic across platforms and JS engines: only 32-bit integer arithmetic (`Math.imul`,
 * shifts, xor) is used for `uint32`, `next`, `int`, `uniform`, `shuffle` and `fork`.
 * `normal()` additionally uses `Math.log`/`Math.cos`/`Math.sqrt`, which are deterministic per engine
 * (V8's fdlibm port) but not guaranteed bit-identical between different JS engines.
 */

export type Seed = number | string;

/** cyrb128: 128-bit string hash, returned as four uint32 words. */
export function hashString(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

function seedKey(seed: Seed): string {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number or a string, got ${seed}`);
    return String(seed);
  }
  if (typeof seed !== 'string') throw new TypeError(`rng seed must be a number or a string, got ${typeof seed}`);
  return seed;
}

const TWO_POW_32 = 4294967296;

export class Rng {
  /** canonical seed text; forks extend it with `/label` */
  readonly key: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Seed) {
    this.key = seedKey(seed);
    const [a, b, c, d] = hashString(this.key);
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    for (let i = 0; i < 12; i++) this.uint32(); // mix the hashed state
  }

  /** next 32-bit unsigned integer (sfc32 step) */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** uniform float in [0, 1) with 32-bit resolution */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** uniform integer in [0, n) (unbiased, by rejection); n a positive integer ≤ 2^32 */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.uint32();
    while (u >= limit) u = this.uint32();
    return u % n;
  }

  /** uniform integer in [lo, hi] (both inclusive) */
  intRange(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`rng.intRange: empty range [${lo}, ${hi}]`);
    return lo + this.int(hi - lo + 1);
  }

  /** uniform float in [lo, hi) */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** true with probability p */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** normal deviate (Box–Muller; consumes two uniforms per call) */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.next(); // (0, 1]
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** uniformly chosen element of a non-empty array */
  pick<T>(items: ArrayLike<T>): T {
    if (items.length === 0) throw new RangeError('rng.pick: empty array');
    return items[this.int(items.length)]!;
  }

  /** Fisher–Yates shuffle in place; returns the same array */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** [0, 1, ..., n-1] in random order */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * Independent stream named `label`. It depends only on this generator's seed and the label,
   * not on how many numbers were drawn before, and does not advance this generator.
   */
  fork(label: string | number): Rng {
    return new Rng(`${this.key}/${label}`);
  }
}

/** Shorthand for `new Rng(seed)`. */
export function rng(seed: Seed): Rng {
  return new Rng(seed);
}
