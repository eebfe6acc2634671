import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/engine/backend.js';

/** Backends every op and kernel test runs on. */
export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

/** Switch the global tfjs engine to `name` (with adv2's kernels registered). */
export async function useBackend(name: TestBackend): Promise<void> {
  await selectBackend({ backend: name });
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not activate`);
}

/**
 * Turn adv2's native convolution addon on or off for the wasm backend (and re-register the
 * kernels), on its oneDNN or its BLAS path. Returns false if it was asked for but is not built
 * (or built without oneDNN); with ADV2_REQUIRE_NATIVE=1 (CI)
 * that throws instead, so a missing addon cannot skip its tests silently.
 */
export async function useNative(on: boolean, engine: 'onednn' | 'blas' = 'onednn'): Promise<boolean> {
  const { enableNativeConv } = await import('../../src/engine/node/native.js');
  const { registerAdv2Kernels, nativeConv, setNativeConv } = await import('../../src/engine/kernels/index.js');
  let ok = true;
  if (on) {
    const r = enableNativeConv(1);
    const required = process.env['ADV2_REQUIRE_NATIVE'] === '1';
    if ('reason' in r) {
      if (required) throw new Error(`native addon required but unavailable: ${r.reason}`);
      ok = false;
    } else {
      const hasOneDnn = nativeConv()!.useOneDnn(engine === 'onednn');
      if (engine === 'onednn' && !hasOneDnn) {
        if (required) throw new Error('native addon required with oneDNN, but it was built without (apt-get install libdnnl-dev; npm run build:native)');
        ok = false;
      }
    }
  } else {
    setNativeConv(null);
  }
  registerAdv2Kernels();
  return ok;
}
