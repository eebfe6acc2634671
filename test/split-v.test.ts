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

describe('adv2 Concat kernel (wasm) and copyRuns', () => {
  it.each([
    [[[2, 5, 6, 3], [2, 5, 6, 4], [2, 5, 6, 1]], 3],
    [[[2, 3, 4], [2, 1, 4]], 1],
    [[[3, 70], [3, 2]], -1],
    [[[1, 2], [4, 2]], 0],
  ] as const)('shapes %j on axis %i match the cpu backend, for float32 and int32', async (shapes, axis) => {
    const make = (dtype: 'float32' | 'int32'): tf.Tensor[] => shapes.map((s, i) =>
      dtype === 'float32' ? tf.randomUniform(s as unknown as number[], -1, 1, 'float32', 10 + i) : tf.randomUniform(s as unknown as number[], 0, 100, 'int32', 10 + i));
    for (const dtype of ['float32', 'int32'] as const) {
      await useBackend('cpu');
      const ref = tf.tidy(() => Array.from(tf.concat(make(dtype), axis).dataSync()));
      await useBackend('wasm');
      const pieces = make(dtype);
      const got = tf.concat(pieces, axis);
      expect(got.dtype).toBe(dtype);
      expect(Array.from(got.dataSync())).toEqual(ref);
      await expectNoLeak(() => tf.tidy(() => { tf.concat(pieces, axis).dataSync(); }));
      tf.dispose([...pieces, got]);
    }
  });

  it('copyRuns copies strided runs between separate arrays and within one buffer', async () => {
    const { copyRuns } = await import('../src/engine/kernels/io.js');
    for (const len of [3, 80]) {
      const src = Float32Array.from({ length: 4 * 100 }, (_, i) => i);
      const dst = new Float32Array(4 * 90);
      copyRuns(src, 5, 100, dst, 2, 90, 4, len);
      for (let r = 0; r < 4; r++) {
        for (let e = 0; e < len; e++) expect(dst[2 + r * 90 + e]).toBe(5 + r * 100 + e);
        expect(dst[2 + r * 90 + len]).toBe(0);
      }
      // two views of one buffer (as on the wasm heap)
      const heap = new Float32Array(1000);
      heap.set(src.subarray(0, 400), 0);
      const a = new Float32Array(heap.buffer, 0, 400);
      const b = new Float32Array(heap.buffer, 500 * 4, 360);
      copyRuns(a, 5, 100, b, 2, 90, 4, len);
      expect(Array.from(b)).toEqual(Array.from(dst));
    }
  });
});
