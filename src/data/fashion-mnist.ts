/**
 * Fashion-MNIST constants and assembly of a Dataset from parsed IDX arrays (browser-safe).
 * Reading the files from disk lives in src/io/node/fashion-mnist.ts.
 */
import type { Dataset } from './dataset.js';
import { DatasetError } from './dataset.js';
import type { IdxArray } from './idx.js';

export type Split = 'train' | 'test';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Where the Debian/Ubuntu package dataset-fashion-mnist installs the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** File base names; each may be stored gzipped (`.gz`) or raw. */
export const FASHION_MNIST_FILES: Readonly<Record<Split, { images: string; labels: string }>> = Object.freeze({
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
});

export const FASHION_MNIST_INSTALL_HINT =
  'install it with `sudo apt-get install dataset-fashion-mnist` (or pass --data DIR containing the four IDX files)';

/** Seeds of the placed-object variant; the train and test generators must differ. */
export const PLACED_SEEDS: Readonly<Record<Split, string>> = Object.freeze({
  train: 'fashion-mnist-placed/train/v1',
  test: 'fashion-mnist-placed/test/v1',
});

export const FASHION_MNIST_SIZES: Readonly<Record<Split, number>> = Object.freeze({ train: 60000, test: 10000 });

/** Build the Dataset from the parsed images [N, 28, 28] and labels [N] IDX arrays, validating them. */
export function fashionMnistFromIdx(split: Split, images: IdxArray, labels: IdxArray): Dataset {
  const what = `Fashion-MNIST ${split}`;
  if (images.dims.length !== 3) {
    throw new DatasetError(`${what} images: expected 3 dimensions [N, 28, 28], got [${images.dims.join(', ')}]`);
  }
  const [n, h, w] = images.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new DatasetError(`${what} images: expected 28x28 items, got ${h}x${w}`);
  if (labels.dims.length !== 1) throw new DatasetError(`${what} labels: expected 1 dimension, got [${labels.dims.join(', ')}]`);
  if (labels.dims[0] !== n) throw new DatasetError(`${what}: ${n} images but ${labels.dims[0]} labels`);
  for (let i = 0; i < n; i++) {
    if (labels.data[i]! > 9) throw new DatasetError(`${what} labels: label ${labels.data[i]} of item ${i} is outside 0..9`);
  }
  return {
    name: `fashion-mnist-${split}`,
    images: images.data,
    labels: labels.data,
    shape: [h, w, 1],
    classNames: FASHION_MNIST_CLASSES,
  };
}
