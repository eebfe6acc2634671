/**
 * Named weight tensors and their on-disk form: a JSON list of {name, shape} plus one
 * little-endian float32 buffer, concatenated in list order (browser- and Node-readable).
 */
import * as tf from '@tensorflow/tfjs';

export type WeightMap = Record<string, tf.Tensor>;

export interface WeightSpec {
  name: string;
  shape: number[];
}

export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Serialise weights (sorted by name, so the bytes do not depend on insertion order). */
export function encodeWeights(weights: WeightMap): { specs: WeightSpec[]; data: Uint8Array } {
  const names = Object.keys(weights).sort();
  const specs = names.map((name) => ({ name, shape: weights[name]!.shape.slice() }));
  const total = specs.reduce((n, s) => n + sizeOf(s.shape), 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const name of names) {
    const values = weights[name]!.dataSync();
    out.set(values, offset);
    offset += values.length;
  }
  return { specs, data: new Uint8Array(out.buffer) };
}

/** Inverse of encodeWeights; validates sizes and values so a corrupt file fails with one clear line. */
export function decodeWeights(specs: WeightSpec[], data: Uint8Array, source = 'weights'): WeightMap {
  if (!Array.isArray(specs)) throw new ModelFormatError(`${source}: weight list is not an array`);
  for (const s of specs) {
    if (typeof s?.name !== 'string' || !Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ModelFormatError(`${source}: malformed weight entry ${JSON.stringify(s)}`);
    }
  }
  const total = specs.reduce((n, s) => n + sizeOf(s.shape), 0);
  if (data.byteLength !== total * 4) {
    throw new ModelFormatError(`${source}: expected ${total * 4} bytes of float32 weights, got ${data.byteLength}`);
  }
  // copy: the source buffer may be unaligned or shared
  const floats = new Float32Array(data.slice().buffer);
  for (let i = 0; i < floats.length; i++) {
    if (!Number.isFinite(floats[i]!)) throw new ModelFormatError(`${source}: non-finite weight value at element ${i}`);
  }
  const weights: WeightMap = {};
  let offset = 0;
  for (const s of specs) {
    const n = sizeOf(s.shape);
    weights[s.name] = tf.tensor(floats.subarray(offset, offset + n), s.shape, 'float32');
    offset += n;
  }
  return weights;
}

export function disposeWeights(weights: WeightMap): void {
  for (const t of Object.values(weights)) t.dispose();
}

export function countParameters(weights: WeightMap, exclude: (name: string) => boolean = () => false): number {
  return Object.entries(weights).reduce((n, [name, t]) => (exclude(name) ? n : n + t.size), 0);
}
