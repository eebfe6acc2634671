/**
 * Node adapter: the test fixtures in <package root>/fixtures (see src/data/fixture.ts for the format).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Dataset } from '../../data/dataset.js';
import { DatasetError } from '../../data/dataset.js';
import { FIXTURE_FILES, FIXTURE_NAMES, checkFixtureMeta, datasetFromFixture, type FixtureMeta, type FixtureName } from '../../data/fixture.js';
import { encodeIdx } from '../../data/idx.js';
import { maybeGunzip, readBytes } from './idx-file.js';

let root: string | null = null;

/** The adv2 package root: the nearest ancestor of this module with an adv2 package.json (works from src/ and dist/). */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'adv2') return (root = dir);
      } catch {
        // unreadable package.json: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot locate the adv2 package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const fixturesDir = (): string => join(packageRoot(), 'fixtures');

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export type FixtureDataset = Dataset & { meta: FixtureMeta };

/** Read and validate a fixture's JSON sidecar. */
export function readFixtureMeta(name: FixtureName, dir = fixturesDir()): FixtureMeta {
  if (!FIXTURE_NAMES.includes(name)) throw new DatasetError(`unknown fixture '${name}' (${FIXTURE_NAMES.join(', ')})`);
  const path = join(dir, `${FIXTURE_FILES[name]}.json`);
  const text = new TextDecoder().decode(readBytes(path));
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(`${path}: invalid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  return checkFixtureMeta(meta, path);
}

/**
 * Load fixture `name`: 'fashion-mnist' (1,000 Fashion-MNIST test items, 100 per class, 28x28x1)
 * or 'fashion-mnist-placed' (the same items in the placed variant, 56x56x1, with boxes).
 */
export function loadFixture(name: FixtureName, opts: { dir?: string } = {}): FixtureDataset {
  const dir = resolve(opts.dir ?? fixturesDir());
  const meta = readFixtureMeta(name, dir);
  const path = join(dir, meta.images);
  const idx = maybeGunzip(readBytes(path), path);
  const digest = sha256(idx);
  if (digest !== meta.imagesSha256) {
    throw new DatasetError(`${path}: checksum mismatch (sha256 ${digest.slice(0, 12)}…, sidecar says ${meta.imagesSha256.slice(0, 12)}…); regenerate with npx tsx scripts/make-fixtures.ts`);
  }
  return Object.assign(datasetFromFixture(meta, idx), { meta });
}

/** Write a dataset as fixture files `<stem>.idx.gz` + `<stem>.json` in `dir`; returns their paths. */
export function writeFixture(
  dir: string,
  stem: string,
  ds: Dataset,
  info: Pick<FixtureMeta, 'description' | 'source' | 'selection' | 'generator'>,
): { images: string; meta: string } {
  if (!(ds.images instanceof Uint8Array)) throw new DatasetError('writeFixture needs uint8 images');
  const [h, w, c] = ds.shape;
  const n = ds.labels.length;
  const dims = c === 1 ? [n, h, w] : [n, h, w, c];
  const idx = encodeIdx(dims, ds.images);
  mkdirSync(dir, { recursive: true });
  const imagesFile = `${stem}.idx.gz`;
  const meta: FixtureMeta = {
    format: 'adv2-fixture/1',
    name: ds.name,
    description: info.description,
    images: imagesFile,
    imagesSha256: sha256(idx),
    count: n,
    shape: [h, w, c],
    classNames: [...ds.classNames],
    labels: Array.from(ds.labels),
    boxes: ds.boxes !== undefined ? Array.from(ds.boxes) : null,
    source: info.source,
    selection: info.selection,
    generator: info.generator,
  };
  const images = join(dir, imagesFile);
  const metaPath = join(dir, `${stem}.json`);
  writeFileSync(images, gzipSync(idx, { level: 9 }));
  writeFileSync(metaPath, compactJson(meta) + '\n');
  return { images, meta: metaPath };
}

/** JSON with one key per line but number arrays kept on one line (readable and diff-friendly). */
function compactJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? `\u0000${JSON.stringify(v)}` : v), 2)
    .replace(/"\\u0000(\[[^"]*\])"/g, '$1');
}
