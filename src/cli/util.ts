/** Shared CLI plumbing: backend setup, errors as one line, JSON output, progress bars. */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import * as tf from '@tensorflow/tfjs';
import { type BackendInfo, selectBackend } from '../engine/backend.js';

export interface GlobalOptions {
  backend?: string;
  threads?: number;
  /** false with --no-native */
  native?: boolean;
  verbose?: boolean;
}

let invocationArgs: string[] = [];
/** the arguments of this CLI invocation (after `node adv2`), as `main` received them */
export function invocation(): readonly string[] { return invocationArgs; }
export function setInvocation(args: readonly string[]): void { invocationArgs = [...args]; }

/** Thrown for user mistakes: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export async function setupBackend(cmd: Command): Promise<BackendInfo> {
  const g = globalOptions(cmd);
  // silences tfjs's console banners (e.g. the tfjs-node advertisement) in CLI output
  tf.enableProdMode();
  const info = await selectBackend({ backend: g.backend, threads: g.threads, ...(g.native === false ? { native: false } : {}) });
  if (g.verbose) {
    const skipped = info.skipped.map((s) => `${s.name} (${s.reason})`).join(', ');
    process.stderr.write(`adv2: backend ${info.name}, ${info.threads} thread(s)${info.simd ? ', SIMD' : ''}, tfjs ${info.tfjsVersion}${skipped ? `; skipped ${skipped}` : ''}; native convolutions: ${nativeSummary(info)}\n`);
  }
  return info;
}

/** A model card's note on the native convolution addon a run used (`runRecord`'s nativeConv), if any. */
export function cardNativeNote(native: unknown): string {
  const n = native as { config?: string; threads?: number } | null | undefined;
  return n?.config !== undefined ? `, native convolutions: ${n.config} (${n.threads ?? 1} thread(s))` : '';
}

/** One line on the native convolution addon: its BLAS and threads, or why it is off. */
export function nativeSummary(info: BackendInfo): string {
  if (info.native === undefined) return `not used on ${info.name}`;
  return 'config' in info.native ? `${info.native.config}, ${info.native.threads} thread(s)` : `off (${info.native.off})`;
}

/** What every result file records about how it was produced. */
export function runRecord(info: BackendInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    adv2Version: ADV2_VERSION,
    tfjsVersion: tf.version.tfjs,
    node: process.version,
    backend: info.name,
    threads: info.threads,
    simd: info.simd,
    nativeConv: info.native !== undefined && 'config' in info.native ? info.native : null,
    date: new Date().toISOString(),
    ...extra,
  };
}

export const ADV2_VERSION = '0.1.0';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function parseIntOption(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function parseFloatOption(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'tensor backend (default: tfjs-node if installed, else wasm, else cpu; env ADV2_BACKEND)')
    .choices(['tensorflow', 'wasm', 'cpu']);
}

/** A progress bar on stderr when it is a terminal; silent otherwise (so --json output stays clean). */
export function progressBar(format: string, enabled = process.stderr.isTTY === true): {
  start(total: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
} {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total, payload) => bar.start(total, 0, payload),
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}

/** Create the output folder before any long work, so an unwritable path fails in one line, early. */
export function prepareOutDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`cannot write to output folder '${dir}' (${reason})`);
  }
}
