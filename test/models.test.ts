import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArchConfig, Classifier, InputError, buildArchitecture, initWeights } from '../src/models/classifier.js';
import { customUnary } from '../src/engine/ops/index.js';
import { TrainContext } from '../src/models/context.js';
import { parseModel, serializeModel } from '../src/models/format.js';
import { DEFAULT_TRAIN_OPTIONS, epochPermutation, freshTrainState, train } from '../src/models/train.js';
import { ModelFormatError } from '../src/models/weights.js';
import { useBackend } from './helpers/backends.js';
import { expectNoLeak } from './helpers/leak.js';

const RESNET: ArchConfig = { family: 'resnet', inputShape: [12, 12, 1], numClasses: 3, widths: [4, 8], blocksPerStage: 1, stemStride: 1 };
const DENSENET: ArchConfig = { family: 'densenet', inputShape: [12, 12, 1], numClasses: 3, stemWidth: 4, growth: 3, layersPerBlock: [2, 2], compression: 0.5, stemStride: 1 };
const PRE = { kind: 'normalize' as const, mean: [0.5], std: [0.25] };

function model(config: ArchConfig, seed = 3): Classifier {
  const arch = buildArchitecture(config);
  const weights = initWeights(arch, seed);
  // non-trivial running statistics, so folding is actually exercised
  for (const name of Object.keys(weights)) {
    if (name.endsWith('.mean')) { weights[name]!.dispose(); weights[name] = tf.randomUniform(weights[name]!.shape, -0.2, 0.2, 'float32', 9); }
    if (name.endsWith('.var')) { weights[name]!.dispose(); weights[name] = tf.randomUniform(weights[name]!.shape, 0.5, 1.5, 'float32', 10); }
  }
  return new Classifier({ name: `test-${config.family}`, dataset: 'synthetic' }, arch, weights, PRE, ['a', 'b', 'c']);
}

beforeAll(async () => { await useBackend('wasm'); });

describe.each([['resnet', RESNET], ['densenet', DENSENET]] as const)('%s family', (_name, config) => {
  let m: Classifier;
  let x: tf.Tensor4D;
  beforeAll(() => { m = model(config); x = tf.randomUniform([2, 12, 12, 1], 0, 1, 'float32', 4) as tf.Tensor4D; });
  afterAll(() => { m.dispose(); x.dispose(); });

  it('exposes logits, features, the fc head and named taps', () => {
    tf.tidy(() => {
      const out = m.forward(x, { taps: 'all' });
      expect(out.logits.shape).toEqual([2, 3]);
      expect(out.features.rank).toBe(4);
      expect(out.features.shape[3]).toBe(m.head().w.shape[0]);
      expect(Object.keys(out.taps).sort()).toEqual([...m.layerNames()].sort());
      // CAM is exact: logits = mean(features)·W + b
      const viaHead = tf.add(tf.matMul(tf.mean(out.features, [1, 2]) as tf.Tensor2D, m.head().w), m.head().b);
      expect(tf.max(tf.abs(tf.sub(viaHead, out.logits))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  it('folded batch norm equals batch norm from running statistics', () => {
    tf.tidy(() => {
      const folded = m.logits(x);
      // reference: the same network, batch norm computed explicitly (no folding)
      class RunningStats extends TrainContext {
        override bn(h: tf.Tensor4D, name: string): tf.Tensor4D {
          const w = this.weights;
          return tf.batchNorm(h, w[`${name}.mean`]! as tf.Tensor1D, w[`${name}.var`]! as tf.Tensor1D, w[`${name}.beta`]! as tf.Tensor1D, w[`${name}.gamma`]! as tf.Tensor1D, 1e-3);
        }
      }
      const ref = m.arch.forward(m.preprocess(x), new RunningStats(m.weights, (z) => tf.relu(z))).logits;
      expect(tf.max(tf.abs(tf.sub(folded, ref))).dataSync()[0]).toBeLessThan(1e-4);
    });
  });

  it('smoothed-gradient mode keeps the forward and changes the backward', () => {
    tf.tidy(() => {
      const surrogate = customUnary((v) => tf.relu(v), (dy) => tf.mul(dy, 0.5));
      const a = m.logits(x);
      const b = m.logits(x, { relu: surrogate });
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
      const ga = tf.grad((xi: tf.Tensor) => tf.sum(m.logits(xi as tf.Tensor4D)))(x);
      const gb = tf.grad((xi: tf.Tensor) => tf.sum(m.logits(xi as tf.Tensor4D, { relu: surrogate })))(x);
      expect(tf.max(tf.abs(tf.sub(ga, gb))).dataSync()[0]).toBeGreaterThan(1e-4);
    });
  });

  it('round-trips through the model file format', () => {
    const { json, weights } = serializeModel(m);
    const back = parseModel(json, weights, 'roundtrip');
    tf.tidy(() => { expect(tf.max(tf.abs(tf.sub(back.logits(x), m.logits(x)))).dataSync()[0]).toBe(0); });
    back.dispose();
  });

  it('does not leak tensors across forward and input-gradient calls', async () => {
    await expectNoLeak(() => tf.tidy(() => { tf.grad((xi: tf.Tensor) => tf.sum(m.logits(xi as tf.Tensor4D)))(x); }));
  });
});

describe('input validation', () => {
  it('rejects wrong shapes, NaN and out-of-range pixels in one line', () => {
    const m: Classifier = model(RESNET);
    const bad = [tf.zeros([1, 10, 12, 1]), tf.fill([1, 12, 12, 1], NaN), tf.fill([1, 12, 12, 1], 1.5)];
    const messages = bad.map((t) => { try { m.validateInput(t); return ''; } catch (e) { expect(e).toBeInstanceOf(InputError); return (e as Error).message; } });
    expect(messages[0]).toMatch(/expects input \[N,12,12,1\], got \[1,10,12,1\]/);
    expect(messages[1]).toMatch(/NaN/);
    expect(messages[2]).toMatch(/\[0,1\]/);
    bad.forEach((t) => t.dispose());
    expect(() => m.forward(tf.zeros([1, 12, 12, 1]) as tf.Tensor4D, { taps: ['nope'] })).toThrow(/no layer 'nope'/);
    m.dispose();
  });

  it('rejects malformed model files with one clear line', () => {
    const m = model(RESNET);
    const { json, weights } = serializeModel(m);
    expect(() => parseModel('{', weights)).toThrow(ModelFormatError);
    expect(() => parseModel(JSON.stringify({ format: 'x' }), weights)).toThrow(/not an adv2 model/);
    expect(() => parseModel(json, weights.subarray(0, 100))).toThrow(/expected \d+ bytes/);
    const nan = weights.slice();
    new Float32Array(nan.buffer)[5] = NaN;
    expect(() => parseModel(json, nan)).toThrow(/non-finite/);
    m.dispose();
  });
});

describe('training', () => {
  it('permutations are seeded and complete', () => {
    const p = epochPermutation(50, 1, 0);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochPermutation(50, 1, 0)).toEqual(p);
    expect(epochPermutation(50, 1, 1)).not.toEqual(p);
  });

  it('learns a separable toy task, deterministically, without leaking', async () => {
    const arch = buildArchitecture(RESNET);
    const n = 48;
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    // class k = a bright band in the k-th third of the image
    const images = tf.tidy(() => {
      const base = tf.randomUniform([n, 12, 12, 1], 0, 0.3, 'float32', 1);
      const bands = tf.stack(labels.map((k) => tf.pad(tf.fill([12, 4, 1], 0.6), [[0, 0], [4 * k, 8 - 4 * k], [0, 0]])));
      return tf.add(base, bands) as tf.Tensor4D;
    });
    const data = { size: n, batch: (idx: readonly number[]) => tf.tidy(() => ({ x: tf.gather(images, idx as number[]) as tf.Tensor4D, y: tf.tensor1d(idx.map((i) => labels[i]!), 'int32') })) };
    const run = async () => {
      const state = freshTrainState(arch, 5);
      await train(arch, PRE, data, { ...DEFAULT_TRAIN_OPTIONS, epochs: 20, batchSize: 12, learningRate: 1e-2 }, state);
      return state;
    };
    const before = tf.memory().numTensors;
    const a = await run();
    const tensorsPerState = tf.memory().numTensors - before;
    const b = await run();
    expect(tf.memory().numTensors - before).toBe(2 * tensorsPerState);
    expect(a.history.at(-1)!.loss).toBeLessThan(a.history[0]!.loss * 0.5);
    const clf = new Classifier({ name: 'toy', dataset: 'toy' }, arch, a.weights, PRE, ['a', 'b', 'c']);
    const acc = tf.tidy(() => tf.mean(tf.equal(tf.argMax(clf.logits(images), 1), tf.tensor1d(labels, 'int32'))).dataSync()[0]!);
    expect(acc).toBeGreaterThan(0.9);
    tf.tidy(() => { expect(tf.max(tf.abs(tf.sub(a.weights['fc.w']!, b.weights['fc.w']!))).dataSync()[0]).toBe(0); });
    images.dispose();
  });
});
