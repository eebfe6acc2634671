/**
 * In-memory image classification dataset (browser-safe) and helpers to turn items into tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';

/**
 * Images are stored flat, item-major, in HWC order: item i occupies
 * `images[i*H*W*C ... (i+1)*H*W*C)`. Uint8Array images hold 0..255; Float32Array images hold [0, 1].
 */
export interface Dataset {
  name: string;
  images: Float32Array | Uint8Array;
  labels: Int32Array | Uint8Array;
  /**
   * Optional object boxes, 4 numbers per item: x0, y0, x1, y1 in pixels, half-open
   * (the object's pixels satisfy x0 ≤ x < x1 and y0 ≤ y < y1).
   */
  boxes?: Int16Array | number[];
  /** [H, W, C] of one item */
  shape: [number, number, number];
  classNames: readonly string[];
  /** index of each item in the dataset it was derived from (fixtures, subsets) */
  sourceIndices?: Int32Array;
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** Number of items. */
export function datasetSize(ds: Dataset): number {
  return ds.labels.length;
}

/** Pixels per item (H*W*C). */
export function itemSize(ds: Dataset): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** Check the array lengths agree with the shape and the labels with the class names; throws DatasetError. */
export function validateDataset(ds: Dataset): void {
  const n = datasetSize(ds);
  const per = itemSize(ds);
  if (ds.images.length !== n * per) {
    throw new DatasetError(
      `dataset ${ds.name}: ${ds.images.length} image values for ${n} items of shape ${ds.shape.join('x')} (expected ${n * per})`,
    );
  }
  if (ds.boxes !== undefined && ds.boxes.length !== 4 * n) {
    throw new DatasetError(`dataset ${ds.name}: ${ds.boxes.length} box values for ${n} items (expected ${4 * n})`);
  }
  if (ds.sourceIndices !== undefined && ds.sourceIndices.length !== n) {
    throw new DatasetError(`dataset ${ds.name}: ${ds.sourceIndices.length} source indices for ${n} items`);
  }
  const k = ds.classNames.length;
  for (let i = 0; i < n; i++) {
    const y = ds.labels[i]!;
    if (!(y >= 0 && y < k)) throw new DatasetError(`dataset ${ds.name}: label ${y} of item ${i} is outside 0..${k - 1}`);
  }
}

function checkIndex(ds: Dataset, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= datasetSize(ds)) {
    throw new DatasetError(`dataset ${ds.name}: item index ${i} out of range 0..${datasetSize(ds) - 1}`);
  }
}

/** One item as float [0, 1] HWC values (a copy). */
export function imageAt(ds: Dataset, i: number): Float32Array {
  checkIndex(ds, i);
  const per = itemSize(ds);
  const out = new Float32Array(per);
  writeItem(ds, i, out, 0);
  return out;
}

/** The box of item i as [x0, y0, x1, y1], or undefined when the dataset has no boxes. */
export function boxAt(ds: Dataset, i: number): [number, number, number, number] | undefined {
  checkIndex(ds, i);
  if (ds.boxes === undefined) return undefined;
  const b = ds.boxes;
  return [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
}

function writeItem(ds: Dataset, i: number, out: Float32Array, offset: number): void {
  const per = itemSize(ds);
  const src = ds.images;
  const base = i * per;
  if (src instanceof Uint8Array) {
    for (let p = 0; p < per; p++) out[offset + p] = src[base + p]! / 255;
  } else {
    out.set(src.subarray(base, base + per), offset);
  }
}

/**
 * Items `indices` as tensors: x float32 [B, H, W, C] in [0, 1], y int32 [B].
 * The caller owns (and must dispose) both tensors.
 */
export function batchTensor(ds: Dataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const per = itemSize(ds);
  const b = indices.length;
  const xs = new Float32Array(b * per);
  const ys = new Int32Array(b);
  for (let k = 0; k < b; k++) {
    const i = indices[k]!;
    checkIndex(ds, i);
    writeItem(ds, i, xs, k * per);
    ys[k] = ds.labels[i]!;
  }
  const [h, w, c] = ds.shape;
  return { x: tf.tensor4d(xs, [b, h, w, c], 'float32'), y: tf.tensor1d(ys, 'int32') };
}

/** Boxes of items `indices` as a flat Int16Array (4 per item); throws if the dataset has none. */
export function batchBoxes(ds: Dataset, indices: ArrayLike<number>): Int16Array {
  if (ds.boxes === undefined) throw new DatasetError(`dataset ${ds.name} has no boxes`);
  const out = new Int16Array(4 * indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    checkIndex(ds, i);
    for (let j = 0; j < 4; j++) out[4 * k + j] = ds.boxes[4 * i + j]!;
  }
  return out;
}

/** A new dataset holding copies of items `indices` (in that order); sourceIndices map back to `ds`. */
export function subsetDataset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const per = itemSize(ds);
  const n = indices.length;
  const images = ds.images instanceof Uint8Array ? new Uint8Array(n * per) : new Float32Array(n * per);
  const labels = ds.labels instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  const boxes = ds.boxes !== undefined ? new Int16Array(4 * n) : undefined;
  const sourceIndices = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    checkIndex(ds, i);
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i]!;
    if (boxes !== undefined) for (let j = 0; j < 4; j++) boxes[4 * k + j] = ds.boxes![4 * i + j]!;
    sourceIndices[k] = ds.sourceIndices !== undefined ? ds.sourceIndices[i]! : i;
  }
  const out: Dataset = { name, images, labels, shape: [...ds.shape], classNames: ds.classNames, sourceIndices };
  if (boxes !== undefined) out.boxes = boxes;
  return out;
}

/** Items per class (length = number of classes). */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (let i = 0; i < ds.labels.length; i++) counts[ds.labels[i]!]!++;
  return counts;
}

/**
 * `perClass` random item indices of every class (classes with fewer items throw), returned sorted
 * ascending. Deterministic for a given rng state.
 */
export function balancedIndices(labels: ArrayLike<number>, numClasses: number, perClass: number, rng: Rng): Int32Array {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y >= 0 && y < numClasses) byClass[y]!.push(i);
  }
  const chosen: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const items = byClass[c]!;
    if (items.length < perClass) throw new DatasetError(`class ${c} has ${items.length} items, fewer than the ${perClass} requested`);
    rng.shuffle(items);
    chosen.push(...items.slice(0, perClass));
  }
  return Int32Array.from(chosen.sort((a, b) => a - b));
}
