/**
 * The RTS file: `model.json` (format 'adv2-rts': config, card, weight list) next to `weights.bin`
 * (float32, the zoo's weight encoding). Pure, so a browser can load the same files; the encoder
 * classifier is loaded by the caller and passed in.
 */
import type { Classifier } from '../../models/classifier.js';
import { ModelFormatError, type WeightSpec, decodeWeights, disposeWeights, encodeWeights } from '../../models/weights.js';
import { type RtsCard, type RtsConfig, RtsNetwork } from './network.js';

export const RTS_FORMAT = 'adv2-rts';
export const RTS_FORMAT_VERSION = 1;

export interface RtsJson {
  format: typeof RTS_FORMAT;
  version: number;
  config: RtsConfig;
  card: RtsCard;
  weights: WeightSpec[];
}

/** Parse and check model.json text; every defect is one clear line. */
export function parseRtsJson(text: string, source = 'rts'): RtsJson {
  let json: RtsJson;
  try {
    json = JSON.parse(text) as RtsJson;
  } catch (err) {
    throw new ModelFormatError(`${source}: model.json is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || json.format !== RTS_FORMAT) {
    throw new ModelFormatError(`${source}: not an adv2 RTS network (format field is not '${RTS_FORMAT}')`);
  }
  if (json.version !== RTS_FORMAT_VERSION) throw new ModelFormatError(`${source}: unsupported RTS format version ${String(json.version)}`);
  for (const key of ['config', 'card', 'weights'] as const) {
    if (json[key] === undefined) throw new ModelFormatError(`${source}: model.json lacks '${key}'`);
  }
  return json;
}

/** The network from parsed JSON, weight bytes and its (already loaded) encoder. */
export function rtsFromParts(json: RtsJson, weightBytes: Uint8Array, encoder: Classifier, opts: { ownsEncoder?: boolean; source?: string } = {}): RtsNetwork {
  const source = opts.source ?? 'rts';
  const weights = decodeWeights(json.weights, weightBytes, source);
  try {
    return new RtsNetwork(json.config, weights, encoder, json.card, opts.ownsEncoder ?? false);
  } catch (err) {
    disposeWeights(weights);
    throw new ModelFormatError(`${source}: ${(err as Error).message}`);
  }
}

export function serializeRts(net: RtsNetwork): { json: string; weights: Uint8Array } {
  const { specs, data } = encodeWeights(net.weights);
  const json: RtsJson = { format: RTS_FORMAT, version: RTS_FORMAT_VERSION, config: net.config, card: net.card, weights: specs };
  return { json: JSON.stringify(json, null, 1), weights: data };
}
