/** Node adapter: model directories on disk (model.json + weights.bin), written atomically. */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Classifier } from '../classifier.js';
import { parseModel, serializeModel } from '../format.js';
import { ModelFormatError } from '../weights.js';

/** Root of the installed package (holds models/, fixtures/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..').replace(/[/\\]dist$/, '');

export function shippedModelDir(name: string): string {
  return join(PACKAGE_ROOT, 'models', name);
}

export function loadModelDir(dir: string): Classifier {
  const jsonPath = join(dir, 'model.json');
  const binPath = join(dir, 'weights.bin');
  if (!existsSync(jsonPath)) throw new ModelFormatError(`no model.json in ${dir}`);
  if (!existsSync(binPath)) throw new ModelFormatError(`no weights.bin in ${dir}`);
  return parseModel(readFileSync(jsonPath, 'utf8'), new Uint8Array(readFileSync(binPath)), dir);
}

/** Write to temporary names, then rename: a crash never leaves a half-written model. */
export function saveModelDir(model: Classifier, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const { json, weights } = serializeModel(model);
  writeAtomic(join(dir, 'weights.bin'), weights);
  writeAtomic(join(dir, 'model.json'), json);
}

export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
