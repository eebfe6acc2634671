/**
 * RTS: a tiny random network gives [0,1] maps of its mask shape, deterministically and without
 * leaks, and the gradient of ‖RTS(x, c) − m‖² + CE_enc(x, c) matches finite differences; the ADV²
 * joint loss adds exactly auxWeight·∇CE_enc; training is seeded and resumes exactly from a
 * checkpoint; the committed networks meet the quality bars (localisation, keep, delete);
 * ADV² against RTS beats PGD on map distance; the CLI explains with RTS.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Adv2 } from '../src/attacks/adv2.js';
import { pickExamples } from '../src/cli/inputs.js';
import { gridInterpreters, interpreterFor } from '../src/cli/interpreters.js';
import { main } from '../src/cli/main.js';
import { batchTensor } from '../src/data/dataset.js';
import { runAttack } from '../src/experiments/run-attack.js';
import { opCacheSize } from '../src/engine/ops/index.js';
import { makeInterpreter } from '../src/interpreters/index.js';
import { loadRtsCheckpoint, loadRtsFor, rtsDirFor, rtsPresent, saveRtsCheckpoint } from '../src/interpreters/node/rts-files.js';
import { RtsInterpreter } from '../src/interpreters/rts.js';
import { parseRtsJson, rtsFromParts, serializeRts } from '../src/interpreters/rts/format.js';
import { RtsNetwork, initRtsWeights, rtsConfigFor } from '../src/interpreters/rts/network.js';
import { maskQuality } from '../src/interpreters/rts/quality.js';
import { type RtsTrainOptions, freshRtsTrainState, rtsTrainDefaults, trainRts } from '../src/interpreters/rts/train.js';
import { loadFixture } from '../src/io/node/fixtures.js';
import { Classifier, buildArchitecture, initWeights } from '../src/models/classifier.js';
import { loadModel, modelPresent } from '../src/models/node/zoo-loader.js';
import type { TrainData } from '../src/models/train.js';
import { ZOO } from '../src/models/zoo.js';
import { TEST_BACKENDS, useBackend } from './helpers/backends.js';
import { checkGradient, expectFdOk, maxAbsDiff, randomTensor } from './helpers/fd.js';
import { expectNoLeak } from './helpers/leak.js';

/** 8×8 ResNet with three resolutions (8, 4, 2): an RTS with two up-sampling blocks fits on it */
function toyClassifier(name: string, seed: number): Classifier {
  const arch = buildArchitecture({ family: 'resnet', inputShape: [8, 8, 1], numClasses: 3, widths: [4, 6, 8], blocksPerStage: 1, stemStride: 1 });
  return new Classifier({ name, dataset: 'toy' }, arch, initWeights(arch, seed), { kind: 'normalize', mean: [0.5], std: [0.3] }, ['a', 'b', 'c']);
}

function toyData(n: number): TrainData {
  return {
    size: n,
    batch: (idx) => ({
      x: tf.tidy(() => tf.concat(idx.map((i) => tf.add(tf.mul(randomTensor([1, 8, 8, 1], 100 + i), 0.4), 0.5)), 0)) as tf.Tensor4D,
      y: tf.tensor1d(idx.map((i) => i % 3), 'int32'),
    }),
  };
}

describe.each(TEST_BACKENDS)('RTS network on %s', (backend) => {
  let encoder: Classifier;
  let blackBox: Classifier;
  let net: RtsNetwork;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    await useBackend(backend);
    encoder = toyClassifier('toy-encoder', 1);
    blackBox = toyClassifier('toy-classifier', 2);
    // two up-sampling blocks (8 → 2 → 4 → 8), like the 56 px networks
    const config = rtsConfigFor(encoder, blackBox, { blocks: 2 });
    net = new RtsNetwork(config, initRtsWeights(config, 3), encoder);
    x = tf.tidy(() => tf.add(tf.mul(randomTensor([2, 8, 8, 1], 5), 0.4), 0.5)) as tf.Tensor4D;
  });
  afterAll(() => { net.dispose(); encoder.dispose(); blackBox.dispose(); x.dispose(); });

  it('maps are [N,8,8] in [0,1], deterministic, class-dependent and leak-free', async () => {
    const rts = makeInterpreter('rts', blackBox, { rts: net });
    expect(rts.mapShape()).toEqual([8, 8]);
    const a = rts.explain(x, [0, 2]);
    const b = rts.explain(x, [0, 2]);
    const c = rts.explain(x, [1, 1]);
    expect(a.shape).toEqual([2, 8, 8]);
    const values = Array.from(a.dataSync());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.05);
    expect(Array.from(b.dataSync())).toEqual(values);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, c]);
    const adv2 = new Adv2(rts);
    const m = tf.fill([2, 8, 8], 0.5) as tf.Tensor3D;
    await expectNoLeak(() => {
      rts.explain(x, [0, 1]).dispose();
      tf.tidy(() => { tf.grad((xi: tf.Tensor) => adv2.jointLoss(xi as tf.Tensor4D, [0, 1], m, 5))(x); });
    }, 3, 1);
    m.dispose();
    expect(() => makeInterpreter('rts', blackBox)).toThrow(/needs a trained RTS network/);
    expect(() => makeInterpreter('rts', encoder, { rts: net })).toThrow(/trained to explain 'toy-classifier', not 'toy-encoder'/);
  });

  it('∇x [‖RTS(x, c) − m‖² + CE_enc(x, c)] matches finite differences', () => {
    const rts = new RtsInterpreter(blackBox, net);
    const m = tf.tidy(() => tf.mul(tf.add(randomTensor([2, 8, 8], 9), 1), 0.5));
    // ReLU and |·| kinks: small steps so the differences rarely straddle one
    const res = checkGradient((xi) => {
      const f = rts.attackForward(xi as tf.Tensor4D, [0, 2]);
      return tf.add(tf.sum(tf.square(tf.sub(f.map, m))), f.auxLoss);
    }, x, { eps: 2e-4, rtol: 2e-2 });
    expectFdOk(res, `rts on ${backend}`);
    m.dispose();
  });

  it('ADV²\'s joint loss adds exactly auxWeight·∇CE_enc (weight 0 vs 0.1 differ)', () => {
    const rts = new RtsInterpreter(blackBox, net);
    const m = tf.fill([2, 8, 8], 0.3) as tf.Tensor3D;
    const grad = (w: number) => tf.grad((xi: tf.Tensor) => new Adv2(rts, { auxWeight: w }).jointLoss(xi as tf.Tensor4D, [1, 2], m, 5))(x);
    const [g0, g1, ge] = [grad(0), grad(0.1), tf.grad((xi: tf.Tensor) => rts.encoderLoss(xi as tf.Tensor4D, [1, 2]))(x)];
    const diff = tf.sub(g1, g0);
    const scale = tf.norm(ge).dataSync()[0]!;
    expect(scale).toBeGreaterThan(1e-3);
    expect(tf.norm(diff).dataSync()[0]!).toBeGreaterThan(0.05 * scale);
    expect(maxAbsDiff(diff, tf.mul(ge, 0.1))).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([m, g0, g1, ge, diff]);
  });
});

describe('RTS training', () => {
  beforeAll(async () => { await useBackend('wasm'); });

  it('is seeded and resumes exactly from a checkpoint; the file format round-trips', async () => {
    // op caches (blur kernels) are created on first use and kept: not a leak
    const live = () => tf.memory().numTensors - opCacheSize();
    const before = live();
    const encoder = toyClassifier('toy-encoder', 1);
    const blackBox = toyClassifier('toy-classifier', 2);
    const config = rtsConfigFor(encoder, blackBox);
    const o: RtsTrainOptions = { ...rtsTrainDefaults(8), steps: 4, selectorSteps: 1, batchSize: 4, seed: 7 };
    const data = toyData(12);

    const straight = new RtsNetwork(config, initRtsWeights(config, 7), encoder);
    const initial = straight.weights['up0.conv.w']!.dataSync().slice();
    const s1 = await trainRts(straight, blackBox, data, o, freshRtsTrainState(straight));
    expect(s1.step).toBe(4);
    expect(s1.history.at(-1)!.total).toBeGreaterThan(0);
    expect(Number.isFinite(s1.history.at(-1)!.total)).toBe(true);
    expect(tf.tidy(() => maxAbsDiff(tf.tensor(initial, straight.weights['up0.conv.w']!.shape), straight.weights['up0.conv.w']!))).toBeGreaterThan(1e-5);

    // two steps, checkpoint to disk, a fresh process-like restart, two more steps
    const dir = mkdtempSync(join(tmpdir(), 'adv2-rts-'));
    const first = new RtsNetwork(config, initRtsWeights(config, 7), encoder);
    const s2 = freshRtsTrainState(first);
    await trainRts(first, blackBox, data, o, s2, { shouldStop: () => s2.step >= 2 });
    saveRtsCheckpoint(dir, 'toy', o, s2);
    const loaded = loadRtsCheckpoint(dir, 'toy')!;
    expect(loaded.step).toBe(2);
    const resumed = new RtsNetwork(config, loaded.weights, encoder);
    const state = { step: loaded.step, weights: resumed.weights, moments: loaded.moments, elapsedSeconds: 0, history: loaded.history };
    await trainRts(resumed, blackBox, data, o, state);
    for (const name of Object.keys(straight.weights)) {
      expect(maxAbsDiff(straight.weights[name]!, resumed.weights[name]!), name).toBe(0);
    }

    // model.json + weights.bin round trip gives the same maps
    const { json, weights } = serializeRts(straight);
    const copy = rtsFromParts(parseRtsJson(json), weights, encoder);
    const { x: xs, y: ys } = toyData(2).batch([0, 1]);
    const [ma, mb] = [new RtsInterpreter(blackBox, straight).explain(xs, [0, 1]), new RtsInterpreter(blackBox, copy).explain(xs, [0, 1])];
    expect(maxAbsDiff(ma, mb)).toBe(0);
    expect(() => parseRtsJson('{"format":"adv2-model"}', 'x')).toThrow(/not an adv2 RTS network/);
    expect(() => loadRtsCheckpoint(dir, 'other')).toThrow(/different RTS configuration/);

    tf.dispose([xs, ys, ma, mb]);
    for (const n of [straight, first, resumed, copy]) n.dispose();
    tf.dispose([s1, s2, state].flatMap((s) => [...Object.values(s.moments.m), ...Object.values(s.moments.v)]));
    encoder.dispose(); blackBox.dispose();
    expect(live()).toBe(before);
  });
});

/** RTS networks must exist for every shipped zoo classifier of the fixture datasets */
const ZOO_RTS = ZOO.filter((z) => z.dataset !== 'imagenet' && modelPresent(z) && (z.source === 'shipped' || rtsPresent(rtsDirFor(z.name)))).map((z) => z.name);

describe('trained RTS networks (issue 5 quality bars, first 100 fixture images)', () => {
  beforeAll(async () => { await useBackend('wasm'); });

  it.each(ZOO_RTS)('%s: keep ≥ 70%%, delete ≥ 70%%, localisation ≥ 80%% on the placed set', async (name) => {
    expect(rtsPresent(rtsDirFor(name)), `no committed RTS network for ${name}`).toBe(true);
    const model = loadModel(name);
    const net = await loadRtsFor(model);
    const ds = loadFixture(model.card.dataset as 'fashion-mnist' | 'fashion-mnist-placed');
    const idx = Array.from({ length: 100 }, (_, i) => i);
    const { x, y } = batchTensor(ds, idx);
    const boxes = ds.boxes ? idx.map((i) => [0, 1, 2, 3].map((k) => ds.boxes![4 * i + k]!) as [number, number, number, number]) : undefined;
    const q = maskQuality(new RtsInterpreter(model, net), x, boxes);
    console.log(`RTS quality ${name}: ${JSON.stringify(q)}`);
    expect(q.keep).toBeGreaterThanOrEqual(0.7);
    expect(q.delete).toBeGreaterThanOrEqual(0.7);
    if (boxes) expect(Math.max(q.localisationMax!, q.localisationMass!)).toBeGreaterThanOrEqual(0.8);
    tf.dispose([x, y]);
    net.dispose(); model.dispose();
  });
});

describe('ADV² against RTS on placed-resnet', () => {
  beforeAll(async () => { await useBackend('wasm'); });

  it('succeeds on 3 images and keeps the map closer to the benign map than PGD', async () => {
    const model = loadModel('placed-resnet');
    const rts = makeInterpreter('rts', model, { rts: await loadRtsFor(model) });
    const { indices, labels, targets } = pickExamples(model, 3, 1);
    const { x, y } = batchTensor(loadFixture('fashion-mnist-placed'), indices);
    const pgd = runAttack(rts, x, targets, { attack: 'pgd', pgd: { steps: 150 } }, { trueClasses: labels });
    const adv2 = runAttack(rts, x, targets, { attack: 'adv2', adv2: { warmupSteps: 60, steps: 120, selectEvery: 10 } }, { trueClasses: labels });
    const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
    const [l1Pgd, l1Adv2] = [mean(pgd.records.map((r) => r.mapL1)), mean(adv2.records.map((r) => r.mapL1))];
    console.log(`ADV² vs PGD on RTS: L1 ${l1Adv2.toFixed(4)} vs ${l1Pgd.toFixed(4)}; success ${adv2.records.map((r) => r.success)}`);
    expect(adv2.records.every((r) => r.success)).toBe(true);
    expect(l1Adv2).toBeLessThan(0.7 * l1Pgd);
    for (const run of [pgd, adv2]) tf.dispose([run.result.adversarial, run.result.map!, run.targetMaps]);
    tf.dispose([x, y]);
    (rts as RtsInterpreter).net.dispose(); model.dispose();
  });
});

describe('adv2 explain with RTS', () => {
  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '', stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
    try {
      return { code: await main(['node', 'adv2', ...args]), stdout, stderr };
    } finally {
      out.mockRestore(); err.mockRestore();
    }
  }

  it('writes the RTS map of a fixture image, adds RTS to the --grid columns, and names a missing network', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adv2-rts-cli-'));
    const one = await run(['--backend', 'wasm', 'explain', '--model', 'placed-resnet', '--interpreter', 'rts', '--index', '0', '--out', dir]);
    expect(one.code, one.stderr).toBe(0);
    const record = JSON.parse(readFileSync(join(dir, 'map.json'), 'utf8')) as { interpreter: string; shape: number[]; values: number[] };
    expect(record.interpreter).toBe('rts');
    expect(record.shape).toEqual([28, 28]);
    expect(record.values).toHaveLength(784);
    // the grid's columns (running the grid itself would also run the slow optimisation-based MASK)
    const model = loadModel('placed-resnet');
    const grid = await gridInterpreters(model);
    const columns = grid.map((it) => it.name);
    expect(columns).toContain('cam');
    expect(columns.at(-1)).toBe('rts');
    (grid.at(-1) as RtsInterpreter).net.dispose();
    model.dispose();
    const toy = toyClassifier('toy-untrained', 1);
    await expect(interpreterFor('rts', toy)).rejects.toThrow(/^no trained RTS network for 'toy-untrained' .*adv2 train-rts --model toy-untrained/);
    toy.dispose();
  });
});
