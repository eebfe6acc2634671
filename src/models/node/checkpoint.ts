/** Node adapter: training checkpoints (state.json + weights/moments as float32 files), atomic. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainOptions, TrainState } from '../train.js';
import { type WeightSpec, decodeWeights, disposeWeights, encodeWeights } from '../weights.js';
import { writeAtomic } from './files.js';

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
  specs: { weights: WeightSpec[]; m: WeightSpec[]; v: WeightSpec[] };
}

export function saveCheckpoint(dir: string, fingerprint: string, options: TrainOptions, state: TrainState): void {
  const w = encodeWeights(state.weights);
  const m = encodeWeights(state.moments.m);
  const v = encodeWeights(state.moments.v);
  writeAtomic(join(dir, 'weights.bin'), w.data);
  writeAtomic(join(dir, 'adam-m.bin'), m.data);
  writeAtomic(join(dir, 'adam-v.bin'), v.data);
  const json: CheckpointJson = {
    format: 'adv2-checkpoint', version: 1, fingerprint, options,
    epoch: state.epoch, step: state.step, globalStep: state.globalStep, elapsedSeconds: state.elapsedSeconds,
    history: state.history, specs: { weights: w.specs, m: m.specs, v: v.specs },
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
  const read = (name: string, specs: WeightSpec[]) =>
    decodeWeights(specs, new Uint8Array(readFileSync(join(dir, name))), join(dir, name));
  const weights = read('weights.bin', json.specs.weights);
  let m, v;
  try {
    m = read('adam-m.bin', json.specs.m);
    v = read('adam-v.bin', json.specs.v);
  } catch (err) {
    disposeWeights(weights);
    throw err;
  }
  return {
    options: json.options,
    state: {
      epoch: json.epoch, step: json.step, globalStep: json.globalStep, weights, moments: { m, v },
      elapsedSeconds: json.elapsedSeconds, history: json.history,
    },
  };
}
