import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancedIndices, batchTensor, classCounts, imageAt, subsetDataset, validateDataset, type Dataset } from '../src/data/dataset.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, PLACED_SEEDS } from '../src/data/fashion-mnist.js';
import { FIXTURE_FILES, FIXTURE_PER_CLASS, FIXTURE_SELECTION_SEED } from '../src/data/fixture.js';
import { encodeIdx, IdxError, parseIdx } from '../src/data/idx.js';
import { makePlacedDataset, placedBatches, renderPlacedItem, resolvePlacedParams } from '../src/data/placed.js';
import { renderGrid } from '../src/data/preview.js';
import {
  convertChannels,
  decodeImage,
  encodePng,
  fitToSize,
  imageToModelInput,
  imageToTensor,
  tensorToChannels,
  tensorToImage,
  type DecodedImage,
} from '../src/io/image.js';
import { DatasetNotFoundError, loadFashionMnist } from '../src/io/node/fashion-mnist.js';
import { fixturesDir, loadFixture } from '../src/io/node/fixtures.js';
import { readIdxFile, writeIdxFile } from '../src/io/node/idx-file.js';
import { loadImageFolder, readImageFile, writePngFile } from '../src/io/node/image-file.js';
import { fetchFixture, gunzipWeb } from '../src/io/web.js';
import { Rng } from '../src/util/rng.js';
import { useBackend } from './helpers/backends.js';

const HAVE_DEBIAN = existsSync(join(FASHION_MNIST_DEFAULT_DIR, 't10k-images-idx3-ubyte.gz'));
let tmp: string;

beforeAll(async () => {
  await useBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'adv2-data-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** byte-wise equality without vitest's slow deep comparison of big typed arrays */
function sameArray(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** expect fn to throw a single-line error matching re */
function oneLineError(fn: () => unknown, re: RegExp): void {
  let msg = '';
  try {
    fn();
  } catch (err) {
    msg = (err as Error).message;
  }
  expect(msg).toMatch(re);
  expect(msg).not.toContain('\n');
}

describe('IDX', () => {
  const header = [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2];
  const body = Array.from({ length: 12 }, (_, i) => i * 20);

  it('parses a hand-built buffer', () => {
    const { dims, data } = parseIdx(Uint8Array.from([...header, ...body]));
    expect(dims).toEqual([2, 3, 2]);
    expect(Array.from(data)).toEqual(body);
    expect(Array.from(encodeIdx([2, 3, 2], Uint8Array.from(body)))).toEqual([...header, ...body]);
    const labels = parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]));
    expect(labels.dims).toEqual([3]);
    expect(Array.from(labels.data)).toEqual([7, 8, 9]);
  });

  it('rejects truncated and corrupt input with one-line errors', () => {
    oneLineError(() => parseIdx(Uint8Array.from([...header, ...body.slice(0, 4)])), /^IDX file truncated: expected 28 bytes, got 20$/);
    oneLineError(() => parseIdx(Uint8Array.from([0, 0])), /IDX file truncated: expected at least 4 header bytes, got 2/);
    oneLineError(() => parseIdx(Uint8Array.from(header.slice(0, 9))), /IDX file truncated: expected at least 16 header bytes/);
    oneLineError(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0])), /not an IDX file: bad magic number 0x01020801/);
    oneLineError(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 8, 0])), /gzip-compressed/);
    oneLineError(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0])), /unsupported IDX data type 0x0d \(float32\)/);
    oneLineError(() => parseIdx(Uint8Array.from([0, 0, 0x42, 1])), /unknown data type 0x42/);
    oneLineError(() => parseIdx(Uint8Array.from([0, 0, 8, 0])), /zero dimensions/);
    oneLineError(() => parseIdx(Uint8Array.from([...header, ...body, 1, 2])), /corrupt IDX file: expected 28 bytes for dimensions 2x3x2, got 30/);
    expect(() => parseIdx(new Uint8Array(3))).toThrow(IdxError);
  });

  it('reads gzipped and raw files from disk', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    writeIdxFile(join(tmp, 'a.idx.gz'), [2, 3, 4], data);
    writeIdxFile(join(tmp, 'a.idx'), [2, 3, 4], data);
    for (const f of ['a.idx.gz', 'a.idx']) {
      const r = readIdxFile(join(tmp, f));
      expect(r.dims).toEqual([2, 3, 4]);
      expect(Array.from(r.data)).toEqual(Array.from(data));
    }
    writeFileSync(join(tmp, 'short.gz'), gzipSync(Uint8Array.from([...header, 1, 2])));
    oneLineError(() => readIdxFile(join(tmp, 'short.gz')), /short\.gz: IDX file truncated: expected 28 bytes, got 18/);
    writeFileSync(join(tmp, 'bad.gz'), Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    oneLineError(() => readIdxFile(join(tmp, 'bad.gz')), /corrupt gzip data in .*bad\.gz/);
    oneLineError(() => readIdxFile(join(tmp, 'missing.idx')), /cannot read .*missing\.idx: no such file/);
  });
});

describe('Fashion-MNIST loader', () => {
  it('explains how to install the data when it is absent', () => {
    const dir = join(tmp, 'no-fmnist');
    oneLineError(() => loadFashionMnist('test', dir), /sudo apt-get install dataset-fashion-mnist.*--data DIR/);
    mkdirSync(dir, { recursive: true });
    writeIdxFile(join(dir, 't10k-images-idx3-ubyte.gz'), [1, 28, 28], new Uint8Array(784));
    oneLineError(() => loadFashionMnist('test', dir), /has no t10k-labels-idx1-ubyte\[\.gz\].*sudo apt-get install dataset-fashion-mnist/);
    expect(() => loadFashionMnist('test', dir)).toThrow(DatasetNotFoundError);
  });

  it('loads a directory of gzipped or raw IDX files and validates it', () => {
    const dir = join(tmp, 'mini-fmnist');
    writeIdxFile(join(dir, 'train-images-idx3-ubyte.gz'), [3, 28, 28], new Uint8Array(3 * 784).fill(255));
    writeIdxFile(join(dir, 'train-labels-idx1-ubyte'), [3], Uint8Array.from([0, 9, 4]));
    const ds = loadFashionMnist('train', dir);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(Array.from(ds.labels)).toEqual([0, 9, 4]);
    expect(ds.classNames[9]).toBe('Ankle boot');
    writeIdxFile(join(dir, 't10k-images-idx3-ubyte'), [2, 28, 28], new Uint8Array(2 * 784));
    writeIdxFile(join(dir, 't10k-labels-idx1-ubyte'), [3], new Uint8Array(3));
    oneLineError(() => loadFashionMnist('test', dir), /2 images but 3 labels/);
  });

  it.skipIf(!HAVE_DEBIAN)('loads the Debian test split', () => {
    const ds = loadFashionMnist('test');
    expect(ds.labels.length).toBe(10000);
    expect(ds.images.length).toBe(10000 * 784);
    expect(classCounts(ds)).toEqual(new Array(10).fill(1000));
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    validateDataset(ds);
  });
});

describe('Dataset helpers', () => {
  it('batchTensor gives x in [0, 1] and int32 labels', () => {
    const ds: Dataset = {
      name: 'tiny',
      images: Uint8Array.from([0, 255, 51, 102, 10, 20, 30, 40]),
      labels: Uint8Array.from([1, 0]),
      shape: [2, 2, 1],
      classNames: ['a', 'b'],
    };
    const { x, y } = batchTensor(ds, [1, 0]);
    expect(x.shape).toEqual([2, 2, 2, 1]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([0, 1]);
    const xs = x.dataSync();
    expect(xs[0]).toBeCloseTo(10 / 255, 6);
    expect(xs[5]).toBeCloseTo(1, 6);
    tf.dispose([x, y]);
    expect(Array.from(imageAt(ds, 0))).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
    const sub = subsetDataset(ds, [1]);
    expect(Array.from(sub.images)).toEqual([10, 20, 30, 40]);
    expect(Array.from(sub.sourceIndices!)).toEqual([1]);
    expect(() => batchTensor(ds, [2])).toThrow(/out of range/);
  });
});

describe('placed variant', () => {
  let source: Dataset;
  beforeAll(() => {
    source = loadFixture('fashion-mnist');
  });

  it('is deterministic: same seed → identical bytes, different seed → different', () => {
    const idx = Array.from({ length: 100 }, (_, i) => i * 3);
    const a = makePlacedDataset(source, { seed: 1, indices: idx });
    const b = makePlacedDataset(source, { seed: 1, indices: idx });
    const c = makePlacedDataset(source, { seed: 2, indices: idx });
    expect(sameArray(a.images, b.images)).toBe(true);
    expect(sameArray(a.boxes, b.boxes)).toBe(true);
    expect(sameArray(a.images, c.images)).toBe(false);
    expect(a.shape).toEqual([56, 56, 1]);
    expect(Array.from(a.labels)).toEqual(idx.map((i) => source.labels[i]));
    validateDataset(a);
    // items are keyed by source index: a subset equals the same items of a bigger run
    const d = makePlacedDataset(source, { seed: 1, indices: [6, 0] });
    expect(sameArray(d.images.subarray(0, 3136), a.images.subarray(2 * 3136, 3 * 3136))).toBe(true);
    // batches generated on the fly match
    const batches = [...placedBatches(source, { seed: 1 }, 40, idx)];
    expect(batches.map((bt) => bt.labels.length)).toEqual([40, 40, 20]);
    expect(sameArray(batches[1]!.images, a.images.subarray(40 * 3136, 80 * 3136))).toBe(true);
  });

  it('keeps boxes inside the canvas around ≥ 95% of the object mass, with weaker clutter', () => {
    const p = resolvePlacedParams({ seed: 'box-test' });
    let minFrac = 1;
    let outsideAbove = 0;
    let clutterMax = 0;
    for (let i = 0; i < 300; i++) {
      const r = renderPlacedItem(source, i, p);
      const [x0, y0, x1, y1] = r.box;
      expect(0 <= x0 && x0 < x1 && x1 <= 56 && 0 <= y0 && y0 < y1 && y1 <= 56).toBe(true);
      let inside = 0;
      let total = 0;
      for (let y = 0; y < 56; y++) {
        for (let x = 0; x < 56; x++) {
          const v = r.object[y * 56 + x]!;
          total += v;
          if (x >= x0 && x < x1 && y >= y0 && y < y1) inside += v;
          else if (v > p.boxThreshold) outsideAbove++;
        }
      }
      minFrac = Math.min(minFrac, inside / total);
      expect(r.scale >= 0.75 && r.scale < 1.5).toBe(true);
      expect(r.fragments.length >= 1 && r.fragments.length <= 3).toBe(true);
      for (const f of r.fragments) {
        expect(f.sourceIndex).not.toBe(i);
        expect(f.intensity >= 0.3 && f.intensity < 0.6).toBe(true);
        expect(f.crop[2] * f.crop[3]).toBeLessThanOrEqual(100);
      }
      // clutter never exceeds 0.6 outside the object
      for (let q = 0; q < 56 * 56; q++) if (r.object[q] === 0) clutterMax = Math.max(clutterMax, r.image[q]!);
    }
    expect(outsideAbove).toBe(0);
    expect(clutterMax).toBeLessThan(0.6);
    expect(minFrac).toBeGreaterThanOrEqual(0.95);
    // most fragments stay (mostly) off the object box
    const overlaps = Array.from({ length: 200 }, (_, i) => renderPlacedItem(source, i, p).fragments.map((f) => f.overlap)).flat();
    expect(overlaps.filter((o) => o <= p.maxFragmentOverlap).length / overlaps.length).toBeGreaterThan(0.9);
  });

  it('takes the canvas size as a parameter and validates it', () => {
    const big = makePlacedDataset(source, { seed: 3, canvas: 80, indices: [0, 1] });
    expect(big.shape).toEqual([80, 80, 1]);
    expect(big.images.length).toBe(2 * 6400);
    for (const v of big.boxes!) expect(v >= 0 && v <= 80).toBe(true);
    oneLineError(() => makePlacedDataset(source, { seed: 3, canvas: 40, indices: [0] }), /canvas 40 is smaller than the largest scaled item \(42x42 px\)/);
  });
});

describe('fixtures', () => {
  it('loads 1,000 Fashion-MNIST test items, 100 per class', () => {
    const ds = loadFixture('fashion-mnist');
    expect(ds.labels.length).toBe(1000);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(classCounts(ds)).toEqual(new Array(10).fill(100));
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    const src = Array.from(ds.sourceIndices!);
    expect(new Set(src).size).toBe(1000);
    expect(src.every((v, i) => v >= 0 && v < 10000 && (i === 0 || v > src[i - 1]!))).toBe(true);
    expect(ds.meta.selection.seed).toBe(FIXTURE_SELECTION_SEED);
  });

  it('loads the placed variant of the same items with boxes', () => {
    const plain = loadFixture('fashion-mnist');
    const ds = loadFixture('fashion-mnist-placed');
    expect(ds.labels.length).toBe(1000);
    expect(ds.shape).toEqual([56, 56, 1]);
    expect(classCounts(ds)).toEqual(new Array(10).fill(100));
    expect(Array.from(ds.labels)).toEqual(Array.from(plain.labels));
    expect(Array.from(ds.sourceIndices!)).toEqual(Array.from(plain.sourceIndices!));
    expect(ds.boxes!.length).toBe(4000);
    expect(ds.meta.generator).toMatchObject({ kind: 'placed', seed: PLACED_SEEDS.test, canvas: 56 });
    const { x, y } = batchTensor(ds, [0, 999]);
    expect(x.shape).toEqual([2, 56, 56, 1]);
    expect(y.shape).toEqual([2]);
    tf.dispose([x, y]);
  });

  it('detects a corrupted fixture', () => {
    const dir = join(tmp, 'fixtures-bad');
    mkdirSync(dir, { recursive: true });
    const stem = FIXTURE_FILES['fashion-mnist'];
    copyFileSync(join(fixturesDir(), `${stem}.idx.gz`), join(dir, `${stem}.idx.gz`));
    const meta = JSON.parse(readFileSync(join(fixturesDir(), `${stem}.json`), 'utf8')) as { imagesSha256: string };
    meta.imagesSha256 = '0'.repeat(64);
    writeFileSync(join(dir, `${stem}.json`), JSON.stringify(meta));
    oneLineError(() => loadFixture('fashion-mnist', { dir }), /checksum mismatch/);
  });

  it('loads through the browser path (fetch + DecompressionStream) identically', async () => {
    const fakeFetch = async (url: string) => {
      const bytes = readFileSync(url.replace('test://fixtures/', fixturesDir() + '/'));
      return { ok: true, status: 200, arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
    };
    const web = await fetchFixture('test://fixtures', 'fashion-mnist-placed', fakeFetch);
    const node = loadFixture('fashion-mnist-placed');
    expect(sameArray(web.images, node.images)).toBe(true);
    expect(sameArray(web.boxes, node.boxes)).toBe(true);
    expect(await gunzipWeb(Uint8Array.from([1, 2]))).toEqual(Uint8Array.from([1, 2]));
  });

  it.skipIf(!HAVE_DEBIAN)('regenerates bit-identically from the Debian data', () => {
    const test = loadFashionMnist('test');
    const plain = loadFixture('fashion-mnist');
    const placed = loadFixture('fashion-mnist-placed');
    const sel = balancedIndices(test.labels, 10, FIXTURE_PER_CLASS, new Rng(FIXTURE_SELECTION_SEED));
    expect(Array.from(sel)).toEqual(Array.from(plain.sourceIndices!));
    expect(sameArray(subsetDataset(test, sel).images, plain.images)).toBe(true);
    const again = makePlacedDataset(test, { ...resolvePlacedParams({ seed: PLACED_SEEDS.test }), indices: sel });
    expect(sameArray(again.images, placed.images)).toBe(true);
    expect(sameArray(again.boxes, placed.boxes)).toBe(true);
    // the train generator differs from the test generator
    expect(PLACED_SEEDS.train).not.toBe(PLACED_SEEDS.test);
  });
});

/** Hand-built PNG: chunks with CRCs; `raw` = filtered scanlines (filter byte 0 per row). */
function makePng(width: number, height: number, colorType: number, depth: number, raw: Uint8Array, extra: [string, Uint8Array][] = []): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, 'ascii');
    Buffer.from(data).copy(b, 8);
    b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      ...extra.map(([t, d]) => chunk(t, d)),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

describe('image I/O', () => {
  const rand = (n: number, seed: number): Float32Array => {
    const r = new Rng(seed);
    return Float32Array.from({ length: n }, () => r.int(256) / 255);
  };

  it('PNG encode → decode is exact at 8 bits (gray and RGB)', () => {
    const gray: DecodedImage = { data: rand(7 * 5, 1), width: 7, height: 5, channels: 1 };
    const g = decodeImage(encodePng(gray));
    expect(g.channels).toBe(1);
    expect([g.width, g.height]).toEqual([7, 5]);
    expect(g.data).toEqual(gray.data);
    const rgb: DecodedImage = { data: rand(6 * 4 * 3, 2), width: 6, height: 4, channels: 3 };
    const c = decodeImage(encodePng(rgb));
    expect(c.channels).toBe(3);
    expect(c.data).toEqual(rgb.data);
    // forced conversions
    expect(decodeImage(encodePng(gray), { channels: 3 }).data).toEqual(convertChannels(gray, 3).data);
    const asGray = decodeImage(encodePng(rgb), { channels: 1 });
    expect(asGray.data[0]).toBeCloseTo(0.299 * rgb.data[0]! + 0.587 * rgb.data[1]! + 0.114 * rgb.data[2]!, 6);
    // uint8 input and clamping
    const u = decodeImage(encodePng({ data: Uint8Array.from([0, 128, 255]), width: 3, height: 1, channels: 1 }));
    expect(Array.from(u.data)).toEqual([0, 128 / 255, 1].map(Math.fround));
    const clamp = decodeImage(encodePng({ data: Float32Array.from([-1, 2, Number.NaN]), width: 3, height: 1, channels: 1 }));
    expect(Array.from(clamp.data)).toEqual([0, 1, 0]);
  });

  it('decodes RGBA (over black), gray+alpha, 16-bit, 1-bit and palette PNGs', () => {
    const rgba = decodeImage(encodePng({ data: Uint8Array.from([255, 255, 255, 51, 0, 255, 0, 255]), width: 2, height: 1, channels: 4 }));
    expect(rgba.channels).toBe(3);
    expect(rgba.data[0]).toBeCloseTo(0.2, 6);
    expect(Array.from(rgba.data.slice(3))).toEqual([0, 1, 0]);
    // 16-bit gray 2x1: 0x0000, 0x8000
    const g16 = decodeImage(makePng(2, 1, 0, 16, Uint8Array.from([0, 0, 0, 0x80, 0x00])));
    expect(g16.channels).toBe(1);
    expect(g16.data[1]).toBeCloseTo(0x8000 / 65535, 6);
    // 16-bit RGB 1x1
    const c16 = decodeImage(makePng(1, 1, 2, 16, Uint8Array.from([0, 0xff, 0xff, 0x00, 0x00, 0x40, 0x00])));
    expect(c16.channels).toBe(3);
    expect(c16.data[0]).toBe(1);
    expect(c16.data[2]).toBeCloseTo(0x4000 / 65535, 6);
    // 1-bit gray 3x1: 1 0 1
    const b1 = decodeImage(makePng(3, 1, 0, 1, Uint8Array.from([0, 0b10100000])));
    expect(Array.from(b1.data)).toEqual([1, 0, 1]);
    // gray+alpha 8-bit 1x1: gray 255 at alpha 128
    const ga = decodeImage(makePng(1, 1, 4, 8, Uint8Array.from([0, 255, 128])));
    expect(ga.channels).toBe(1);
    expect(ga.data[0]).toBeCloseTo(128 / 255, 6);
    // palette: gray entries → 1 channel, coloured entries → 3
    const pal = (entries: number[]) => makePng(2, 1, 3, 8, Uint8Array.from([0, 0, 1]), [['PLTE', Uint8Array.from(entries)]]);
    const pg = decodeImage(pal([10, 10, 10, 200, 200, 200]));
    expect(pg.channels).toBe(1);
    expect(pg.data[1]).toBeCloseTo(200 / 255, 6);
    const pc = decodeImage(pal([255, 0, 0, 0, 0, 255]));
    expect(pc.channels).toBe(3);
    expect(Array.from(pc.data)).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('decodes a JPEG generated with jpeg-js', () => {
    const w = 16;
    const h = 8;
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) rgba.set([x * 16, y * 32, 128, 255], 4 * (y * w + x));
    }
    const bytes = new Uint8Array(jpeg.encode({ data: rgba, width: w, height: h }, 95).data);
    const img = decodeImage(bytes);
    expect([img.width, img.height, img.channels]).toEqual([16, 8, 3]);
    let maxErr = 0;
    for (let p = 0; p < w * h; p++) for (let k = 0; k < 3; k++) maxErr = Math.max(maxErr, Math.abs(img.data[3 * p + k]! - rgba[4 * p + k]! / 255));
    expect(maxErr).toBeLessThan(0.06);
    const grayRgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) grayRgba.set([p, p, p, 255], 4 * p);
    const g = decodeImage(new Uint8Array(jpeg.encode({ data: grayRgba, width: w, height: h }, 95).data));
    expect(g.channels).toBe(1);
  });

  it('gives one-line errors for empty, unknown and corrupt data', () => {
    oneLineError(() => decodeImage(new Uint8Array(0)), /^image is empty$/);
    oneLineError(() => decodeImage(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), { name: 'x.bin' }), /^not a PNG or JPEG image: x\.bin$/);
    const png = encodePng({ data: rand(64, 3), width: 8, height: 8, channels: 1 });
    oneLineError(() => decodeImage(png.subarray(0, 40), { name: 'cut.png' }), /^corrupt PNG image: cut\.png \(/);
    oneLineError(() => decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0, 0, 0]), { name: 'j.jpg' }), /^corrupt JPEG image: j\.jpg/);
    oneLineError(() => encodePng({ data: new Float32Array(0), width: 0, height: 3, channels: 1 }), /empty image/);
    writeFileSync(join(tmp, 'fake.png'), 'hello');
    oneLineError(() => readImageFile(join(tmp, 'fake.png')), /not a PNG or JPEG image: .*fake\.png/);
    oneLineError(() => readImageFile(join(tmp, 'nope.png')), /cannot read .*nope\.png: no such file/);
  });

  it('converts to tensors, resizes and crops to a model input', () => {
    const img: DecodedImage = { data: rand(20 * 40, 4), width: 40, height: 20, channels: 1 };
    const t = imageToTensor(img);
    expect(t.shape).toEqual([1, 20, 40, 1]);
    const s = fitToSize(t, 32, 'stretch');
    expect(s.shape).toEqual([1, 32, 32, 1]);
    const c = fitToSize(t, [10, 10], 'center-crop');
    expect(c.shape).toEqual([1, 10, 10, 1]);
    // center-crop of an exact 2x downscale = the middle columns averaged
    const back = tensorToImage(c);
    const expected = (img.data[10]! + img.data[11]! + img.data[50]! + img.data[51]!) / 4; // output (0,0): rows 0-1, cols 10-11
    expect(back.data[0]).toBeCloseTo(expected, 5);
    const rgb = tensorToChannels(t, 3);
    expect(rgb.shape).toEqual([1, 20, 40, 3]);
    const gray = tensorToChannels(rgb, 1);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(gray, t))).dataSync()[0]!)).toBeLessThan(1e-6);
    const m = imageToModelInput(img, 28, 3);
    expect(m.shape).toEqual([1, 28, 28, 3]);
    const before = tf.memory().numTensors;
    tf.dispose(imageToModelInput(img, 28, 1));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([t, s, c, rgb, gray, m]);
    expect(convertChannels(convertChannels(img, 3), 1).data[5]).toBeCloseTo(img.data[5]!, 6);
  });

  it('renders a preview grid with boxes', () => {
    const ds = makePlacedDataset(loadFixture('fashion-mnist'), { seed: 5, indices: [0, 1, 2] });
    const g = renderGrid(ds, [0, 1, 2], { cols: 3, zoom: 1, gap: 1 });
    expect([g.width, g.height, g.channels]).toEqual([3 * 56 + 4, 56 + 2, 3]);
    const [x0, y0] = [ds.boxes![0]!, ds.boxes![1]!];
    const o = 3 * ((1 + y0) * g.width + (1 + x0));
    expect(g.data[o]).toBeCloseTo(1, 6); // red outline
    expect(g.data[o + 1]).toBeCloseTo(0.15, 6);
  });
});

describe('image folder dataset', () => {
  it('loads one class per sorted subfolder, resizing PNG and JPEG files', () => {
    const dir = join(tmp, 'folder');
    const red: DecodedImage = { data: new Float32Array(10 * 10 * 3).map((_, i) => (i % 3 === 0 ? 1 : 0)), width: 10, height: 10, channels: 3 };
    writePngFile(join(dir, 'zebra', 'a.png'), red);
    writePngFile(join(dir, 'zebra', 'b.PNG'), { data: new Float32Array(8 * 8).fill(0.5), width: 8, height: 8, channels: 1 });
    const rgba = new Uint8Array(12 * 6 * 4).fill(255);
    mkdirSync(join(dir, 'apple'), { recursive: true });
    writeFileSync(join(dir, 'apple', 'c.jpg'), jpeg.encode({ data: rgba, width: 12, height: 6 }, 90).data);
    writeFileSync(join(dir, 'apple', 'notes.txt'), 'ignored');
    writeFileSync(join(dir, 'apple', '.hidden.png'), 'ignored');
    const ds = loadImageFolder(dir, { size: 8, channels: 3 });
    expect(ds.classNames).toEqual(['apple', 'zebra']);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1]);
    expect(ds.shape).toEqual([8, 8, 3]);
    expect(ds.images.length).toBe(3 * 8 * 8 * 3);
    expect(ds.images[0]).toBeGreaterThan(0.95); // white JPEG
    expect(Array.from(ds.images.slice(192, 195))).toEqual([1, 0, 0]); // red PNG, resized
    expect(ds.images[2 * 192]).toBeCloseTo(128 / 255, 6); // gray PNG → RGB
    const gray = loadImageFolder(dir, { size: [4, 6], channels: 1, fit: 'stretch' });
    expect(gray.shape).toEqual([4, 6, 1]);
    validateDataset(gray);
  });

  it('reports empty folders and unreadable files', () => {
    const dir = join(tmp, 'folder-bad');
    oneLineError(() => loadImageFolder(dir, { size: 8, channels: 1 }), /image folder not found/);
    mkdirSync(dir, { recursive: true });
    oneLineError(() => loadImageFolder(dir, { size: 8, channels: 1 }), /no class subfolders in .*folder-bad/);
    mkdirSync(join(dir, 'empty'));
    oneLineError(() => loadImageFolder(dir, { size: 8, channels: 1 }), /class folder .*empty has no PNG\/JPEG images/);
    writeFileSync(join(dir, 'empty', 'x.png'), 'not really');
    oneLineError(() => loadImageFolder(dir, { size: 8, channels: 1 }), /not a PNG or JPEG image: .*empty\/x\.png/);
  });
});
