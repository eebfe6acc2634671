/** The threaded wasm build in Node (opt-in with --threads): two threads, same results as cpu. */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';

describe('wasm threads in Node', () => {
  it('runs the threaded build with 2 threads and matches the cpu backend', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, native: false });
    expect(info.name).toBe('wasm');
    expect(tfwasm.getThreadsCount()).toBe(2);
    expect(info.threads).toBe(2);
    const x = tf.randomUniform([4, 20, 20, 8], -1, 1, 'float32', 1);
    const w = tf.randomUniform([3, 3, 8, 16], -1, 1, 'float32', 2);
    const onWasm = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync().slice();
    const xs = x.dataSync().slice(), ws = w.dataSync().slice();
    await selectBackend({ backend: 'cpu' });
    const onCpu = tf.conv2d(tf.tensor4d(xs, [4, 20, 20, 8]), tf.tensor4d(ws, [3, 3, 8, 16]), 1, 'same').dataSync();
    let maxDiff = 0;
    for (let i = 0; i < onCpu.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onCpu[i]! - onWasm[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
