/**
 * Backend selection: one function used by the CLI, the library and the tests.
 *
 * Node: tfjs-node if the user installed it (optional accelerator; it cannot install offline),
 * else wasm (SIMD), else cpu. Browser: webgpu if registered, else webgl, else wasm, else cpu.
 * `ADV2_BACKEND` or an explicit `backend` option overrides the order.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { nativeConv, registerAdv2Kernels, setNativeConv } from './kernels/index.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';
export const KNOWN_BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu', 'webgl', 'webgpu'];

export interface BackendInfo {
  /** tfjs backend name actually in use */
  name: BackendName;
  /** worker threads the backend computes with (1 = single-threaded) */
  threads: number;
  /** whether the wasm backend runs its SIMD build (false for other backends) */
  simd: boolean;
  platform: 'node' | 'browser';
  tfjsVersion: string;
  /** backends tried before this one, with the reason each was skipped */
  skipped: { name: string; reason: string }[];
  /**
   * wasm in Node: the native convolution addon running Conv2D and both its gradients (its
   * libraries and threads), or why it is off; absent on other backends and in the browser
   */
  native?: { config: string; threads: number } | { off: string };
}

export interface BackendOptions {
  /** force a backend; default: ADV2_BACKEND, then the platform's preference order */
  backend?: string;
  /** compute threads: the native addon's when it is loaded, else wasm threads (where the threaded build can run) */
  threads?: number;
  /** Node + wasm: use the native convolution addon when it is built (default: yes, unless ADV2_NATIVE=0) */
  native?: boolean;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

const isNode = (): boolean =>
  typeof globalThis.process !== 'undefined' && globalThis.process.versions?.node !== undefined;

function envBackend(): string | undefined {
  const v = isNode() ? globalThis.process.env['ADV2_BACKEND'] : undefined;
  return v && v.trim() !== '' ? v.trim() : undefined;
}

/** tfjs-node registers the 'tensorflow' backend when imported; it is never a dependency of adv2. */
async function loadTfjsNode(): Promise<void> {
  const specifier = '@tensorflow/tfjs-node';
  await import(/* @vite-ignore */ specifier);
}

async function tryBackend(name: BackendName, opts: BackendOptions): Promise<string | null> {
  try {
    if (name === 'tensorflow') {
      if (!isNode()) return 'only available in Node';
      await loadTfjsNode();
    }
    // with the native addon, convolutions (nearly all the work) run on its threads; the threaded
    // wasm build would only add its worker start-up and memory
    if (name === 'wasm' && opts.threads !== undefined && opts.threads > 1 && nativeConv() === null) {
      if (isNode()) {
        // tfjs disables the threaded wasm build in Node; this Node-only adapter re-enables it
        const adapter = './node/wasm-threads.js';
        const { enableWasmThreads } = (await import(/* @vite-ignore */ adapter)) as typeof import('./node/wasm-threads.js');
        await enableWasmThreads(opts.threads);
      } else {
        tfwasm.setThreadsCount(opts.threads);
      }
    }
    if (tf.findBackendFactory(name) === null) return 'not registered in this build';
    const ok = await tf.setBackend(name);
    if (!ok) return 'failed to initialise';
    await tf.ready();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0]! : String(err);
  }
}

let current: BackendInfo | null = null;

/** Node: load (or turn off) the native convolution addon before adv2's kernels are registered. */
async function setupNative(opts: BackendOptions): Promise<BackendInfo['native']> {
  if (!isNode()) return undefined;
  if (opts.native === false) {
    setNativeConv(null);
    return { off: 'turned off by the caller' };
  }
  const adapter = './node/native.js';
  const { enableNativeConv } = (await import(/* @vite-ignore */ adapter)) as typeof import('./node/native.js');
  const r = enableNativeConv(opts.threads ?? 1);
  return 'reason' in r ? { off: r.reason } : { config: r.config, threads: r.threads };
}

/** Choose and initialise the tensor backend; also registers adv2's kernels. Idempotent per name. */
export async function selectBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  const requested = opts.backend ?? envBackend();
  if (requested !== undefined && !KNOWN_BACKENDS.includes(requested as BackendName)) {
    throw new BackendError(`unknown backend '${requested}' (choose one of: ${KNOWN_BACKENDS.join(', ')})`);
  }
  if (current !== null && (requested === undefined || requested === current.name)) return current;

  const order: BackendName[] = requested !== undefined
    ? [requested as BackendName]
    : isNode() ? ['tensorflow', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  const skipped: { name: string; reason: string }[] = [];
  const native = order.includes('wasm') ? await setupNative(opts) : undefined;
  registerAdv2Kernels();
  for (const name of order) {
    const reason = await tryBackend(name, opts);
    if (reason === null) {
      current = describe(name, skipped);
      if (name === 'wasm' && native !== undefined) current.native = native;
      return current;
    }
    skipped.push({ name, reason });
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new BackendError(`no usable tensor backend (${why})`);
}

function describe(name: BackendName, skipped: { name: string; reason: string }[]): BackendInfo {
  const wasm = name === 'wasm';
  return {
    name,
    threads: wasm ? tfwasm.getThreadsCount() : 1,
    simd: wasm ? Boolean(tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) : false,
    platform: isNode() ? 'node' : 'browser',
    tfjsVersion: tf.version.tfjs,
    skipped,
  };
}

/** The backend in use, or null before selectBackend ran. */
export function currentBackend(): BackendInfo | null {
  return current !== null && current.name === tf.getBackend() ? current : null;
}
