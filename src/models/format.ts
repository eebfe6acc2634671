/**
 * The adv2 model file: `model.json` (architecture, pre-processing, class names, model card,
 * weight list) next to `weights.bin` (float32). Parsing is pure so a browser can load the same files.
 */
import { type ArchConfig, Classifier, type ModelCard, type Preprocess, buildArchitecture } from './classifier.js';
import { ModelFormatError, type WeightSpec, decodeWeights, encodeWeights } from './weights.js';

export const MODEL_FORMAT = 'adv2-model';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: number;
  arch: ArchConfig;
  preprocess: Preprocess;
  classNames: string[];
  card: ModelCard;
  weights: WeightSpec[];
}

/** Parse model.json text + weights.bin bytes into a classifier; every defect is one clear line. */
export function parseModel(jsonText: string, weightBytes: Uint8Array, source = 'model'): Classifier {
  let json: ModelJson;
  try {
    json = JSON.parse(jsonText) as ModelJson;
  } catch (err) {
    throw new ModelFormatError(`${source}: model.json is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || json.format !== MODEL_FORMAT) {
    throw new ModelFormatError(`${source}: not an adv2 model file (format field is not '${MODEL_FORMAT}')`);
  }
  if (json.version !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(`${source}: unsupported model format version ${String(json.version)}`);
  }
  for (const key of ['arch', 'preprocess', 'classNames', 'card', 'weights'] as const) {
    if (json[key] === undefined) throw new ModelFormatError(`${source}: model.json lacks '${key}'`);
  }
  let arch;
  try {
    arch = buildArchitecture(json.arch);
    arch.params();
  } catch (err) {
    throw new ModelFormatError(`${source}: bad architecture (${(err as Error).message})`);
  }
  const weights = decodeWeights(json.weights, weightBytes, source);
  try {
    return new Classifier(json.card, arch, weights, json.preprocess, json.classNames);
  } catch (err) {
    for (const t of Object.values(weights)) t.dispose();
    throw new ModelFormatError(`${source}: ${(err as Error).message}`);
  }
}

export function serializeModel(model: Classifier): { json: string; weights: Uint8Array } {
  const { specs, data } = encodeWeights(model.weights);
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    arch: model.arch.config as ArchConfig,
    preprocess: model.preprocessing,
    classNames: model.classNames,
    card: model.card,
    weights: specs,
  };
  return { json: JSON.stringify(json, null, 1), weights: data };
}
