/**
 * Node adapter for RTS networks: the trained network of a zoo classifier lives in
 * models/<classifier>-rts/ (model.json + weights.bin + CARD.md); training checkpoints in its
 * checkpoint/ folder (state.json + weights and Adam moments as float32 files), written atomically.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '../../models/classifier.js';
import { shippedModelDir, writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { type OptimizerFiles, readOptimizerState, writeOptimizerState } from '../../models/node/checkpoint.js';
import { ModelFormatError, type WeightMap } from '../../models/weights.js';
import { parseRtsJson, rtsFromParts, serializeRts } from '../rts/format.js';
import type { RtsNetwork } from '../rts/network.js';
import type { RtsTrainOptions, RtsTrainState } from '../rts/train.js';

/** Where the RTS network of zoo classifier `name` ships. */
export function rtsDirFor(name: string): string {
  return shippedModelDir(`${name}-rts`);
}

export function rtsPresent(dir: string): boolean {
  return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'weights.bin'));
}

/**
 * Load the RTS network in `dir` (default: the shipped one of `model`) for classifier `model`. The
 * encoder is `model` itself when the network says so (the ResNet RTS), else the zoo model it names.
 */
export async function loadRtsFor(model: Classifier, dir = rtsDirFor(model.name)): Promise<RtsNetwork> {
  if (!rtsPresent(dir)) {
    throw new ModelFormatError(`no trained RTS network for '${model.name}' in ${dir} (train one: adv2 train-rts --model ${model.name} --out ${dir})`);
  }
  const json = parseRtsJson(await readFile(join(dir, 'model.json'), 'utf8'), dir);
  const bytes = new Uint8Array(await readFile(join(dir, 'weights.bin')));
  if (json.config.classifier !== model.name) {
    throw new ModelFormatError(`${dir}: this RTS network explains '${json.config.classifier}', not '${model.name}'`);
  }
  const own = json.config.encoder !== model.name;
  const encoder = own ? loadModel(json.config.encoder) : model;
  try {
    return rtsFromParts(json, bytes, encoder, { ownsEncoder: own, source: dir });
  } catch (err) {
    if (own) encoder.dispose();
    throw err;
  }
}

export function saveRtsDir(net: RtsNetwork, dir: string, cardMarkdown?: string): void {
  const { json, weights } = serializeRts(net);
  writeAtomic(join(dir, 'weights.bin'), weights);
  if (cardMarkdown !== undefined) writeAtomic(join(dir, 'CARD.md'), cardMarkdown);
  // model.json last: its presence marks a complete network
  writeAtomic(join(dir, 'model.json'), json);
}

interface RtsCheckpointJson {
  format: 'adv2-rts-checkpoint';
  version: 1;
  /** what was trained: a resumed run must match it */
  fingerprint: string;
  options: RtsTrainOptions;
  step: number;
  elapsedSeconds: number;
  history: RtsTrainState['history'];
  specs: OptimizerFiles;
}

export function saveRtsCheckpoint(dir: string, fingerprint: string, options: RtsTrainOptions, state: RtsTrainState): void {
  const specs = writeOptimizerState(dir, state.weights, state.moments);
  const json: RtsCheckpointJson = {
    format: 'adv2-rts-checkpoint', version: 1, fingerprint, options,
    step: state.step, elapsedSeconds: state.elapsedSeconds, history: state.history,
    specs,
  };
  // state.json last: it names a consistent set of the files above
  writeAtomic(join(dir, 'state.json'), JSON.stringify(json));
}

/** The saved state (weights, moments, progress), or null if there is none; throws if it belongs to another run. */
export function loadRtsCheckpoint(dir: string, fingerprint: string): {
  step: number; elapsedSeconds: number; history: RtsTrainState['history']; weights: WeightMap; moments: { m: WeightMap; v: WeightMap };
} | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  const json = JSON.parse(readFileSync(path, 'utf8')) as RtsCheckpointJson;
  if (json.format !== 'adv2-rts-checkpoint') throw new Error(`${path} is not an adv2 RTS checkpoint`);
  if (json.fingerprint !== fingerprint) {
    throw new Error(`checkpoint in ${dir} is from a different RTS configuration; use --restart to overwrite it`);
  }
  const { weights, moments } = readOptimizerState(dir, json.specs);
  return { step: json.step, elapsedSeconds: json.elapsedSeconds, history: json.history, weights, moments };
}
