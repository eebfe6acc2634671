import * as tf from '@tensorflow/tfjs';
import type { Classifier } from './classifier.js';
import type { TrainData } from './train.js';

/** Top-1 accuracy of a classifier over all items of `data`, in batches. */
export function evaluateAccuracy(
  model: Classifier,
  data: TrainData,
  batchSize = 250,
  onProgress?: (done: number, total: number) => void,
): number {
  let correct = 0;
  for (let start = 0; start < data.size; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.size - start) }, (_, i) => start + i);
    correct += tf.tidy(() => {
      const { x, y } = data.batch(idx);
      return tf.sum(tf.equal(tf.argMax(model.logits(x), 1), y)).dataSync()[0]!;
    });
    onProgress?.(start + idx.length, data.size);
  }
  return correct / data.size;
}
