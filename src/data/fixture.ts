/**
 * Small test fixtures shipped in fixtures/ (browser-safe part): the JSON sidecar format and the
 * assembly of a Dataset from it. Each fixture is `<name>.idx.gz` (gzipped IDX uint8 images
 * [N, H, W, C]) plus `<name>.json` (FixtureMeta). Node reads them with src/io/node/fixtures.ts,
 * a browser with src/io/web.ts.
 */
import type { Dataset } from './dataset.js';
import { DatasetError, validateDataset } from './dataset.js';
import { parseIdx } from './idx.js';
import type { PlacedParams } from './placed.js';

export type FixtureName = 'fashion-mnist' | 'fashion-mnist-placed';
export const FIXTURE_NAMES: readonly FixtureName[] = ['fashion-mnist', 'fashion-mnist-placed'];

/** File stem (without .idx.gz / .json) of each fixture. */
export const FIXTURE_FILES: Readonly<Record<FixtureName, string>> = Object.freeze({
  'fashion-mnist': 'fashion-mnist-test-1000',
  'fashion-mnist-placed': 'fashion-mnist-placed-test-1000',
});

export const FIXTURE_FORMAT = 'adv2-fixture/1';

/** Seed of the class-balanced selection of the 1,000 Fashion-MNIST test items. */
export const FIXTURE_SELECTION_SEED = 'fashion-mnist-fixture/test-1000/v1';
export const FIXTURE_PER_CLASS = 100;

export interface FixtureMeta {
  format: typeof FIXTURE_FORMAT;
  /** dataset name */
  name: string;
  description: string;
  /** file name of the gzipped IDX images, relative to the sidecar */
  images: string;
  /** SHA-256 (hex) of the decompressed IDX file */
  imagesSha256: string;
  count: number;
  shape: [number, number, number];
  classNames: string[];
  labels: number[];
  /** flat x0, y0, x1, y1 per item (half-open), or null */
  boxes: number[] | null;
  source: { dataset: string; split: string; indices: number[] };
  selection: { seed: string; perClass: number; method: string };
  /** generator parameters of derived variants (placed), or null */
  generator: ({ kind: 'placed' } & Omit<PlacedParams, 'seed'> & { seed: string | number }) | null;
}

/** Validate a parsed sidecar object; throws DatasetError naming the first problem. */
export function checkFixtureMeta(meta: unknown, what = 'fixture'): FixtureMeta {
  const m = meta as Partial<FixtureMeta> | null;
  if (m === null || typeof m !== 'object') throw new DatasetError(`${what}: sidecar is not a JSON object`);
  if (m.format !== FIXTURE_FORMAT) throw new DatasetError(`${what}: unknown fixture format ${JSON.stringify(m.format)} (expected ${FIXTURE_FORMAT})`);
  if (!Array.isArray(m.labels) || !Array.isArray(m.shape) || m.shape.length !== 3 || !Array.isArray(m.classNames)) {
    throw new DatasetError(`${what}: sidecar lacks labels, shape or classNames`);
  }
  if (m.labels.length !== m.count) throw new DatasetError(`${what}: ${m.labels.length} labels for count ${m.count}`);
  if (m.boxes !== null && m.boxes !== undefined && m.boxes.length !== 4 * m.count!) {
    throw new DatasetError(`${what}: ${m.boxes.length} box values for count ${m.count}`);
  }
  return m as FixtureMeta;
}

/** Assemble the Dataset from the sidecar and the decompressed IDX bytes. */
export function datasetFromFixture(meta: FixtureMeta, idxBytes: Uint8Array): Dataset {
  const idx = parseIdx(idxBytes);
  const [h, w, c] = meta.shape;
  const dims = idx.dims;
  const dimsOk = dims[0] === meta.count && dims[1] === h && dims[2] === w && (dims.length === 3 ? c === 1 : dims.length === 4 && dims[3] === c);
  if (!dimsOk) {
    throw new DatasetError(`fixture ${meta.name}: images have dimensions ${dims.join('x')}, sidecar says ${meta.count}x${h}x${w}x${c}`);
  }
  const ds: Dataset = {
    name: meta.name,
    images: idx.data,
    labels: Int32Array.from(meta.labels),
    shape: [h, w, c],
    classNames: Object.freeze([...meta.classNames]),
    sourceIndices: Int32Array.from(meta.source.indices),
  };
  if (meta.boxes !== null) ds.boxes = Int16Array.from(meta.boxes);
  validateDataset(ds);
  return ds;
}
