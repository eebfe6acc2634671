/** CLI helpers to get images in and pictures out. */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { batchTensor, boxAt, type Dataset } from '../data/dataset.js';
import type { FixtureName } from '../data/fixture.js';
import { decodeImage, encodePng, imageToModelInput } from '../io/image.js';
import { loadFixture } from '../io/node/fixtures.js';
import type { Classifier } from '../models/classifier.js';
import { writeAtomic } from '../models/node/files.js';
import { Rng } from '../util/rng.js';
import { UsageError } from './util.js';

export interface LoadedInput {
  x: tf.Tensor4D;
  /** true class when known (fixtures) */
  label?: number;
  box?: [number, number, number, number];
  source: string;
}

export function fixtureFor(model: Classifier): FixtureName {
  const d = model.card.dataset;
  if (d === 'fashion-mnist' || d === 'fashion-mnist-placed') return d;
  throw new UsageError(`--index needs a model trained on a fixture dataset (fashion-mnist, fashion-mnist-placed); '${model.name}' is on ${d}: use --input FILE`);
}

let fixtureCache: { name: FixtureName; ds: Dataset } | null = null;
export function fixtureDataset(name: FixtureName): Dataset {
  if (fixtureCache?.name !== name) fixtureCache = { name, ds: loadFixture(name) };
  return fixtureCache.ds;
}

/** the model's input from --input FILE or --index I (a fixture item of the model's dataset) */
export function loadInput(model: Classifier, opts: { input?: string; index?: number }): LoadedInput {
  if ((opts.input === undefined) === (opts.index === undefined)) throw new UsageError('give exactly one of --input FILE or --index I');
  if (opts.input !== undefined) {
    if (!existsSync(opts.input)) throw new UsageError(`input file not found: ${opts.input}`);
    const [h, w, c] = model.inputShape;
    const img = decodeImage(new Uint8Array(readFileSync(opts.input)), { name: opts.input });
    const x = imageToModelInput(img, [h, w], c as 1 | 3);
    return { x, source: opts.input };
  }
  const name = fixtureFor(model);
  const ds = fixtureDataset(name);
  const i = opts.index!;
  if (!Number.isInteger(i) || i < 0 || i >= ds.labels.length) throw new UsageError(`--index must be in 0..${ds.labels.length - 1}, got ${i}`);
  const { x, y } = batchTensor(ds, [i]);
  const label = y.dataSync()[0]!;
  y.dispose();
  return { x, label, box: boxAt(ds, i), source: `fixture ${name}#${i}` };
}

/** [1,H,W,C] or [H,W,C] tensor in [0,1] → PNG file */
export function writeTensorPng(path: string, t: tf.Tensor): void {
  const img = t.rank === 4 ? tf.squeeze(t, [0]) : t;
  const [h, w, c] = img.shape as [number, number, number];
  writeAtomic(path, encodePng({ data: img.dataSync() as Float32Array, width: w, height: h, channels: c as 1 | 3 }));
  if (img !== t) img.dispose();
}

export function checkClass(model: Classifier, c: number, flag: string): void {
  if (!Number.isInteger(c) || c < 0 || c >= model.numClasses) {
    throw new UsageError(`${flag} must be a class index in 0..${model.numClasses - 1}, got ${c}`);
  }
}

/** the first n fixture items the model classifies correctly, with seeded targets ≠ true class */
export function pickExamples(model: Classifier, n: number, seed: number): { indices: number[]; labels: number[]; targets: number[] } {
  const ds = fixtureDataset(fixtureFor(model));
  const rng = new Rng(seed);
  const indices: number[] = [];
  const labels: number[] = [];
  for (let start = 0; indices.length < n && start < ds.labels.length; start += 50) {
    const idx = Array.from({ length: Math.min(50, ds.labels.length - start) }, (_, i) => start + i);
    const pred = tf.tidy(() => { const { x } = batchTensor(ds, idx); return Array.from(tf.argMax(model.logits(x), 1).dataSync()); });
    idx.forEach((item, k) => { if (indices.length < n && pred[k] === ds.labels[item]) { indices.push(item); labels.push(ds.labels[item]!); } });
  }
  const targets = labels.map((y) => { const t = rng.int(model.numClasses - 1); return t >= y ? t + 1 : t; });
  return { indices, labels, targets };
}
