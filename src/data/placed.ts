/**
 * Placed-object variant of a small-image dataset (browser-safe, seeded).
 *
 * Every item is scaled by a random factor (bilinear, half-pixel centres) and pasted at a random
 * position on a larger black canvas; 1–3 weaker fragments (small crops of OTHER items, dimmed) are
 * added as clutter away from the object, composited with max(). The object's tight bounding box
 * (pixels of the scaled object above `boxThreshold`) is kept as the item's box.
 *
 * Item i of the output depends only on (seed, i, params, source): items are keyed by their index in
 * `source`, so a subset generated with `indices` equals the same items of the full generated set.
 */
import type { Dataset } from './dataset.js';
import { DatasetError, datasetSize, itemSize } from './dataset.js';
import { Rng, type Seed } from '../util/rng.js';

export interface PlacedOptions {
  seed: Seed;
  /** canvas side in pixels (square canvas); default 56 */
  canvas?: number;
  /** [min, max) scale factor of the object; default [0.75, 1.5] (28 px → 21..42 px) */
  scale?: readonly [number, number];
  /** number of clutter fragments, inclusive range; default [1, 3] */
  fragments?: readonly [number, number];
  /** fragment side in source pixels, inclusive range (width and height drawn separately); default [6, 10] */
  fragmentSize?: readonly [number, number];
  /** fragment intensity multiplier, [min, max); default [0.3, 0.6] */
  fragmentIntensity?: readonly [number, number];
  /** largest accepted fraction of a fragment's area inside the object's box; default 0.2 */
  maxFragmentOverlap?: number;
  /** a scaled object pixel above this value belongs to the box; default 0.1 */
  boxThreshold?: number;
}

export type PlacedParams = Required<PlacedOptions> & { version: number };

/** Bumped whenever the generator's output changes for the same parameters. */
export const PLACED_VERSION = 1;

export const PLACED_DEFAULTS = Object.freeze({
  canvas: 56,
  scale: [0.75, 1.5] as const,
  fragments: [1, 3] as const,
  fragmentSize: [6, 10] as const,
  fragmentIntensity: [0.3, 0.6] as const,
  maxFragmentOverlap: 0.2,
  boxThreshold: 0.1,
});

export type Box = [number, number, number, number];

export interface FragmentInfo {
  /** source item the crop comes from */
  sourceIndex: number;
  /** crop rectangle in the source item: x, y, width, height */
  crop: [number, number, number, number];
  /** top-left corner on the canvas */
  at: [number, number];
  intensity: number;
  /** fraction of the fragment's area inside the object's box */
  overlap: number;
}

export interface PlacedRender {
  /** composited canvas, float [0, 1], HWC */
  image: Float32Array;
  /** the scaled object alone on the canvas */
  object: Float32Array;
  /** tight box of the object, half-open [x0, y0, x1, y1] */
  box: Box;
  scale: number;
  /** scaled object size [height, width] and top-left position [x, y] */
  size: [number, number];
  offset: [number, number];
  fragments: FragmentInfo[];
}

function range(name: string, r: readonly [number, number], min: number, integer: boolean): [number, number] {
  const [lo, hi] = r;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= min && hi >= lo) || (integer && !(Number.isInteger(lo) && Number.isInteger(hi)))) {
    throw new DatasetError(`placed variant: invalid ${name} range [${lo}, ${hi}]`);
  }
  return [lo, hi];
}

/** Fill in defaults and validate. */
export function resolvePlacedParams(opts: PlacedOptions): PlacedParams {
  const canvas = opts.canvas ?? PLACED_DEFAULTS.canvas;
  if (!Number.isInteger(canvas) || canvas < 1) throw new DatasetError(`placed variant: invalid canvas size ${canvas}`);
  const overlap = opts.maxFragmentOverlap ?? PLACED_DEFAULTS.maxFragmentOverlap;
  if (!(overlap >= 0 && overlap <= 1)) throw new DatasetError(`placed variant: maxFragmentOverlap must be in [0, 1], got ${overlap}`);
  const threshold = opts.boxThreshold ?? PLACED_DEFAULTS.boxThreshold;
  if (!(threshold >= 0 && threshold < 1)) throw new DatasetError(`placed variant: boxThreshold must be in [0, 1), got ${threshold}`);
  return {
    version: PLACED_VERSION,
    seed: opts.seed,
    canvas,
    scale: range('scale', opts.scale ?? PLACED_DEFAULTS.scale, Number.MIN_VALUE, false),
    fragments: range('fragments', opts.fragments ?? PLACED_DEFAULTS.fragments, 0, true),
    fragmentSize: range('fragmentSize', opts.fragmentSize ?? PLACED_DEFAULTS.fragmentSize, 1, true),
    fragmentIntensity: range('fragmentIntensity', opts.fragmentIntensity ?? PLACED_DEFAULTS.fragmentIntensity, 0, false),
    maxFragmentOverlap: overlap,
    boxThreshold: threshold,
  };
}

function checkFits(source: Dataset, p: PlacedParams): void {
  const [h, w] = source.shape;
  const maxH = Math.round(h * p.scale[1]);
  const maxW = Math.round(w * p.scale[1]);
  if (maxH > p.canvas || maxW > p.canvas) {
    throw new DatasetError(`placed variant: canvas ${p.canvas} is smaller than the largest scaled item (${maxW}x${maxH} px)`);
  }
  if (p.fragmentSize[1] > Math.min(h, w)) {
    throw new DatasetError(`placed variant: fragment size ${p.fragmentSize[1]} exceeds the item size ${w}x${h}`);
  }
}

const intersect = (ax: number, ay: number, aw: number, ah: number, b: Box): number =>
  Math.max(0, Math.min(ax + aw, b[2]) - Math.max(ax, b[0])) * Math.max(0, Math.min(ay + ah, b[3]) - Math.max(ay, b[1]));

/**
 * Render item `index` of `source` on the canvas. Deterministic in (params.seed, index).
 * Pass resolved params (resolvePlacedParams) when rendering many items.
 */
export function renderPlacedItem(source: Dataset, index: number, opts: PlacedOptions | PlacedParams, base?: Rng): PlacedRender {
  const p = 'version' in opts ? opts : resolvePlacedParams(opts);
  checkFits(source, p);
  const n = datasetSize(source);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new DatasetError(`placed variant: item index ${index} out of range 0..${n - 1}`);
  }
  const rng = (base ?? new Rng(p.seed)).fork(index);
  const [h, w, c] = source.shape;
  const per = itemSize(source);
  const src = source.images;
  const norm = src instanceof Uint8Array ? 1 / 255 : 1;
  const S = p.canvas;
  const object = new Float32Array(S * S * c);

  // 1. scale and paste the object
  const scale = rng.uniform(p.scale[0], p.scale[1]);
  const sh = Math.max(1, Math.round(h * scale));
  const sw = Math.max(1, Math.round(w * scale));
  const ox = rng.int(S - sw + 1);
  const oy = rng.int(S - sh + 1);
  const sbase = index * per;
  for (let y = 0; y < sh; y++) {
    const fy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / sh - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < sw; x++) {
      const fx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / sw - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fx - x0;
      for (let ch = 0; ch < c; ch++) {
        const v00 = src[sbase + (y0 * w + x0) * c + ch]!;
        const v01 = src[sbase + (y0 * w + x1) * c + ch]!;
        const v10 = src[sbase + (y1 * w + x0) * c + ch]!;
        const v11 = src[sbase + (y1 * w + x1) * c + ch]!;
        const top = v00 + (v01 - v00) * tx;
        const bot = v10 + (v11 - v10) * tx;
        const v = (top + (bot - top) * ty) * norm;
        object[((oy + y) * S + (ox + x)) * c + ch] = Math.min(1, Math.max(0, v));
      }
    }
  }

  // 2. tight box of the object
  let bx0 = S;
  let by0 = S;
  let bx1 = 0;
  let by1 = 0;
  for (let y = oy; y < oy + sh; y++) {
    for (let x = ox; x < ox + sw; x++) {
      let m = 0;
      for (let ch = 0; ch < c; ch++) m = Math.max(m, object[(y * S + x) * c + ch]!);
      if (m > p.boxThreshold) {
        if (x < bx0) bx0 = x;
        if (x >= bx1) bx1 = x + 1;
        if (y < by0) by0 = y;
        if (y >= by1) by1 = y + 1;
      }
    }
  }
  const box: Box = bx1 > bx0 ? [bx0, by0, bx1, by1] : [ox, oy, ox + sw, oy + sh];

  // 3. clutter: dimmed crops of other items, placed mostly outside the box
  const image = object.slice();
  const fragments: FragmentInfo[] = [];
  const count = n > 1 ? rng.intRange(p.fragments[0], p.fragments[1]) : 0;
  for (let f = 0; f < count; f++) {
    let j = rng.int(n - 1);
    if (j >= index) j++;
    const fw = rng.intRange(p.fragmentSize[0], p.fragmentSize[1]);
    const fh = rng.intRange(p.fragmentSize[0], p.fragmentSize[1]);
    // a crop with some content: up to 10 tries, keep the fullest
    let best: [number, number] = [0, 0];
    let bestFill = -1;
    for (let t = 0; t < 10; t++) {
      const cx = rng.int(w - fw + 1);
      const cy = rng.int(h - fh + 1);
      let on = 0;
      for (let y = cy; y < cy + fh; y++) {
        for (let x = cx; x < cx + fw; x++) {
          let m = 0;
          for (let ch = 0; ch < c; ch++) m = Math.max(m, src[j * per + (y * w + x) * c + ch]! * norm);
          if (m > 0.2) on++;
        }
      }
      const fill = on / (fw * fh);
      if (fill > bestFill) {
        bestFill = fill;
        best = [cx, cy];
      }
      if (fill >= 0.4) break;
    }
    const intensity = rng.uniform(p.fragmentIntensity[0], p.fragmentIntensity[1]);
    // a position overlapping the object's box little: up to 30 tries, keep the least overlapping
    let at: [number, number] = [0, 0];
    let bestOverlap = Infinity;
    for (let t = 0; t < 30; t++) {
      const px = rng.int(S - fw + 1);
      const py = rng.int(S - fh + 1);
      const ov = intersect(px, py, fw, fh, box) / (fw * fh);
      if (ov < bestOverlap) {
        bestOverlap = ov;
        at = [px, py];
      }
      if (ov <= p.maxFragmentOverlap) break;
    }
    const [cx, cy] = best;
    for (let y = 0; y < fh; y++) {
      for (let x = 0; x < fw; x++) {
        for (let ch = 0; ch < c; ch++) {
          const v = src[j * per + ((cy + y) * w + (cx + x)) * c + ch]! * norm * intensity;
          const o = ((at[1] + y) * S + (at[0] + x)) * c + ch;
          if (v > image[o]!) image[o] = v;
        }
      }
    }
    fragments.push({ sourceIndex: j, crop: [cx, cy, fw, fh], at, intensity, overlap: bestOverlap });
  }
  return { image, object, box, scale, size: [sh, sw], offset: [ox, oy], fragments };
}

export interface MakePlacedOptions extends PlacedOptions {
  /** items of `source` to generate (default: all), in this order */
  indices?: ArrayLike<number>;
  /** dataset name; default `${source.name}-placed` */
  name?: string;
}

/**
 * The placed variant of `source` (or of its items `indices`): uint8 images [N, canvas, canvas, C],
 * the source labels, boxes and sourceIndices.
 */
export function makePlacedDataset(source: Dataset, opts: MakePlacedOptions): Dataset {
  const p = resolvePlacedParams(opts);
  checkFits(source, p);
  const base = new Rng(p.seed);
  const total = datasetSize(source);
  const indices = opts.indices ?? Int32Array.from({ length: total }, (_, i) => i);
  const n = indices.length;
  const c = source.shape[2];
  const per = p.canvas * p.canvas * c;
  const images = new Uint8Array(n * per);
  const labels = source.labels instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  const boxes = new Int16Array(4 * n);
  const sourceIndices = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const r = renderPlacedItem(source, i, p, base);
    const img = r.image;
    for (let q = 0; q < per; q++) images[k * per + q] = Math.round(Math.min(1, Math.max(0, img[q]!)) * 255);
    labels[k] = source.labels[i]!;
    boxes.set(r.box, 4 * k);
    sourceIndices[k] = source.sourceIndices !== undefined ? source.sourceIndices[i]! : i;
  }
  return {
    name: opts.name ?? `${source.name}-placed`,
    images,
    labels,
    boxes,
    shape: [p.canvas, p.canvas, c],
    classNames: source.classNames,
    sourceIndices,
  };
}

/**
 * Generate the placed variant batch by batch (for training on the fly): yields datasets of up to
 * `batchSize` items, following `order` (default 0..N-1; pass a shuffled permutation per epoch).
 * Pass a different seed per epoch for fresh placements.
 */
export function* placedBatches(
  source: Dataset,
  opts: PlacedOptions,
  batchSize: number,
  order?: ArrayLike<number>,
): Generator<Dataset, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DatasetError(`placed variant: invalid batch size ${batchSize}`);
  const p = resolvePlacedParams(opts);
  const ord = order ?? Int32Array.from({ length: datasetSize(source) }, (_, i) => i);
  for (let start = 0; start < ord.length; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ord.length - start) }, (_, k) => ord[start + k]!);
    yield makePlacedDataset(source, { ...p, indices: idx });
  }
}
