import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend, BackendError } from '../src/engine/backend.js';

describe('selectBackend', () => {
  it('defaults to wasm with SIMD in Node when tfjs-node is absent', async () => {
    const info = await selectBackend();
    expect(['tensorflow', 'wasm']).toContain(info.name);
    if (info.name === 'wasm') {
      expect(info.simd).toBe(true);
      expect(info.skipped.map((s) => s.name)).toContain('tensorflow');
    }
    expect(info.platform).toBe('node');
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it('honours an explicit backend and switches back', async () => {
    const cpu = await selectBackend({ backend: 'cpu' });
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await selectBackend({ backend: 'wasm' });
    expect(wasm.name).toBe('wasm');
  });

  it('rejects an unknown backend with a one-line error', async () => {
    await expect(selectBackend({ backend: 'cuda' })).rejects.toThrow(BackendError);
    await expect(selectBackend({ backend: 'cuda' })).rejects.toThrow(/unknown backend 'cuda'/);
  });
});
