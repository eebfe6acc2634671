import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeConv } from '../src/engine/node/native.js';

const saved = { native: process.env['ADV2_NATIVE'], path: process.env['ADV2_NATIVE_PATH'] };

afterEach(() => {
  for (const [key, value] of [['ADV2_NATIVE', saved.native], ['ADV2_NATIVE_PATH', saved.path]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('native convolution addon loader', () => {
  it('is off with ADV2_NATIVE=0, and says why', () => {
    process.env['ADV2_NATIVE'] = '0';
    const r = loadNativeConv();
    expect(r.addon).toBeNull();
    expect('reason' in r && r.reason).toBe('disabled by ADV2_NATIVE');
  });

  it('refuses a file that is not a loadable addon, in one line naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adv2-native-'));
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    process.env['ADV2_NATIVE_PATH'] = bogus;
    const r = loadNativeConv();
    expect(r.addon).toBeNull();
    const reason = 'reason' in r ? r.reason : '';
    expect(reason).toContain(bogus);
    expect(reason).toContain('failed to load');
    expect(reason).not.toContain('\n');
  });

  it('checks its arguments: sizes that do not match the geometry throw one line, not a crash', (ctx) => {
    const r = loadNativeConv();
    if (r.addon === null) {
      if (process.env['ADV2_REQUIRE_NATIVE'] === '1') throw new Error(`native addon required: ${r.reason}`);
      return ctx.skip();
    }
    // both paths: oneDNN (when built in) and im2col + BLAS
    for (const onednn of [true, false]) {
      r.addon.useOneDnn(onednn);
      // 1x4x4x2 input, 3x3x2x3 filter, stride 1, same padding -> 1x4x4x3
      const g = Int32Array.from([1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1]);
      const x = new Float32Array(32).fill(1);
      const w = new Float32Array(54).fill(1);
      const y = new Float32Array(48);
      r.addon.conv2d(g, x, w, y);
      // the centre pixel sees all 9 taps of 2 channels; a corner sees 4
      expect(y[(1 * 4 + 1) * 3]).toBe(18);
      expect(y[0]).toBe(8);
      expect(() => r.addon.conv2d(g, x, w, new Float32Array(47))).toThrow(/sizes do not match/);
      expect(() => r.addon.conv2d(Int32Array.from([1, 4]), x, w, y)).toThrow(/geometry/);
      expect(() => r.addon.conv2d(g, new Float64Array(32) as unknown as Float32Array, w, y)).toThrow(/Float32Array/);
      const dw = new Float32Array(54);
      r.addon.conv2dFilterGrad(g, x, new Float32Array(48).fill(1), dw);
      // the centre tap sees all 16 output pixels
      expect(dw[(1 * 3 + 1) * 6]).toBe(16);
      const dx = new Float32Array(32).fill(Number.NaN);
      r.addon.conv2dInputGrad(g, new Float32Array(48).fill(1), w, dx);
      // an inner pixel feeds 9 outputs of 3 channels, a corner 4 (and every value is written)
      expect(dx[(1 * 4 + 1) * 2]).toBe(27);
      expect(dx[0]).toBe(12);
      expect(() => r.addon.conv2dInputGrad(g, new Float32Array(48), w, new Float32Array(31))).toThrow(/sizes do not match/);
    }
    r.addon.useOneDnn(true);
  });

  it('adv2 --no-native info reports it off, and adv2 info reports what runs', () => {
    const info = (args: string[]): { native: { off?: string; config?: string } } => JSON.parse(execFileSync(
      process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, ADV2_BACKEND: 'wasm' } })) as { native: { off?: string; config?: string } };
    expect(info(['--no-native']).native.off).toBe('turned off by the caller');
    const on = info([]).native;
    if (loadNativeConv().addon !== null) expect(on.config).toMatch(/OpenBLAS/);
    else expect(on.off).toMatch(/not built|failed to load|disabled/);
  });
});
