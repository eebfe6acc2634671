/**
 * SplitV along any axis as contiguous block copies (copyRuns). The gradient of concat is a
 * split, and DenseNet concatenates along channels (the last NHWC axis): one short run per pixel,
 * where the stock wasm kernel (strided slices) took ~36 ms per call on a 64×28×28×52 tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO, copyRuns, sizeOf } from './io.js';

/** Piece sizes from tfjs' numOrSizeSplits (a count, or sizes with at most one −1). */
export function splitSizes(dim: number, numOrSizeSplits: number | number[]): number[] {
  if (typeof numOrSizeSplits === 'number') {
    if (dim % numOrSizeSplits !== 0) throw new Error(`split: ${dim} is not divisible by ${numOrSizeSplits}`);
    return new Array<number>(numOrSizeSplits).fill(dim / numOrSizeSplits);
  }
  const known = numOrSizeSplits.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  return numOrSizeSplits.map((s) => (s === -1 ? dim - known : s));
}

export function makeSplitVKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.SplitV,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x } = inputs as { x: tf.TensorInfo };
      const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
      if (x.dtype !== 'float32' && x.dtype !== 'int32') {
        if (stock === undefined) throw new Error(`adv2 SplitV: unsupported dtype ${x.dtype}`);
        return stock.kernelFunc(args);
      }
      const ax = axis < 0 ? axis + x.shape.length : axis;
      const sizes = splitSizes(x.shape[ax]!, numOrSizeSplits);
      const io = new KernelIO(backend, backendName);
      const outer = sizeOf(x.shape.slice(0, ax));
      const inner = sizeOf(x.shape.slice(ax + 1));
      const row = x.shape[ax]! * inner;
      const outs = sizes.map((s) => io.alloc(x.shape.map((d, i) => (i === ax ? s : d)), x.dtype as 'float32' | 'int32'));
      let offset = 0;
      sizes.forEach((s, k) => {
        // views are re-taken per piece: a wasm heap view dies at the next allocation
        const src = io.view(x);
        const dst = io.view(outs[k]!);
        const len = s * inner;
        copyRuns(src, offset, row, dst, 0, len, outer, len);
        offset += len;
      });
      return outs;
    },
  };
}
