import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/**
 * Run `fn` `warmup` times, then `reps` more times, and assert the live tensor count does not grow:
 * every tensor fn creates must be disposed or returned-and-disposed by fn itself.
 */
export async function expectNoLeak(fn: () => unknown | Promise<unknown>, reps = 5, warmup = 2): Promise<void> {
  for (let i = 0; i < warmup; i++) await fn();
  const before = tf.memory().numTensors;
  for (let i = 0; i < reps; i++) await fn();
  const after = tf.memory().numTensors;
  expect(after - before, `tensor leak: ${after - before} tensors over ${reps} calls`).toBe(0);
}
