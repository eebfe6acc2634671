/**
 * adv2's replacement kernels, registered over the stock tfjs ones where those are missing
 * (wasm has no Conv2DBackpropFilter and no UnsortedSegmentSum) or slow (Conv2DBackpropInput on
 * wasm and cpu, Conv2DBackpropFilter and UnsortedSegmentSum on cpu, Identity and Concat on wasm, and Conv2D
 * on wasm when the native addon is loaded). Registration is by backend
 * name, so it may run before the backend initialises; it is idempotent.
 *
 * Every caller benefits: training, attacks and nested (second-order) gradients all dispatch
 * through the kernel registry. Set `ADV2_STOCK_KERNELS=1` (Node) or pass `{ stock: true }` to keep
 * the stock kernels, e.g. to measure before/after.
 *
 * Memory: Conv2DBackpropInput keeps the flipped/channel-swapped copy of each filter it has seen
 * (so the wasm backend also keeps its packed XNNPACK weights) while that filter is alive, up to
 * 32M floats per backend; `clearAdv2KernelCaches()` releases them at once.
 */
import * as tf from '@tensorflow/tfjs';
// the wasm package registers its stock kernels on import: make sure that happens before ours
import '@tensorflow/tfjs-backend-wasm';
import { makeConv2DBackpropInputKernel } from './conv2d-backprop-input.js';
import { makeConv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { makeUnsortedSegmentSumKernel } from './unsorted-segment-sum.js';
import { makeSplitVKernel } from './split-v.js';
import { makeNativeConv2DKernel, nativeConv } from './native-conv.js';
import { makeSharedIdentityKernel } from './identity.js';
import { makeConcatKernel } from './concat.js';
import { clearFilterCaches } from './filter-cache.js';

export { filterCacheStats } from './filter-cache.js';
export { nativeConv, setNativeConv, type NativeConvAddon } from './native-conv.js';

type Factory = (backendName: string, stock: tf.KernelConfig | undefined) => tf.KernelConfig;

/** kernel name -> factory, the backends each replacement is registered for, and when (default: always). */
const REPLACEMENTS: { kernelName: string; backends: readonly string[]; make: Factory; when?: () => boolean }[] = [
  { kernelName: tf.Conv2D, backends: ['wasm'], make: makeNativeConv2DKernel, when: () => nativeConv() !== null },
  { kernelName: tf.Conv2DBackpropFilter, backends: ['wasm', 'cpu'], make: makeConv2DBackpropFilterKernel },
  { kernelName: tf.Conv2DBackpropInput, backends: ['wasm', 'cpu'], make: makeConv2DBackpropInputKernel },
  { kernelName: tf.UnsortedSegmentSum, backends: ['wasm', 'cpu'], make: makeUnsortedSegmentSumKernel },
  { kernelName: tf.SplitV, backends: ['wasm'], make: makeSplitVKernel },
  { kernelName: tf.Identity, backends: ['wasm'], make: makeSharedIdentityKernel },
  { kernelName: tf.Concat, backends: ['wasm'], make: makeConcatKernel },
];

export const ADV2_KERNEL_NAMES: readonly string[] = REPLACEMENTS.map((r) => r.kernelName);

const key = (kernelName: string, backendName: string): string => `${backendName}/${kernelName}`;

/** stock configs found when adv2's kernels were registered (undefined: the backend had none) */
const stock = new Map<string, tf.KernelConfig | undefined>();
/** adv2's configs currently registered */
const installed = new Map<string, tf.KernelConfig>();

/** True when the environment asks for the stock tfjs kernels (ADV2_STOCK_KERNELS=1|true). */
export function stockKernelsRequested(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.['ADV2_STOCK_KERNELS']?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

export interface RegisterOptions {
  /** keep the stock kernels (default: ADV2_STOCK_KERNELS) */
  stock?: boolean;
}

/**
 * Unregister the stock kernels (where present) and register adv2's, for each backend.
 * Idempotent; with `stock` (or ADV2_STOCK_KERNELS=1) it does nothing.
 */
export function registerAdv2Kernels(opts: RegisterOptions = {}): void {
  if (opts.stock ?? stockKernelsRequested()) return;
  for (const r of REPLACEMENTS) {
    for (const backendName of r.backends) {
      const k = key(r.kernelName, backendName);
      const current = tf.getKernel(r.kernelName, backendName);
      if (r.when !== undefined && !r.when()) {
        if (installed.has(k)) restoreStock(k);
        continue;
      }
      if (installed.has(k) && current === installed.get(k)) continue;
      // a kernel registered by someone else after us counts as the new stock one
      stock.set(k, current);
      if (current !== undefined) tf.unregisterKernel(r.kernelName, backendName);
      const config = r.make(backendName, current);
      tf.registerKernel(config);
      installed.set(k, config);
    }
  }
}

/** Put back the stock kernel that adv2's kernel `k` replaced. */
function restoreStock(k: string): void {
  const config = installed.get(k)!;
  if (tf.getKernel(config.kernelName, config.backendName) === config) {
    tf.unregisterKernel(config.kernelName, config.backendName);
    const original = stock.get(k);
    if (original !== undefined) tf.registerKernel(original);
  }
  installed.delete(k);
}

/** Put the stock kernels back (for before/after measurements); registerAdv2Kernels() re-installs. */
export function unregisterAdv2Kernels(): void {
  for (const k of [...installed.keys()]) restoreStock(k);
}

/** Whether adv2's kernel is the one registered for `kernelName` on `backendName`. */
export function adv2KernelActive(kernelName: string, backendName: string): boolean {
  const config = installed.get(key(kernelName, backendName));
  return config !== undefined && tf.getKernel(kernelName, backendName) === config;
}

/**
 * The stock tfjs kernel for `kernelName` on `backendName` (the one adv2 replaced, or the one
 * registered now if adv2's is not installed); undefined if tfjs has none (e.g. wasm's
 * Conv2DBackpropFilter).
 */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const k = key(kernelName, backendName);
  if (installed.has(k)) return stock.get(k);
  return tf.getKernel(kernelName, backendName);
}

/**
 * Run the stock kernel on the active backend, outside the gradient tape (tests and benchmarks).
 * Throws if the backend has no stock kernel of that name.
 */
export function runStockKernel(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap): tf.Tensor {
  const backendName = tf.getBackend();
  const config = stockKernel(kernelName, backendName);
  if (config === undefined) throw new Error(`no stock '${kernelName}' kernel on backend '${backendName}'`);
  const out = config.kernelFunc({ inputs, backend: tf.backend(), attrs });
  if (Array.isArray(out)) throw new Error(`stock '${kernelName}' returned several outputs`);
  return tf.engine().makeTensorFromTensorInfo(out);
}

/**
 * Release the transformed filters adv2's Conv2DBackpropInput keeps for filters that are still
 * alive (they are released on their own once the source filter is disposed).
 */
export function clearAdv2KernelCaches(): void {
  clearFilterCaches();
}
