/**
 * Node adapter: Fashion-MNIST from IDX files on disk (default: the Debian package
 * dataset-fashion-mnist in /usr/share/datasets/fashion-mnist), and its placed-object variant.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../../data/dataset.js';
import {
  FASHION_MNIST_DEFAULT_DIR,
  FASHION_MNIST_FILES,
  FASHION_MNIST_INSTALL_HINT,
  PLACED_SEEDS,
  fashionMnistFromIdx,
  type Split,
} from '../../data/fashion-mnist.js';
import { makePlacedDataset, placedBatches, type PlacedOptions } from '../../data/placed.js';
import { readIdxFile } from './idx-file.js';

export class DatasetNotFoundError extends Error {
  override name = 'DatasetNotFoundError';
}

function checkSplit(split: string): asserts split is Split {
  if (split !== 'train' && split !== 'test') throw new Error(`unknown Fashion-MNIST split '${split}' (train or test)`);
}

/** Path of `<dir>/<base>.gz` or `<dir>/<base>`, or null. */
function findFile(dir: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Paths of the images and labels files of `split` in `dir` (default: the Debian location).
 * Throws DatasetNotFoundError with installation instructions when they are missing.
 */
export function fashionMnistFiles(split: Split, dir?: string): { images: string; labels: string; dir: string } {
  checkSplit(split);
  const d = dir ?? FASHION_MNIST_DEFAULT_DIR;
  if (!existsSync(d) || !statSync(d).isDirectory()) {
    throw new DatasetNotFoundError(`Fashion-MNIST not found: no directory ${d}; ${FASHION_MNIST_INSTALL_HINT}`);
  }
  const names = FASHION_MNIST_FILES[split];
  const images = findFile(d, names.images);
  const labels = findFile(d, names.labels);
  const missing = [images === null ? names.images : null, labels === null ? names.labels : null].filter((m) => m !== null);
  if (missing.length > 0) {
    throw new DatasetNotFoundError(`Fashion-MNIST not found: ${d} has no ${missing.map((m) => `${m}[.gz]`).join(' or ')}; ${FASHION_MNIST_INSTALL_HINT}`);
  }
  return { images: images!, labels: labels!, dir: d };
}

/** Load a Fashion-MNIST split: uint8 images [N, 28, 28, 1], uint8 labels. `dir` defaults to the Debian path. */
export function loadFashionMnist(split: Split, dir?: string): Dataset {
  const files = fashionMnistFiles(split, dir);
  return fashionMnistFromIdx(split, readIdxFile(files.images), readIdxFile(files.labels));
}

export interface PlacedFashionMnistOptions extends Partial<PlacedOptions> {
  /** directory with the IDX files (default: the Debian path) */
  dir?: string;
}

/**
 * The full placed-object variant of a split (train 60k / test 10k, canvas 56 by default), generated
 * in memory with the split's standard seed (PLACED_SEEDS) unless `seed` is given.
 */
export function loadPlacedFashionMnist(split: Split, opts: PlacedFashionMnistOptions = {}): Dataset {
  const { dir, ...placed } = opts;
  const source = loadFashionMnist(split, dir);
  return makePlacedDataset(source, { ...placed, seed: placed.seed ?? PLACED_SEEDS[split] });
}

/**
 * Iterate the placed variant of a split in batches generated on the fly (for training): yields
 * datasets of up to `batchSize` items following `order` (default 0..N-1). Same generator and
 * default seeds as loadPlacedFashionMnist.
 */
export function* placedFashionMnistBatches(
  split: Split,
  batchSize: number,
  opts: PlacedFashionMnistOptions & { order?: ArrayLike<number> } = {},
): Generator<Dataset, void, undefined> {
  const { dir, order, ...placed } = opts;
  const source = loadFashionMnist(split, dir);
  yield* placedBatches(source, { ...placed, seed: placed.seed ?? PLACED_SEEDS[split] }, batchSize, order);
}
