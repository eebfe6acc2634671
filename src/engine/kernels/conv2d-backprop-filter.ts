/**
 * Conv2DBackpropFilter (the filter gradient of conv2d).
 *
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*sh - top + kh, ow*sw - left + kw, ci] * dy[n, oh, ow, co]
 *
 * wasm: im2col in JS into the wasm heap, then the backend's own BatchMatMul kernel (XNNPACK),
 * in chunks of whole images so the column buffer stays bounded.
 * cpu: register-tiled JS loops over a padded copy of x (the stock kernel walks the data with
 * TensorBuffer.get per element).
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO, alias, nchwToNhwc, type Float } from './io.js';
import { filterGrad, padNHWC } from './cpu-conv.js';
import { nativeFilterGrad } from './native-conv.js';

/** Column-buffer budget per BatchMatMul call, in floats (32 MB). */
const COLS_BUDGET = 8 * 1024 * 1024;

interface Geometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  top: number; left: number;
}

function convInfo(xShape: number[], filterShape: [number, number, number, number], a: FilterArgs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
}

function geometry(info: tf.backend_util.Conv2DInfo, dyShape: number[]): Geometry | null {
  const g: Geometry = {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, ci: info.inChannels,
    oh: info.outHeight, ow: info.outWidth, co: info.outChannels,
    kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left,
  };
  if (dyShape.length !== 4 || dyShape[0] !== g.n || dyShape[1] !== g.oh || dyShape[2] !== g.ow || dyShape[3] !== g.co) return null;
  return g;
}

/** Guard around the channel-major copy, so shifted whole-plane copies never leave the array. */
const guard = (g: Geometry): number => g.w + g.kw + 1;

/**
 * Transposed im2col for images [b0, b1): colsT[(kh, kw, ci), m] with m = ((b - b0)*oh + i)*ow + j,
 * zero where the window falls in the padding. colsT has K = kh*kw*ci rows of length M.
 *
 * x is first copied channel-major and split by stride phase (`xt`: for each channel and image,
 * sh*sw planes holding x[py + sh*r, pz + sw*q]), so that every run of a colsT row is a unit-stride
 * slice of one plane. When the plane is as wide as the output (e.g. 'same' padding), a tap's run
 * for one image is the plane shifted by a flat offset: one block copy, then the wrapped-around
 * border columns are zeroed.
 */
function im2colT(x: Float, g: Geometry, b0: number, b1: number, xt: Float, colsT: Float): void {
  const { h, w, ci, oh, ow, kh, kw, sh, sw, top, left } = g;
  const nb = b1 - b0;
  const hw = h * w;
  const G = guard(g);
  // phase plane sizes and offsets within one (channel, image) block of h*w values
  const Hq = (py: number): number => Math.ceil((h - py) / sh);
  const Wq = (pz: number): number => Math.ceil((w - pz) / sw);
  const off = new Int32Array(sh * sw);
  for (let py = 0, o = 0; py < sh; py++) {
    for (let pz = 0; pz < sw; pz++) {
      off[py * sw + pz] = o;
      o += Hq(py) * Wq(pz);
    }
  }
  // the copy, by blocks of 64 pixels of one row (a plain loop over channels would write ci
  // streams a power-of-two stride apart, which thrashes the cache)
  for (let b = 0; b < nb; b++) {
    for (let ih = 0; ih < h; ih++) {
      const py = ih % sh;
      const r = (ih - py) / sh;
      const srcRow = ((b0 + b) * h + ih) * w * ci;
      for (let pz = 0; pz < sw; pz++) {
        const wq = Wq(pz);
        const rowBase = G + b * hw + off[py * sw + pz]! + r * wq;
        for (let q0 = 0; q0 < wq; q0 += 64) {
          const q1 = Math.min(wq, q0 + 64);
          for (let c = 0; c < ci; c++) {
            let d = rowBase + c * nb * hw + q0;
            for (let q = q0, s = srcRow + (pz + sw * q0) * ci + c; q < q1; q++, s += sw * ci) xt[d++] = x[s]!;
          }
        }
      }
    }
  }
  const M = nb * oh * ow;
  for (let y = 0; y < kh; y++) {
    const ty = y - top;
    const py = ((ty % sh) + sh) % sh;
    const ry = (ty - py) / sh;
    const hq = Hq(py);
    // output rows whose window row is inside x
    const i0 = Math.min(oh, Math.max(0, -ry));
    const i1 = Math.max(i0, Math.min(oh, hq - ry));
    for (let z = 0; z < kw; z++) {
      const tz = z - left;
      const pz = ((tz % sw) + sw) % sw;
      const rz = (tz - pz) / sw;
      const wq = Wq(pz);
      const j0 = Math.min(ow, Math.max(0, -rz));
      const j1 = Math.max(j0, Math.min(ow, wq - rz));
      const flat = wq === ow;
      for (let c = 0; c < ci; c++) {
        let m = ((y * kw + z) * ci + c) * M;
        for (let b = 0; b < nb; b++, m += oh * ow) {
          const plane = G + (c * nb + b) * hw + off[py * sw + pz]!;
          colsT.fill(0, m, m + i0 * ow);
          colsT.fill(0, m + i1 * ow, m + oh * ow);
          if (flat) {
            const s = plane + (i0 + ry) * wq + rz;
            colsT.set(xt.subarray(s, s + (i1 - i0) * ow), m + i0 * ow);
            if (j0 > 0 || j1 < ow) {
              for (let i = i0; i < i1; i++) {
                const row = m + i * ow;
                for (let j = 0; j < j0; j++) colsT[row + j] = 0;
                for (let j = j1; j < ow; j++) colsT[row + j] = 0;
              }
            }
            continue;
          }
          for (let i = i0; i < i1; i++) {
            // short runs: plain loops beat subarray()+set()/fill() and their allocations
            let d = m + i * ow;
            let j = 0;
            for (; j < j0; j++) colsT[d++] = 0;
            for (let q = plane + (i + ry) * wq + j0 + rz; j < j1; j++) colsT[d++] = xt[q++]!;
            for (; j < ow; j++) colsT[d++] = 0;
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
  const xt = new Float32Array(Math.min(g.n, imagesPerChunk) * g.h * g.w * g.ci + 2 * guard(g));
  for (let b0 = 0; b0 < g.n; b0 += imagesPerChunk) {
    const b1 = Math.min(g.n, b0 + imagesPerChunk);
    const M = (b1 - b0) * perImage;
    const colsT = io.alloc([1, K, M]);
    // b must be a tensor this kernel owns: XNNPACK caches its packed copy by tensor id until disposal.
    const dyc = io.alloc([1, M, g.co]);
    let out: tf.TensorInfo;
    try {
      const dyv = io.f32(dy);
      io.f32(dyc).set(dyv.subarray(b0 * perImage * g.co, b1 * perImage * g.co));
      im2colT(io.f32(x), g, b0, b1, xt, io.f32(colsT));
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

/** cpu: register-tiled loops over a padded copy of x. */
function filterGradLoop(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, g: Geometry, filterShape: number[]): tf.TensorInfo {
  const { n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left } = g;
  // padded rows/cols the windows reach: [0, (oh-1)*sh + kh) with x row r at r + top
  const P = (oh - 1) * sh + kh;
  const Q = (ow - 1) * sw + kw;
  const t = Math.min(top, P);
  const l = Math.min(left, Q);
  const rn = Math.max(0, Math.min(h, P - t));
  const cn = Math.max(0, Math.min(w, Q - l));
  const xp = padNHWC(io.f32(x), n, h, w, ci, 0, rn, 0, cn, t, P - t - rn, l, Q - l - cn);
  const acc = new Float64Array(kh * kw * ci * co);
  filterGrad(xp.data, n, xp.h, xp.w, ci, io.f32(dy), oh, ow, co, kh, kw, sh, sw, acc);
  return io.fromValues(filterShape, Float32Array.from(acc));
}

export interface FilterArgs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The filter gradient for NHWC float32 tensors; null when the shapes do not fit. */
export function conv2dBackpropFilterNHWC(io: KernelIO, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: [number, number, number, number], a: FilterArgs): tf.TensorInfo | null {
  const info = convInfo(x.shape, filterShape, a);
  const g = geometry(info, dy.shape);
  if (g === null || filterShape[2] !== g.ci) return null;
  if (g.n * g.oh * g.ow === 0) return io.alloc(filterShape, 'float32', true);
  return nativeFilterGrad(io, x, dy, info, filterShape) ?? (io.wasm !== null ? filterGradMatMul(io, x, dy, g, filterShape) : filterGradLoop(io, x, dy, g, filterShape));
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
