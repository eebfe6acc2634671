/** Node adapter: find and load zoo models (shipped in models/, fetched into the cache). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '../classifier.js';
import { type ModelJson } from '../format.js';
import { ZOO, type ZooEntry, zooEntry } from '../zoo.js';
import { PACKAGE_ROOT, loadModelDir, shippedModelDir } from './files.js';

export const CACHE_DIR = process.env['ADV2_CACHE'] ?? join(PACKAGE_ROOT, '.cache');

export function modelDir(entry: ZooEntry): string {
  return entry.source === 'fetched' ? join(CACHE_DIR, 'models', entry.name) : shippedModelDir(entry.name);
}

export function modelPresent(entry: ZooEntry): boolean {
  const dir = modelDir(entry);
  return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'weights.bin'));
}

/** The model card of a present model, without loading its weights. */
export function readModelJson(entry: ZooEntry): ModelJson | null {
  if (!modelPresent(entry)) return null;
  return JSON.parse(readFileSync(join(modelDir(entry), 'model.json'), 'utf8')) as ModelJson;
}

/** Load a zoo model by name, or a model directory by path. */
export function loadModel(nameOrDir: string): Classifier {
  if (existsSync(join(nameOrDir, 'model.json'))) return loadModelDir(nameOrDir);
  const entry = zooEntry(nameOrDir);
  if (!modelPresent(entry)) {
    const how = entry.source === 'fetched' ? `run 'adv2 models fetch ${entry.name}'`
      : entry.source === 'training' ? `it is still being trained: resume with the command in models/${entry.name}/TRAINING.md`
        : 'it should ship with adv2: reinstall, or train it with adv2 train';
    throw new Error(`model '${entry.name}' is not present (${how})`);
  }
  return loadModelDir(modelDir(entry));
}

export function listModels(): { entry: ZooEntry; json: ModelJson | null }[] {
  return ZOO.map((entry) => ({ entry, json: readModelJson(entry) }));
}
