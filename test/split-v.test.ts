import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { splitSizes } from '../src/engine/kernels/split-v.js';
import { useBackend } from './helpers/backends.js';
import { expectNoLeak } from './helpers/leak.js';

describe('adv2 SplitV kernel (wasm)', () => {
  it('computes piece sizes like tfjs', () => {
    expect(splitSizes(12, 3)).toEqual([4, 4, 4]);
    expect(splitSizes(12, [2, -1, 3])).toEqual([2, 7, 3]);
    expect(() => splitSizes(10, 3)).toThrow(/divisible/);
  });

  it.each([
    [[2, 5, 6, 7], [3, 4], 3],
    [[2, 5, 6, 7], 2, 2],
    [[4, 3, 2, 9], [1, -1, 5], -1],
    [[6, 4], 3, 0],
  ] as const)('shape %j split %j on axis %i matches tf.slice, and concat gradients use it', async (shape, splits, axis) => {
    await useBackend('wasm');
    const x = tf.randomUniform(shape as unknown as number[], -1, 1, 'float32', 1);
    const ours = tf.split(x, splits as number | number[], axis);
    const stock = slicePieces(x, splits as number | number[], axis);
    ours.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(stock[i]!.dataSync())));
    // concat's gradient is a split: d/dpieces sum(concat(pieces) * w) = matching slices of w
    const w = tf.randomUniform(shape as unknown as number[], -1, 1, 'float32', 2);
    const grads = tf.grads((...p: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(p, axis), w)))(ours);
    const wPieces = tf.split(w, splits as number | number[], axis);
    grads.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(wPieces[i]!.dataSync())));
    await expectNoLeak(() => tf.tidy(() => { tf.grads((...p: tf.Tensor[]) => tf.sum(tf.concat(p, axis)))(ours); }));
    tf.dispose([x, w, ...ours, ...stock, ...grads, ...wPieces]);
  });
});

/** reference pieces from tf.slice, which does not go through SplitV */
function slicePieces(x: tf.Tensor, splits: number | number[], axis: number): tf.Tensor[] {
  const ax = axis < 0 ? axis + x.rank : axis;
  let offset = 0;
  return splitSizes(x.shape[ax]!, splits).map((s) => {
    const begin = x.shape.map((_, i) => (i === ax ? offset : 0));
    const size = x.shape.map((d, i) => (i === ax ? s : d));
    offset += s;
    return tf.slice(x, begin, size);
  });
}
