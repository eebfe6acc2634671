/**
 * Interpreters: maps in [0,1] with the documented shapes; the attack forms are differentiable
 * (finite differences, with the smooth-forward twin of the surrogate for the gradient family);
 * Grad-CAM at the last layer is the clipped CAM; seeded determinism; and, on the trained
 * placed-object model, localisation and model-randomisation sanity checks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { surrogateReluSmooth } from '../src/engine/ops/index.js';
import { CamInterpreter, GradCamInterpreter, GradInterpreter, IntegratedGradientsInterpreter, INTERPRETER_NAMES, SmoothGradInterpreter, makeInterpreter } from '../src/interpreters/index.js';
import type { Interpreter } from '../src/interpreters/interpreter.js';
import { batchTensor } from '../src/data/dataset.js';
import { loadFixture } from '../src/io/node/fixtures.js';
import { Classifier, buildArchitecture, initWeights } from '../src/models/classifier.js';
import { loadModel } from '../src/models/node/zoo-loader.js';
import { mapIoUSummary } from '../src/metrics/maps.js';
import { TEST_BACKENDS, useBackend } from './helpers/backends.js';
import { checkGradient, expectFdOk, randomTensor } from './helpers/fd.js';
import { expectNoLeak } from './helpers/leak.js';

function toyModel(seed = 1): Classifier {
  const arch = buildArchitecture({ family: 'resnet', inputShape: [8, 8, 2], numClasses: 3, widths: [4, 6], blocksPerStage: 1, stemStride: 1 });
  return new Classifier({ name: 'toy', dataset: 'toy' }, arch, initWeights(arch, seed), { kind: 'normalize', mean: [0.5, 0.5], std: [0.3, 0.3] }, ['a', 'b', 'c']);
}

describe.each(TEST_BACKENDS)('interpreters on %s', (backend) => {
  let model: Classifier;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    await useBackend(backend);
    model = toyModel();
    x = tf.tidy(() => tf.add(tf.mul(randomTensor([2, 8, 8, 2], 3), 0.4), 0.5)) as tf.Tensor4D;
  });
  afterAll(() => { model.dispose(); x.dispose(); });

  // a C¹ surrogate (softplus forward, sigmoid backward): the paper's h jumps at 0, so finite
  // differences of its smooth twin are only valid away from sign changes of the pre-activations
  const smooth = surrogateReluSmooth({ kind: 'sigmoid', beta: 8 });
  const forms: [string, () => Interpreter][] = [
    ['grad', () => new GradInterpreter(model, { attackRelu: smooth })],
    ['smoothgrad', () => new SmoothGradInterpreter(model, { attackRelu: smooth, attackSamples: 3, chunk: 2, sigma: 0.05 })],
    ['ig', () => new IntegratedGradientsInterpreter(model, { attackRelu: smooth, attackSteps: 3, chunk: 2 })],
    ['cam', () => new CamInterpreter(model)],
    ['gradcam', () => new GradCamInterpreter(model)],
  ];

  it.each(forms)('%s: attack form gives maps in [0,1] and ∇‖g(x) − m‖² matches finite differences', (_name, make) => {
    const it = make();
    const [h, w] = it.mapShape();
    const m = tf.tidy(() => tf.mul(tf.add(randomTensor([2, h, w], 9), 1), 0.5));
    const map = tf.tidy(() => it.attackMap(x, [0, 2]));
    expect(map.shape).toEqual([2, h, w]);
    const [lo, hi] = tf.tidy(() => [tf.min(map).dataSync()[0]!, tf.max(map).dataSync()[0]!]);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeCloseTo(1, 5);
    // |∇| and the channel max have kinks: small steps so the differences rarely straddle one
    const res = checkGradient((xi) => tf.sum(tf.square(tf.sub(it.attackMap(xi as tf.Tensor4D, [0, 2]), m))), x, { eps: 2e-4, rtol: 2e-2 });
    expectFdOk(res, `${_name} on ${backend}`);
    tf.dispose([m, map]);
  });

  it('Grad-CAM at the last layer equals the clipped CAM', () => {
    tf.tidy(() => {
      const cam = new CamInterpreter(model).rawMap(x, [1, 2]);
      const clipped = tf.div(tf.relu(cam), tf.max(tf.relu(cam), [1, 2], true));
      const gradcam = new GradCamInterpreter(model).explain(x, [1, 2]);
      expect(tf.max(tf.abs(tf.sub(clipped, gradcam))).dataSync()[0]).toBeLessThan(1e-4);
    });
  });

  it('SmoothGrad is deterministic for a seed and changes with it; no leaks', async () => {
    const a = new SmoothGradInterpreter(model, { samples: 5, chunk: 2, seed: 1 });
    const b = new SmoothGradInterpreter(model, { samples: 5, chunk: 2, seed: 2 });
    const [m1, m2, m3] = [a.explain(x, [0, 1]), a.explain(x, [0, 1]), b.explain(x, [0, 1])];
    expect(Array.from(m1.dataSync())).toEqual(Array.from(m2.dataSync()));
    expect(Array.from(m1.dataSync())).not.toEqual(Array.from(m3.dataSync()));
    tf.dispose([m1, m2, m3]);
    for (const name of INTERPRETER_NAMES) {
      const it = makeInterpreter(name, model);
      await expectNoLeak(() => { it.explain(x, [0, 1]).dispose(); tf.tidy(() => { tf.grad((xi: tf.Tensor) => tf.sum(it.attackMap(xi as tf.Tensor4D, [0, 1])))(x); }); }, 2, 1);
    }
  });
});

describe.each(['placed-resnet', 'placed-densenet'])('sanity checks on the trained placed-object model %s', (modelName) => {
  let model: Classifier;
  let x: tf.Tensor4D;
  let labels: number[];
  let boxes: [number, number, number, number][];
  const N = 60;
  beforeAll(async () => {
    await useBackend('wasm');
    model = loadModel(modelName);
    const ds = loadFixture('fashion-mnist-placed');
    const idx = Array.from({ length: N }, (_, i) => i * 7);
    x = batchTensor(ds, idx).x;
    labels = idx.map((i) => ds.labels[i]!);
    boxes = idx.map((i) => [ds.boxes![4 * i]!, ds.boxes![4 * i + 1]!, ds.boxes![4 * i + 2]!, ds.boxes![4 * i + 3]!]);
  });
  afterAll(() => { model.dispose(); x.dispose(); });

  /**
   * Localisation rates at input resolution: `max` = share of images whose map maximum lies in the
   * object's box; `mass` = share whose top-10% pixels carry at least half their attribution inside
   * it; `pointing` = the pointing game (Zhang et al. 2016): the maximum within the box grown by the
   * game's standard tolerance, 15 px at 224 px, i.e. round(side·15/224) = 4 px here.
   */
  function localisation(it: Interpreter): { max: number; mass: number; pointing: number } {
    const [h, w] = model.inputShape;
    const tol = Math.round((h * 15) / 224);
    const maps = tf.tidy(() => {
      const chunks: tf.Tensor[] = [];
      for (let s = 0; s < N; s += 20) chunks.push(it.explain(tf.slice(x, [s, 0, 0, 0], [Math.min(20, N - s), -1, -1, -1]), labels.slice(s, s + 20)));
      const m = tf.concat(chunks, 0);
      return tf.image.resizeBilinear(tf.expandDims(m, 3) as tf.Tensor4D, [h, w], false, true).dataSync();
    });
    let byMax = 0, byMass = 0, byPointing = 0;
    for (let i = 0; i < N; i++) {
      const [x0, y0, x1, y1] = boxes[i]!;
      const inBox = (p: number, t = 0): boolean => { const yy = Math.floor(p / w), xx = p % w; return xx >= x0 - t && xx < x1 + t && yy >= y0 - t && yy < y1 + t; };
      const m = maps.subarray(i * h * w, (i + 1) * h * w);
      const order = Array.from({ length: h * w }, (_, p) => p).sort((a, b) => m[b]! - m[a]!);
      if (inBox(order[0]!)) byMax++;
      if (inBox(order[0]!, tol)) byPointing++;
      const top = order.slice(0, Math.round(0.1 * h * w));
      const total = top.reduce((t, p) => t + m[p]!, 0);
      const inside = top.reduce((t, p) => t + (inBox(p) ? m[p]! : 0), 0);
      if (inside >= 0.5 * total) byMass++;
    }
    return { max: byMax / N, mass: byMass / N, pointing: byPointing / N };
  }
  const report = (name: string, r: { max: number; mass: number; pointing: number }): string =>
    `localisation ${name} on ${modelName}: maximum ${(100 * r.max).toFixed(1)}%, top-10% mass ${(100 * r.mass).toFixed(1)}%, pointing game ${(100 * r.pointing).toFixed(1)}%`;

  it.each(['ig', 'cam', 'gradcam'])('%s localises the object (map maximum or top-10%% mass inside the box) for ≥ 80%% of images', (name) => {
    const rate = localisation(makeInterpreter(name, model));
    console.log(report(name, rate));
    expect(Math.max(rate.max, rate.mass)).toBeGreaterThanOrEqual(0.8);
  });

  // Strictly inside the box GRAD scores 37–62% and SmoothGrad 55–65% (both families): the input gradient peaks on the
  // object's outline, often a pixel or two outside its tight box, and lights clutter edges. With the
  // pointing game's tolerance both hit ≥ 93%. Asserted: pointing ≥ 80% and strict ≥ 2× chance.
  it.each(['grad', 'smoothgrad'])('%s localises the object: pointing game ≥ 80%%, strictly in the box well above chance', (name) => {
    const rate = localisation(makeInterpreter(name, model));
    const chance = boxes.reduce((t, [x0, y0, x1, y1]) => t + (x1 - x0) * (y1 - y0), 0) / N / (model.inputShape[0] * model.inputShape[1]);
    console.log(`${report(name, rate)}, chance ${(100 * chance).toFixed(1)}%`);
    expect(rate.pointing).toBeGreaterThanOrEqual(0.8);
    expect(Math.max(rate.max, rate.mass)).toBeGreaterThanOrEqual(2 * chance);
  });

  it.each(['grad', 'cam'])('%s maps change substantially when the weights are re-initialised (model randomisation)', (name) => {
    const random = new Classifier(model.card, model.arch, initWeights(model.arch, 99), model.preprocessing, model.classNames);
    const a = makeInterpreter(name, model).explain(x, labels).arraySync() as number[][][];
    const b = makeInterpreter(name, random).explain(x, labels).arraySync() as number[][][];
    const iou = a.map((m, i) => mapIoUSummary(m.flat(), b[i]!.flat()).mean);
    const meanIoU = iou.reduce((s, v) => s + v, 0) / iou.length;
    console.log(`model randomisation ${name}: mean top-k IoU trained vs random ${meanIoU.toFixed(3)}`);
    expect(meanIoU).toBeLessThan(0.6);
    random.dispose();
  });
});
