/** The CLI end to end on its error paths: one line, non-zero exit, nothing half-written. */
import { mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true; });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(['node', 'adv2', ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
    out.mockRestore();
  }
}

describe('adv2 CLI errors', () => {
  it('rejects an out-of-range target class before attacking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adv2-cli-'));
    const r = await run(['attack', '--model', 'placed-resnet', '--interpreter', 'cam', '--index', '3', '--target', '12', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--target must be a class index in 0\.\.9, got 12/);
    expect(existsSync(join(dir, 'result.json'))).toBe(false);
  });

  it('rejects an unwritable output folder in one line, before any work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adv2-cli-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await run(['attack', '--model', 'placed-resnet', '--interpreter', 'cam', '--index', '3', '--target', '1', '--out', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write to output folder .*\(ENOTDIR\)/);
  });

  it('names unknown models, unreadable images and bad fixture indices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adv2-cli-'));
    const notImage = join(dir, 'x.png');
    writeFileSync(notImage, 'not an image');
    const cases: [string[], RegExp][] = [
      [['predict', '--model', 'nope', '--input', notImage], /unknown model 'nope'/],
      [['predict', '--model', 'fmnist-resnet', '--input', notImage], /not a PNG or JPEG image/],
      [['explain', '--model', 'fmnist-resnet', '--index', '5000', '--out', dir], /--index must be in 0\.\.999, got 5000/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
