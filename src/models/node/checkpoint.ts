/** Node adapter: training checkpoints (state.json + weights/moments as float32 files), atomic. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainOptions, TrainState } from '../train.js';
import { type WeightMap, type WeightSpec, decodeWeights, disposeWeights, encodeWeights } from '../weights.js';
import { writeAtomic } from './files.js';

export interface OptimizerFiles { weights: WeightSpec[]; m: WeightSpec[]; v: WeightSpec[] }

/** weights and AdamW moments as float32 files in `dir` (atomic each); returns their specs for state.json */
export function writeOptimizerState(dir: string, weights: WeightMap, moments: { m: WeightMap; v: WeightMap }): OptimizerFiles {
  const w = encodeWeights(weights);
  const m = encodeWeights(moments.m);
  const v = encodeWeights(moments.v);
  writeAtomic(join(dir, 'weights.bin'), w.data);
  writeAtomic(join(dir, 'adam-m.bin'), m.data);
  writeAtomic(join(dir, 'adam-v.bin'), v.data);
  return { weights: w.specs, m: m.specs, v: v.specs };
}

/** the files writeOptimizerState wrote; nothing stays allocated if one of them is bad */
export function readOptimizerState(dir: string, specs: OptimizerFiles): { weights: WeightMap; moments: { m: WeightMap; v: WeightMap } } {
  const read = (name: string, s: WeightSpec[]) => decodeWeights(s, new Uint8Array(readFileSync(join(dir, name))), join(dir, name));
  const weights = read('weights.bin', specs.weights);
  let m: WeightMap | undefined;
  try {
    m = read('adam-m.bin', specs.m);
    return { weights, moments: { m, v: read('adam-v.bin', specs.v) } };
  } catch (err) {
    disposeWeights(weights);
    if (m) disposeWeights(m);
    throw err;
  }
}

interface CheckpointJson {
  format: 'adv2-checkpoint';
  version: 1;
  /** what was trained: a resumed run must match it */
  fingerprint: string;
  options: TrainOptions;
  epoch: number;
  step: number;
  globalStep: number;
  elapsedSeconds: number;
  history: TrainState['history'];
  specs: OptimizerFiles;
}

export function saveCheckpoint(dir: string, fingerprint: string, options: TrainOptions, state: TrainState): void {
  const specs = writeOptimizerState(dir, state.weights, state.moments);
  const json: CheckpointJson = {
    format: 'adv2-checkpoint', version: 1, fingerprint, options,
    epoch: state.epoch, step: state.step, globalStep: state.globalStep, elapsedSeconds: state.elapsedSeconds,
    history: state.history, specs,
  };
  // state.json last: it names a consistent set of the files above
  writeAtomic(join(dir, 'state.json'), JSON.stringify(json));
}

/** The saved state, or null if there is none; throws if it belongs to a different run. */
export function loadCheckpoint(dir: string, fingerprint: string): { state: TrainState; options: TrainOptions } | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  const json = JSON.parse(readFileSync(path, 'utf8')) as CheckpointJson;
  if (json.format !== 'adv2-checkpoint') throw new Error(`${path} is not an adv2 checkpoint`);
  if (json.fingerprint !== fingerprint) {
    throw new Error(`checkpoint in ${dir} is from a different architecture or dataset; use --restart to overwrite it`);
  }
  const { weights, moments } = readOptimizerState(dir, json.specs);
  return {
    options: json.options,
    state: {
      epoch: json.epoch, step: json.step, globalStep: json.globalStep, weights, moments,
      elapsedSeconds: json.elapsedSeconds, history: json.history,
    },
  };
}
