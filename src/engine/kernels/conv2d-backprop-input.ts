/**
 * Conv2DBackpropInput (the input gradient of conv2d, also conv2dTranspose) as forward
 * convolutions run by the backend's own `Conv2D` kernel.
 *
 * With x of size H, filter size k, stride s and leading pad `top` (one spatial axis),
 *   dx[i] = sum over kh, o with o*s = i + top - kh of dy[o] * W[kh].
 * Split the outputs by phase p = i mod s: for i = p + s*j only the taps kh ≡ (p + top) mod s
 * contribute, and dx_p[j] is a stride-1 correlation of dy with those taps, reversed (and the
 * in/out channels of the filter swapped). Stride 1 is the single phase: a conv of dy with the
 * flipped filter and padding k-1-pad. Stride s costs s² sub-convolutions that together do exactly
 * the multiply-adds of the transposed convolution (no zero insertion, which measured ~4x slower
 * at stride 2), plus one interleaving copy. The transformed sub-filters are cached per source
 * filter (filter-cache.ts). On cpu the same phases run through register-tiled JS loops
 * (cpu-conv.ts), written in place into dx.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIO, sizeOf, type Float } from './io.js';
import { cachedFilter, clearFilterCaches, sweepFilterCache, trimFilterCache } from './filter-cache.js';
import { convValid, padNHWC } from './cpu-conv.js';
import { nativeInputGrad } from './native-conv.js';

/** One output phase along one spatial axis. */
export interface AxisPhase {
  /** first output index of the phase (i = p + s*j) */
  p: number;
  /** number of outputs in the phase */
  size: number;
  /** filter taps of the phase, in correlation order: tap t uses W[taps[t]] */
  taps: number[];
  /** rows of dy the sub-convolution reads: [first, first + count) (clipped to dy) */
  first: number;
  count: number;
  /** zero padding before/after the clipped rows */
  padBefore: number;
  padAfter: number;
}

/**
 * The phases of one spatial axis. inSize: size of dx along the axis; outSize: size of dy;
 * k: filter size; s: stride; top: leading padding of the forward conv.
 */
export function axisPhases(inSize: number, outSize: number, k: number, s: number, top: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let p = 0; p < s; p++) {
    const size = inSize > p ? Math.ceil((inSize - p) / s) : 0;
    const r = (p + top) % s;
    const T = r < k ? Math.ceil((k - r) / s) : 0;
    const q = (p + top - r) / s;
    // output j reads dy[j + start + t], t = 0..T-1, with tap kh = r + s*(T-1-t)
    const start = q - T + 1;
    const taps: number[] = [];
    for (let t = 0; t < T; t++) taps.push(r + s * (T - 1 - t));
    // rows needed: [start, start + size + T - 1)
    const lo = start;
    const hi = start + size + T - 1;
    const first = Math.max(lo, 0);
    const last = Math.min(hi, outSize);
    phases.push({
      p,
      size,
      taps,
      first,
      count: Math.max(last - first, 0),
      padBefore: first - lo,
      padAfter: Math.max(hi - Math.max(last, first), 0),
    });
  }
  return phases;
}

/** Wsub[a][b][co][ci] = W[tapsH[a]][tapsW[b]][ci][co] for W of shape [kh, kw, ci, co]. */
function subFilter(w: Float, kw: number, ci: number, co: number, tapsH: number[], tapsW: number[], out: Float): void {
  const cc = ci * co;
  let dst = 0;
  for (const th of tapsH) {
    for (const tw of tapsW) {
      const src = (th * kw + tw) * cc;
      for (let o = 0; o < co; o++) {
        let s = src + o;
        for (let i = 0; i < ci; i++, s += co) out[dst++] = w[s]!;
      }
    }
  }
}

/** Copy rows [h0, h0+hn) x cols [w0, w0+wn) of an NHWC array. */
function cropNHWC(src: Float, n: number, h: number, w: number, c: number, h0: number, hn: number, w0: number, wn: number, dst: Float): void {
  let d = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hn; i++) {
      const s = ((b * h + h0 + i) * w + w0) * c;
      dst.set(src.subarray(s, s + wn * c), d);
      d += wn * c;
    }
  }
}

/** Scatter a phase result [n, hp, wp, c] into dx [n, h, w, c] at rows ph + sh*j, cols pw + sw*l. */
function interleave(src: Float, n: number, hp: number, wp: number, c: number, dst: Float, h: number, w: number, ph: number, pw: number, sh: number, sw: number): void {
  let s = 0;
  const gap = (sw - 1) * c;
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < hp; j++) {
      let d = ((b * h + ph + sh * j) * w + pw) * c;
      if (c >= 64) {
        for (let l = 0; l < wp; l++, d += sw * c, s += c) dst.set(src.subarray(s, s + c), d);
      } else {
        for (let l = 0; l < wp; l++, d += gap) {
          for (let e = 0; e < c; e++) dst[d++] = src[s++]!;
        }
      }
    }
  }
}

export interface BackpropInputArgs {
  dy: tf.TensorInfo;
  filter: tf.TensorInfo;
  inputShape: [number, number, number, number];
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface Geometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kw: number; sh: number; sw: number;
}

interface Phase { ph: AxisPhase; pw: AxisPhase }

/** The input gradient for NHWC float32 tensors; returns null when the shapes do not fit. */
export function conv2dBackpropInputNHWC(io: KernelIO, a: BackpropInputArgs): tf.TensorInfo | null {
  const { dy, filter, inputShape } = a;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const g: Geometry = {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, ci: info.inChannels,
    oh: info.outHeight, ow: info.outWidth, co: info.outChannels,
    kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
  };
  if (dy.shape.length !== 4 || dy.shape[0] !== g.n || dy.shape[1] !== g.oh || dy.shape[2] !== g.ow || dy.shape[3] !== g.co) return null;
  if (filter.shape[2] !== g.ci) return null;
  const outShape = [g.n, g.h, g.w, g.ci];
  // the native addon needs no phases; it takes non-empty tensors only
  if (g.n * g.oh * g.ow > 0 && sizeOf(outShape) > 0) {
    const native = nativeInputGrad(io, dy, filter, info);
    if (native !== null) return native;
  }

  const phasesH = axisPhases(g.h, g.oh, info.filterHeight, g.sh, info.padInfo.top);
  const phasesW = axisPhases(g.w, g.ow, g.kw, g.sw, info.padInfo.left);
  const work: Phase[] = [];
  // whether the phases with work cover every element of dx
  let complete = true;
  for (const ph of phasesH) {
    for (const pw of phasesW) {
      if (ph.size === 0 || pw.size === 0) continue;
      if (ph.taps.length === 0 || pw.taps.length === 0 || ph.count === 0 || pw.count === 0) complete = false;
      else work.push({ ph, pw });
    }
  }
  if (work.length === 0) return io.alloc(outShape, 'float32', true);

  sweepFilterCache(io);
  try {
    if (io.cpu !== null) return cpuPhases(io, dy, filter, g, work);
    if (g.sh === 1 && g.sw === 1) return phaseConv(io, dy, filter, g, work[0]!);
    const dx = io.alloc(outShape, 'float32', !complete);
    try {
      for (const phase of work) {
        const y = phaseConv(io, dy, filter, g, phase);
        interleave(io.f32(y), g.n, phase.ph.size, phase.pw.size, g.ci, io.f32(dx), g.h, g.w, phase.ph.p, phase.pw.p, g.sh, g.sw);
        io.dispose(y);
      }
    } catch (err) {
      io.dispose(dx);
      throw err;
    }
    return dx;
  } finally {
    trimFilterCache(io, filter.dataId);
  }
}

function subFilterFor(io: KernelIO, filter: tf.TensorInfo, g: Geometry, { ph, pw }: Phase): tf.TensorInfo {
  const subShape = [ph.taps.length, pw.taps.length, g.co, g.ci];
  // the shape is part of the key: a reshape shares its source's dataId
  return cachedFilter(io, filter, `${filter.shape}|${ph.taps}|${pw.taps}`, subShape.reduce((a, b) => a * b, 1), () => {
    const info = io.alloc(subShape);
    subFilter(io.f32(filter), g.kw, g.ci, g.co, ph.taps, pw.taps, io.f32(info));
    return info;
  });
}

/** cpu: every phase with the tiled JS loop, written in place into dx. */
function cpuPhases(io: KernelIO, dy: tf.TensorInfo, filter: tf.TensorInfo, g: Geometry, work: Phase[]): tf.TensorInfo {
  const dx = io.alloc([g.n, g.h, g.w, g.ci], 'float32', true);
  const out = io.f32(dx);
  for (const phase of work) {
    const { ph, pw } = phase;
    const wsub = io.f32(subFilterFor(io, filter, g, phase));
    const xp = padNHWC(io.f32(dy), g.n, g.oh, g.ow, g.co, ph.first, ph.count, pw.first, pw.count,
      ph.padBefore, ph.padAfter, pw.padBefore, pw.padAfter);
    convValid(xp.data, g.n, xp.h, xp.w, g.co, wsub, ph.taps.length, pw.taps.length, g.ci,
      out, g.h, g.w, ph.p, pw.p, g.sh, g.sw);
  }
  return dx;
}

/** One phase: a stride-1 Conv2D of (a window of) dy with the cached sub-filter -> [n, ph.size, pw.size, ci]. */
function phaseConv(io: KernelIO, dy: tf.TensorInfo, filter: tf.TensorInfo, g: Geometry, phase: Phase): tf.TensorInfo {
  const { ph, pw } = phase;
  const wsub = subFilterFor(io, filter, g, phase);
  // dy window: a copy only when the phase does not read all of dy
  let x = dy;
  const crop = ph.first !== 0 || ph.count !== g.oh || pw.first !== 0 || pw.count !== g.ow;
  if (crop) {
    x = io.alloc([g.n, ph.count, pw.count, g.co]);
    cropNHWC(io.f32(dy), g.n, g.oh, g.ow, g.co, ph.first, ph.count, pw.first, pw.count, io.f32(x));
  }
  let y: tf.TensorInfo;
  try {
    y = io.run('Conv2D', { x, filter: wsub }, {
      strides: [1, 1],
      pad: [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    });
  } finally {
    if (crop) io.dispose(x);
  }
  if (y.shape[1] !== ph.size || y.shape[2] !== pw.size) {
    io.dispose(y);
    throw new Error(`adv2 Conv2DBackpropInput: phase output ${y.shape} != [${g.n},${ph.size},${pw.size},${g.ci}]`);
  }
  return y;
}

/** Kernel config factory: NCHW and non-float32 go to the stock kernel. */
export function makeConv2DBackpropInputKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: (backend) => {
      clearFilterCaches(backend as object);
      stock?.disposeFunc?.(backend);
    },
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const at = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      const nhwc = at.dataFormat === undefined || at.dataFormat === 'NHWC';
      if (nhwc && dy.dtype === 'float32' && filter.dtype === 'float32') {
        const io = new KernelIO(backend, backendName);
        const out = conv2dBackpropInputNHWC(io, {
          dy, filter, inputShape: at.inputShape, strides: at.strides, pad: at.pad, dimRoundingMode: at.dimRoundingMode,
        });
        if (out !== null) return out;
      }
      if (stock === undefined) throw new Error(`adv2 Conv2DBackpropInput: unsupported arguments on '${backendName}'`);
      return stock.kernelFunc(args);
    },
  };
}
