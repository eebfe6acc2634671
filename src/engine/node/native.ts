/**
 * Node-only loader of adv2's optional native convolution addon (native/adv2_native.cc, built by
 * `npm run build:native` into build/adv2-native.node; needs g++ and the Debian packages
 * libopenblas-dev and, for the fast path, libdnnl-dev). When it loads, the wasm backend's Conv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter run natively on the tensors in the wasm heap
 * (kernels/native-conv.ts).
 *
 * ADV2_NATIVE=0 keeps wasm's own kernels; ADV2_NATIVE_PATH names another addon file.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NativeConvAddon, setNativeConv } from '../kernels/native-conv.js';

export const NATIVE_ADDON_FILE = join('build', 'adv2-native.node');

export type NativeLoad = { addon: NativeConvAddon; path: string } | { addon: null; reason: string };

/** build/adv2-native.node in the nearest folder above this module that has one. */
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, NATIVE_ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

export function nativeRequested(): boolean {
  const v = process.env['ADV2_NATIVE']?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off');
}

/** Load the addon (without installing it); the reason when it cannot be used. */
export function loadNativeConv(): NativeLoad {
  if (!nativeRequested()) return { addon: null, reason: 'disabled by ADV2_NATIVE' };
  const override = process.env['ADV2_NATIVE_PATH'];
  const path = override !== undefined && override !== '' ? resolve(override) : findAddon();
  if (path === null) return { addon: null, reason: `not built (${NATIVE_ADDON_FILE}: npm run build:native)` };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeConvAddon;
    for (const fn of ['conv2d', 'conv2dFilterGrad', 'conv2dInputGrad', 'setThreads', 'threads', 'config', 'calls', 'useOneDnn'] as const) {
      if (typeof addon[fn] !== 'function') return { addon: null, reason: `${path} is not adv2's addon (no ${fn})` };
    }
    return { addon, path };
  } catch (err) {
    return { addon: null, reason: `${path} failed to load: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` };
  }
}

/**
 * Load the addon and hand it to the wasm kernels with `threads` BLAS threads; the caller
 * re-registers adv2's kernels. Returns a description for BackendInfo, or the reason it is off.
 */
export function enableNativeConv(threads: number): { config: string; threads: number; path: string } | { reason: string } {
  const loaded = loadNativeConv();
  if (loaded.addon === null) {
    setNativeConv(null);
    return { reason: loaded.reason };
  }
  loaded.addon.setThreads(Math.max(1, Math.floor(threads)));
  setNativeConv(loaded.addon);
  return { config: loaded.addon.config().trim(), threads: loaded.addon.threads(), path: loaded.path };
}
