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
