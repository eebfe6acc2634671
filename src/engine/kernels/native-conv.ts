/**
 * Optional native convolutions for the wasm backend in Node: adv2's N-API addon
 * (native/adv2_native.cc) runs Conv2D, its input gradient and its filter gradient on the tensors'
 * own memory in the wasm heap (zero copy), through oneDNN primitives (the CPU library PyTorch
 * uses: JIT kernels for the CPU's widest SIMD) or, without oneDNN, im2col/col2im + OpenBLAS SGEMM.
 * tfjs-wasm's XNNPACK Conv2D is 128-bit SIMD without FMA, and convolutions are most of every
 * forward and backward pass.
 *
 * This file is platform-neutral: the Node-only loader (../node/native.ts) hands the addon in
 * through `setNativeConv`. Without an addon nothing here is registered.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO } from './io.js';

/** The addon's interface (native/adv2_native.cc). Geometry: Int32Array(15), see `convGeometry`. */
export interface NativeConvAddon {
  /** y[n,oh,ow,co] = conv(x[n,h,w,ci], w[kh,kw,ci,co]) */
  conv2d(geometry: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array): void;
  /** dw[kh,kw,ci,co] = filter gradient of conv(x, ·) for dy[n,oh,ow,co] */
  conv2dFilterGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  /** dx[n,h,w,ci] = input gradient of conv(·, w) for dy[n,oh,ow,co] */
  conv2dInputGrad(geometry: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  setThreads(n: number): void;
  threads(): number;
  /** libraries: "oneDNN x.y.z + OpenBLAS …" or the OpenBLAS build alone */
  config(): string;
  /** calls served so far by oneDNN primitives and by the im2col + BLAS path */
  calls(): { onednn: number; blas: number };
  /** let oneDNN serve the calls it can (default) or send all to the BLAS path; returns whether oneDNN is built in */
  useOneDnn(on: boolean): boolean;
}

let addon: NativeConvAddon | null = null;

/** The native addon in use by the wasm kernels, or null. */
export function nativeConv(): NativeConvAddon | null {
  return addon;
}

/** Hand the addon to the kernels (null: back to wasm's own); call registerAdv2Kernels() after. */
export function setNativeConv(a: NativeConvAddon | null): void {
  addon = a;
}

/** The addon's geometry vector for an NHWC conv, from tfjs's Conv2DInfo. */
export function convGeometry(c: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.padInfo.top, c.padInfo.left,
    c.dilationHeight, c.dilationWidth,
  ]);
}

/** Native filter gradient on wasm tensors (NHWC); null if no addon or not on wasm. */
export function nativeFilterGrad(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[]): tf.TensorInfo | null {
  if (addon === null || io.wasm === null) return null;
  const dw = io.alloc(filterShape);
  // views after the last allocation: the heap may have moved
  addon.conv2dFilterGrad(convGeometry(info), io.f32(x), io.f32(dy), io.f32(dw));
  return dw;
}

/** Native input gradient on wasm tensors (NHWC); null if no addon or not on wasm. */
export function nativeInputGrad(io: KernelIO, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo | null {
  if (addon === null || io.wasm === null) return null;
  const dx = io.alloc(info.inShape);
  addon.conv2dInputGrad(convGeometry(info), io.f32(dy), io.f32(filter), io.f32(dx));
  return dx;
}

/** wasm Conv2D through the addon (NHWC float32); anything else goes to the stock kernel. */
export function makeNativeConv2DKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  if (stock === undefined) throw new Error(`adv2 native Conv2D: no stock Conv2D on '${backendName}' to fall back to`);
  return {
    kernelName: tf.Conv2D,
    backendName,
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const at = attrs as unknown as tf.Conv2DAttrs;
      if (addon === null || at.dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) {
        return stock.kernelFunc(args);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
        at.strides, at.dilations, at.pad, at.dimRoundingMode, false, 'channelsLast');
      const io = new KernelIO(backend, backendName);
      if (io.wasm === null) return stock.kernelFunc(args);
      const y = io.alloc(info.outShape);
      if (info.outShape.some((d) => d === 0)) return y;
      addon.conv2d(convGeometry(info), io.f32(x), io.f32(filter), io.f32(y));
      return y;
    },
  };
}
