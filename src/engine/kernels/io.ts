/**
 * Backend-neutral plumbing for adv2's kernels: read a TensorInfo's values without copying,
 * allocate an output, call another registered kernel of the same backend, dispose intermediates.
 *
 * Works with the `cpu` backend (values live in JS typed arrays) and the `wasm` backend (values
 * live in the wasm heap; views into the heap are invalidated when the heap grows, so callers take
 * views only after their last allocation, or take them again).
 */
import * as tf from '@tensorflow/tfjs';

export type Float = Float32Array;
type Shape = number[];
type NumericDtype = 'float32' | 'int32';

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use. */
interface WasmBackendLike {
  makeOutput(shape: Shape, dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  refCount(dataId: tf.DataId): number;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU the kernels use. */
interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.BackendValues;
  makeTensorInfo(shape: Shape, dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  refCount(dataId: tf.DataId): number;
}

const isWasm = (b: unknown): b is WasmBackendLike =>
  typeof (b as WasmBackendLike).typedArrayFromHeap === 'function' && typeof (b as WasmBackendLike).makeOutput === 'function';

const isCpu = (b: unknown): b is CpuBackendLike =>
  typeof (b as CpuBackendLike).makeTensorInfo === 'function' && typeof (b as CpuBackendLike).readSync === 'function';

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** One kernel invocation's view of its backend. */
export class KernelIO {
  readonly wasm: WasmBackendLike | null;
  readonly cpu: CpuBackendLike | null;

  constructor(readonly backend: unknown, readonly backendName: string) {
    this.wasm = isWasm(backend) ? backend : null;
    this.cpu = this.wasm === null && isCpu(backend) ? backend : null;
    if (this.wasm === null && this.cpu === null) {
      throw new Error(`adv2 kernels: unsupported backend '${backendName}'`);
    }
  }

  /** The values of `info`, without a copy. On wasm the view dies at the next allocation. */
  view(info: tf.TensorInfo): tf.TypedArray {
    if (this.wasm !== null) return this.wasm.typedArrayFromHeap(info);
    return this.cpu!.readSync(info.dataId) as tf.TypedArray;
  }

  f32(info: tf.TensorInfo): Float {
    const v = this.view(info);
    if (!(v instanceof Float32Array)) throw new Error(`adv2 kernels: expected float32 data, got ${info.dtype}`);
    return v;
  }

  /** A new tensor owned by the caller; zero-filled if `zero` (wasm heap memory is not). */
  alloc(shape: Shape, dtype: NumericDtype = 'float32', zero = false): tf.TensorInfo {
    if (this.wasm !== null) {
      const info = this.wasm.makeOutput(shape, dtype);
      if (zero) this.wasm.typedArrayFromHeap(info).fill(0);
      return info;
    }
    const n = sizeOf(shape);
    const values = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    return this.cpu!.makeTensorInfo(shape, dtype, values);
  }

  /** A new float32 tensor holding a copy of `values`. */
  fromValues(shape: Shape, values: Float32Array): tf.TensorInfo {
    if (this.wasm !== null) {
      const info = this.wasm.makeOutput(shape, 'float32');
      this.wasm.typedArrayFromHeap(info).set(values);
      return info;
    }
    return this.cpu!.makeTensorInfo(shape, 'float32', values);
  }

  dispose(...infos: (tf.TensorInfo | null | undefined)[]): void {
    for (const info of infos) {
      if (info != null) (this.wasm ?? this.cpu)!.disposeData(info.dataId);
    }
  }

  /** Whether the backend still holds data for `dataId`. */
  alive(dataId: tf.DataId): boolean {
    return (this.wasm ?? this.cpu)!.refCount(dataId) > 0;
  }

  /** Run this backend's currently registered `kernelName`; the caller owns the result. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config === undefined) throw new Error(`adv2 kernels: no '${kernelName}' kernel on backend '${this.backendName}'`);
    const out = config.kernelFunc({ inputs, backend: this.backend as object, attrs });
    if (Array.isArray(out)) throw new Error(`adv2 kernels: '${kernelName}' returned several outputs`);
    return out;
  }
}

/** A TensorInfo that aliases `info`'s data with another shape of the same size (not owned). */
export function alias(info: tf.TensorInfo, shape: Shape): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** NCHW -> NHWC copy of a rank-4 float32 array. */
export function nchwToNhwc(src: Float, n: number, c: number, h: number, w: number, dst: Float): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const s0 = (b * c + ch) * h * w;
      for (let i = 0; i < h * w; i++) dst[(b * h * w + i) * c + ch] = src[s0 + i]!;
    }
  }
}

/**
 * Copy `rows` runs of `len` values: run r goes from src[srcStart + r*srcStride] to
 * dst[dstStart + r*dstStride]. Views into the same buffer (the wasm heap) copy with
 * `copyWithin` on one whole-buffer view, which is a memmove without a subarray per run; other
 * arrays copy short runs element by element and long ones with set().
 */
export function copyRuns(
  src: tf.TypedArray, srcStart: number, srcStride: number,
  dst: tf.TypedArray, dstStart: number, dstStride: number,
  rows: number, len: number,
): void {
  if (len === 0 || rows === 0) return;
  if (src.buffer === dst.buffer && src.constructor === dst.constructor) {
    const Ctor = src.constructor as new (b: ArrayBufferLike) => tf.TypedArray;
    const whole = new Ctor(src.buffer);
    const s0 = src.byteOffset / src.BYTES_PER_ELEMENT + srcStart;
    const d0 = dst.byteOffset / dst.BYTES_PER_ELEMENT + dstStart;
    for (let r = 0; r < rows; r++) whole.copyWithin(d0 + r * dstStride, s0 + r * srcStride, s0 + r * srcStride + len);
    return;
  }
  if (len >= 64) {
    for (let r = 0; r < rows; r++) dst.set(src.subarray(srcStart + r * srcStride, srcStart + r * srcStride + len), dstStart + r * dstStride);
    return;
  }
  for (let r = 0; r < rows; r++) {
    let s = srcStart + r * srcStride;
    let d = dstStart + r * dstStride;
    for (let e = 0; e < len; e++) dst[d++] = src[s++]!;
  }
}
