/** The CLI end to end on its error paths: one line, non-zero exit, nothing half-written. */
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

describe('adv2 evaluate', () => {
  const args = (out: string, extra: string[] = []): string[] =>
    ['evaluate', '--model', 'placed-resnet', '--interpreter', 'cam', '--attack', 'pgd', '--n', '3', '--batch', '1', '--steps', '30', '--seed', '3', '--out', out, ...(extra.includes('--workers') ? [] : ['--workers', '1']), ...extra];
  const lines = (dir: string): { index: number; targetClass: number; success: boolean; mapL1: number }[] =>
    readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; targetClass: number; success: boolean; mapL1: number });

  it('streams one line per image, summarises with the interpreter settings, resumes an interrupted run exactly, and gives the same lines with two workers', async () => {
    const full = mkdtempSync(join(tmpdir(), 'adv2-eval-'));
    expect((await run(args(full))).code).toBe(0);
    const whole = lines(full);
    expect(whole).toHaveLength(3);
    const summary = JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary.n).toBe(3);
    expect(summary.interpreterSettings).toEqual({ layer: 'last conv (GAP + linear head)' });
    expect(summary.asr).toBeCloseTo(whole.filter((r) => r.success).length / 3, 10);

    // an interruption after image 1, mid-way through writing image 2's line
    const cut = mkdtempSync(join(tmpdir(), 'adv2-eval-'));
    const text = readFileSync(join(full, 'results.jsonl'), 'utf8').split('\n');
    writeFileSync(join(cut, 'results.jsonl'), `${text[0]}\n${text[1]!.slice(0, 20)}`);
    expect((await run(args(cut, ['--resume']))).code).toBe(0);
    expect(lines(cut)).toEqual(whole);
    expect((JSON.parse(readFileSync(join(cut, 'summary.json'), 'utf8')) as { resumedImages: number }).resumedImages).toBe(1);

    // two worker processes: the same lines, in pick order
    const parallel = mkdtempSync(join(tmpdir(), 'adv2-eval-'));
    expect((await run(args(parallel, ['--workers', '2']))).code).toBe(0);
    expect(lines(parallel)).toEqual(whole);
    expect((JSON.parse(readFileSync(join(parallel, 'summary.json'), 'utf8')) as { workers: number }).workers).toBe(2);

    // resuming with other settings is refused in one line
    const r = await run(args(cut, ['--resume', '--epsilon', '0.02']));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: .*config\.json records other settings/);
  }, 120_000);
});
