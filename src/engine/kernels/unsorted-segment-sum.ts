/**
 * UnsortedSegmentSum: out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] = s.
 * Ids outside [0, numSegments) are dropped (TensorFlow semantics). One pass over x.
 * (wasm has no such kernel, so the gradient of tf.gather fails there; the cpu one makes
 * numSegments full passes.)
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO, sizeOf } from './io.js';

export function makeUnsortedSegmentSumKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      const dtypeOk = (x.dtype === 'float32' || x.dtype === 'int32') && segmentIds.dtype === 'int32';
      const r = segmentIds.shape.length;
      const prefixOk = segmentIds.shape.every((d, i) => x.shape[i] === d);
      if (!dtypeOk || !prefixOk) {
        if (stock === undefined) throw new Error(`adv2 UnsortedSegmentSum: unsupported arguments on '${backendName}'`);
        return stock.kernelFunc(args);
      }
      const io = new KernelIO(backend, backendName);
      const outShape = [numSegments, ...x.shape.slice(r)];
      const inner = sizeOf(x.shape.slice(r));
      const rows = sizeOf(segmentIds.shape);
      const out = io.alloc(outShape, x.dtype as 'float32' | 'int32', true);
      const xv = io.view(x);
      const ids = io.view(segmentIds);
      const ov = io.view(out);
      for (let i = 0; i < rows; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= numSegments) continue;
        const src = i * inner;
        const dst = s * inner;
        for (let j = 0; j < inner; j++) ov[dst + j]! += xv[src + j]!;
      }
      return out;
    },
  };
}
