/**
 * Conv2DBackpropFilter (the filter gradient of conv2d).
 *
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*sh - top + kh, ow*sw - left + kw, ci] * dy[n, oh, ow, co]
 *
 * wasm: im2col in JS into the wasm heap, then the backend's own BatchMatMul kernel (XNNPACK),
 * in chunks of whole images so the column buffer stays bounded.
 * cpu: a direct loop ordered so that the innermost loop is a contiguous axpy over co
 * into a small accumulator (the stock kernel walks the data with TensorBuffer.get per element).
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO, alias, nchwToNhwc, type Float } from './io.js';

/** Column-buffer budget per BatchMatMul call, in floats (32 MB). */
const COLS_BUDGET = 8 * 1024 * 1024;

interface Geometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  top: number; left: number;
}

function geometry(xShape: number[], dyShape: number[], filterShape: [number, number, number, number], a: FilterArgs): Geometry | null {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const g: Geometry = {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, ci: info.inChannels,
    oh: info.outHeight, ow: info.outWidth, co: info.outChannels,
    kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left,
  };
  if (dyShape.length !== 4 || dyShape[0] !== g.n || dyShape[1] !== g.oh || dyShape[2] !== g.ow || dyShape[3] !== g.co) return null;
  return g;
}

/**
 * Transposed im2col for images [b0, b1): colsT[(kh, kw, ci), m] with m = ((b - b0)*oh + i)*ow + j,
 * zero where the window falls in the padding. colsT has K = kh*kw*ci rows of length M.
 */
function im2colT(x: Float, g: Geometry, b0: number, b1: number, colsT: Float): void {
  const { h, w, ci, oh, ow, kh, kw, sh, sw, top, left } = g;
  const M = (b1 - b0) * oh * ow;
  for (let y = 0; y < kh; y++) {
    for (let z = 0; z < kw; z++) {
      // valid output columns for this tap: 0 <= j*sw - left + z < w
      const j0 = Math.max(0, Math.ceil((left - z) / sw));
      const j1 = Math.min(ow, Math.floor((w - 1 + left - z) / sw) + 1);
      for (let c = 0; c < ci; c++) {
        const row = ((y * kw + z) * ci + c) * M;
        let m = row;
        for (let b = b0; b < b1; b++) {
          const xb = b * h;
          for (let i = 0; i < oh; i++) {
            const ih = i * sh - top + y;
            if (ih < 0 || ih >= h || j1 <= j0) {
              colsT.fill(0, m, m + ow);
              m += ow;
              continue;
            }
            const xr = ((xb + ih) * w - left + z) * ci + c;
            let j = 0;
            for (; j < j0; j++) colsT[m++] = 0;
            const step = sw * ci;
            let s = xr + j0 * step;
            for (; j < j1; j++, s += step) colsT[m++] = x[s]!;
            for (; j < ow; j++) colsT[m++] = 0;
          }
        }
      }
    }
  }
}

/** wasm: dW = sum over image chunks of colsT[K, M] @ dy[M, co] with the backend's BatchMatMul. */
function filterGradMatMul(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, g: Geometry, filterShape: number[]): tf.TensorInfo {
  const K = g.kh * g.kw * g.ci;
  const perImage = g.oh * g.ow;
  const imagesPerChunk = Math.max(1, Math.floor(COLS_BUDGET / Math.max(1, K * perImage)));
  const chunks = Math.ceil(g.n / imagesPerChunk);
  let acc: Float64Array | null = null;
  let result: tf.TensorInfo | null = null;
  for (let b0 = 0; b0 < g.n; b0 += imagesPerChunk) {
    const b1 = Math.min(g.n, b0 + imagesPerChunk);
    const M = (b1 - b0) * perImage;
    const colsT = io.alloc([1, K, M]);
    // b must be a tensor this kernel owns: XNNPACK caches its packed copy by tensor id until disposal.
    const dyc = io.alloc([1, M, g.co]);
    const dyv = io.f32(dy);
    io.f32(dyc).set(dyv.subarray(b0 * perImage * g.co, b1 * perImage * g.co));
    im2colT(io.f32(x), g, b0, b1, io.f32(colsT));
    let out: tf.TensorInfo;
    try {
      out = io.run('BatchMatMul', { a: colsT, b: dyc }, { transposeA: false, transposeB: false });
    } finally {
      io.dispose(colsT, dyc);
    }
    if (chunks === 1) {
      result = alias(out, filterShape);
      break;
    }
    const v = io.f32(out);
    if (acc === null) acc = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) acc[i]! += v[i]!;
    io.dispose(out);
  }
  if (result !== null) return result;
  const dw = io.alloc(filterShape);
  io.f32(dw).set(acc!);
  return dw;
}

/** cpu: direct accumulation, innermost loop a contiguous axpy over co. */
function filterGradLoop(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, g: Geometry, filterShape: number[]): tf.TensorInfo {
  const { n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left } = g;
  const xv = io.f32(x);
  const dyv = io.f32(dy);
  const acc = new Float64Array(kh * kw * ci * co);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const d0 = ((b * oh + i) * ow + j) * co;
        for (let y = 0; y < kh; y++) {
          const ih = i * sh - top + y;
          if (ih < 0 || ih >= h) continue;
          for (let z = 0; z < kw; z++) {
            const iw = j * sw - left + z;
            if (iw < 0 || iw >= w) continue;
            const x0 = ((b * h + ih) * w + iw) * ci;
            let a = (y * kw + z) * ci * co;
            for (let c = 0; c < ci; c++, a += co) {
              const xc = xv[x0 + c]!;
              if (xc === 0) continue;
              for (let o = 0; o < co; o++) acc[a + o]! += xc * dyv[d0 + o]!;
            }
          }
        }
      }
    }
  }
  return io.fromValues(filterShape, Float32Array.from(acc));
}

export interface FilterArgs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The filter gradient for NHWC float32 tensors; null when the shapes do not fit. */
export function conv2dBackpropFilterNHWC(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: [number, number, number, number], a: FilterArgs): tf.TensorInfo | null {
  const g = geometry(x.shape, dy.shape, filterShape, a);
  if (g === null || filterShape[2] !== g.ci) return null;
  if (g.n * g.oh * g.ow === 0) return io.alloc(filterShape, 'float32', true);
  return io.wasm !== null ? filterGradMatMul(io, x, dy, g, filterShape) : filterGradLoop(io, x, dy, g, filterShape);
}

export function makeConv2DBackpropFilterKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const at = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const nchw = at.dataFormat === 'NCHW';
      const f32 = x.dtype === 'float32' && dy.dtype === 'float32';
      if (f32 && (!nchw || stock === undefined)) {
        const io = new KernelIO(backend, backendName);
        const args2 = { strides: at.strides, pad: at.pad, dimRoundingMode: at.dimRoundingMode };
        if (!nchw) {
          const out = conv2dBackpropFilterNHWC(io, x, dy, at.filterShape, args2);
          if (out !== null) return out;
        } else if (x.shape.length === 4 && dy.shape.length === 4) {
          // no stock kernel to fall back to (wasm): transpose both to NHWC
          const [n, c, h, w] = x.shape as [number, number, number, number];
          const [, co, oh, ow] = dy.shape as [number, number, number, number];
          const xt = io.alloc([n, h, w, c]);
          const dyt = io.alloc([n, oh, ow, co]);
          nchwToNhwc(io.f32(x), n, c, h, w, io.f32(xt));
          nchwToNhwc(io.f32(dy), n, co, oh, ow, io.f32(dyt));
          try {
            const out = conv2dBackpropFilterNHWC(io, xt, dyt, at.filterShape, args2);
            if (out !== null) return out;
          } finally {
            io.dispose(xt, dyt);
          }
        }
      }
      if (stock === undefined) throw new Error(`adv2 Conv2DBackpropFilter: unsupported arguments on '${backendName}'`);
      return stock.kernelFunc(args);
    },
  };
}
