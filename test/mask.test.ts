/**
 * MASK (meaningful perturbation) and the bilevel ADV² attack against it:
 * - gradients of the MASK objective with respect to the mask and the image, and of the attack's
 *   unrolled Adam-step loss with respect to the image (the second-order term ∂²L_map/∂m∂x the
 *   leader step relies on), against finite differences on cpu and wasm;
 * - determinism for a seed; localisation on placed-object fixtures; model randomisation;
 * - the attack on placed-resnet: succeeds and keeps MASK's map closer to the benign one than PGD;
 *   no tensor leak across outer iterations; the same seed gives the same result.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adv2Mask, type Adv2MaskOptions } from '../src/attacks/adv2-mask.js';
import { quantize8 } from '../src/attacks/attack.js';
import { batchTensor } from '../src/data/dataset.js';
import { runAttack } from '../src/experiments/run-attack.js';
import { MaskInterpreter } from '../src/interpreters/index.js';
import type { MaskAdamState } from '../src/interpreters/mask.js';
import { loadFixture } from '../src/io/node/fixtures.js';
import { surrogateReluSmooth } from '../src/engine/ops/index.js';
import { mapIoUSummary } from '../src/metrics/maps.js';
import { Classifier, buildArchitecture, initWeights } from '../src/models/classifier.js';
import { loadModel } from '../src/models/node/zoo-loader.js';
import { TEST_BACKENDS, useBackend } from './helpers/backends.js';
import { checkGradient, expectFdOk, randomTensor } from './helpers/fd.js';
import { expectNoLeak } from './helpers/leak.js';

function toyModel(seed = 1): Classifier {
  const arch = buildArchitecture({ family: 'resnet', inputShape: [8, 8, 2], numClasses: 3, widths: [4, 6], blocksPerStage: 1, stemStride: 1 });
  return new Classifier({ name: 'toy', dataset: 'toy' }, arch, initWeights(arch, seed), { kind: 'normalize', mean: [0.5, 0.5], std: [0.3, 0.3] }, ['a', 'b', 'c']);
}

/** MASK on the 8×8 toy: a 4×4 mask, a real blur (the scaled defaults would not blur 8 px at all) */
const TOY_MASK = { maskSize: [4, 4] as [number, number], imageBlur: { k: 3, sigma: 1 }, maskBlur: { k: 3, sigma: 0.5 }, jitter: 1, iterations: 40 };

const mean = (v: number[]): number => v.reduce((s, a) => s + a, 0) / v.length;

/**
 * `interpreter.explain` over the first `count` images in chunks, with an event-loop turn between
 * them: one synchronous block of MASK's length on a loaded machine outlasts vitest's 60 s worker
 * RPC timeout (an unhandled error fails the run)
 */
async function explainInChunks(interpreter: MaskInterpreter, x: tf.Tensor4D, labels: readonly number[], count: number, chunk: number): Promise<tf.Tensor3D> {
  const parts: tf.Tensor3D[] = [];
  for (let s = 0; s < count; s += chunk) {
    const n = Math.min(chunk, count - s);
    parts.push(tf.tidy(() => interpreter.explain(tf.slice(x, [s, 0, 0, 0], [n, -1, -1, -1]), labels.slice(s, s + n))));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const maps = tf.concat(parts, 0);
  tf.dispose(parts);
  return maps;
}

describe.each(TEST_BACKENDS)('MASK gradients on %s', (backend) => {
  let model: Classifier;
  let x: tf.Tensor4D;
  let m0: tf.Tensor3D;
  let mask: MaskInterpreter;
  let smoothMask: MaskInterpreter;
  const classes = [0, 2];
  beforeAll(async () => {
    await useBackend(backend);
    model = toyModel();
    mask = new MaskInterpreter(model, TOY_MASK);
    // the same objective through a C¹ network (softplus forward, sigmoid backward), so finite
    // differences at ordinary step sizes are valid; the exact-ReLU network is checked separately
    smoothMask = new MaskInterpreter(model, { ...TOY_MASK, activation: surrogateReluSmooth({ kind: 'sigmoid', beta: 8 }) });
    x = tf.tidy(() => tf.add(tf.mul(randomTensor([2, 8, 8, 2], 3), 0.4), 0.5)) as tf.Tensor4D;
    m0 = tf.tidy(() => tf.add(tf.mul(randomTensor([2, 4, 4], 5), 0.3), 0.5)) as tf.Tensor3D;
  });
  afterAll(() => { tf.dispose([x, m0]); model.dispose(); });

  it('∂L_map/∂m and ∂L_map/∂x match finite differences', () => {
    expectFdOk(checkGradient((mm) => smoothMask.mapObjective(mm as tf.Tensor3D, x, classes, [1, 0]), m0), `∂L/∂m on ${backend}`);
    expectFdOk(checkGradient((xx) => smoothMask.mapObjective(m0, xx as tf.Tensor4D, classes, [0, 1]), x), `∂L/∂x on ${backend}`);
  });

  /** three follower steps: non-zero moments (at step 1 Adam is sign-like and nearly flat in x) */
  function warmState(it: MaskInterpreter): MaskAdamState {
    let state: MaskAdamState = it.initialState(2);
    for (let k = 0; k < 3; k++) {
      const s = state;
      state = tf.tidy(() => it.adamStep(s, it.maskGradient(s.m, x, classes, [k % 2, 1])));
      tf.dispose([s.m, s.mom1, s.mom2]);
    }
    return state;
  }

  it('one unrolled Adam step: ∇_x ‖m₁(x) − m_t‖² (second order) matches finite differences; non-zero with the exact ReLU', () => {
    for (const [label, it, fd] of [['smooth', smoothMask, {}], ['exact ReLU', mask, { eps: 1e-3, rtol: 5e-2 }]] as const) {
      const state = warmState(it);
      const step = (xx: tf.Tensor): tf.Tensor3D => it.adamStep(state, it.maskGradient(state.m, xx as tf.Tensor4D, classes, [1, 1])).m;
      // target near m₁(x): the loss is small, so float32 noise does not drown its derivative
      const mt = tf.tidy(() => tf.sub(step(x), randomTensor([2, 4, 4], 8, -0.05, 0.05))) as tf.Tensor3D;
      const res = checkGradient((xx) => tf.sum(tf.square(tf.sub(step(xx), mt))) as tf.Scalar, x, fd);
      if (label === 'smooth') expectFdOk(res, `unrolled step (${label}) on ${backend}`);
      else {
        // piecewise-linear network: steps small enough not to cross a kink leave a float32 floor
        // of ~10% of the derivative, so "conclusive" is asked as: agrees, and ≥ 5× the tolerance
        expect(res.ok, `unrolled step (exact ReLU) on ${backend}: ${res.analytic} vs ${res.numeric}, tol ${res.tol}`).toBe(true);
        expect(Math.abs(res.analytic)).toBeGreaterThan(5 * res.tol);
      }
      if (label === 'smooth') {
        // the attack's unrolled objective over 2 steps: m₁ is detached (a constant, the value at
        // x), the Adam moments carry their graphs into step 2. Its gradient must be that of
        // L(x) = d(m₁(x)) + d(m₂(x; m₁ fixed, moments(x))), whose derivative FD can check.
        const attack = new Adv2Mask(it);
        const jit = [[1, 0], [0, 1]] as const;
        const m1 = tf.tidy(() => it.adamStep(state, it.maskGradient(state.m, x, classes, jit[0])).m);
        const fixed = (xx: tf.Tensor): tf.Scalar => {
          const s1 = it.adamStep(state, it.maskGradient(state.m, xx as tf.Tensor4D, classes, jit[0]));
          const s2 = it.adamStep({ ...s1, m: m1 }, it.maskGradient(m1, xx as tf.Tensor4D, classes, jit[1]));
          return tf.div(tf.add(tf.sum(tf.square(tf.sub(s1.m, mt))), tf.sum(tf.square(tf.sub(s2.m, mt)))), 2) as tf.Scalar;
        };
        expectFdOk(checkGradient(fixed, x), `2-step unrolled loss on ${backend}`);
        const diff = tf.tidy(() => {
          const ga = tf.grad((xx: tf.Tensor) => attack.unrolledLoss(xx as tf.Tensor4D, state, classes, mt, jit).loss)(x);
          const gf = tf.grad(fixed)(x);
          return [tf.max(tf.abs(tf.sub(ga, gf))).dataSync()[0]!, tf.max(tf.abs(gf)).dataSync()[0]!];
        });
        expect(diff[0]!).toBeLessThan(1e-4 * diff[1]! + 1e-9);
        m1.dispose();
      }
      tf.dispose([state.m, state.mom1, state.mom2, mt]);
    }
  });

  it('maps are saliency 1 − m in [0,1], deterministic for a seed, different for another seed; no leaks', async () => {
    const a = mask.explain(x, classes);
    const b = mask.explain(x, classes);
    const c = new MaskInterpreter(model, { ...TOY_MASK, seed: 7 }).explain(x, classes);
    expect(a.shape).toEqual([2, 4, 4]);
    const [lo, hi] = tf.tidy(() => [tf.min(a).dataSync()[0]!, tf.max(a).dataSync()[0]!]);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    // an image's map does not depend on the rest of its batch
    const alone = mask.explain(tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D, [2]);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(alone, tf.slice(a, [1, 0, 0], [1, -1, -1])))).dataSync()[0]!)).toBeLessThan(1e-5);
    tf.dispose([a, b, c, alone]);
    await expectNoLeak(() => {
      mask.explain(x, classes).dispose();
      tf.tidy(() => { tf.grad((xi: tf.Tensor) => tf.sum(mask.attackMap(xi as tf.Tensor4D, classes)))(x); });
    }, 2, 1);
  });
});

// the DenseNet's MASK costs ~3× the ResNet's: fewer images, smaller synchronous chunks
describe.each([
  { modelName: 'placed-resnet', N: 32, chunk: 8 },
  { modelName: 'placed-densenet', N: 16, chunk: 2 },
])('MASK on the trained placed-object model $modelName', ({ modelName, N, chunk }) => {
  let model: Classifier;
  let x: tf.Tensor4D;
  let labels: number[];
  let boxes: [number, number, number, number][];
  let maps: tf.Tensor3D;
  beforeAll(async () => {
    await useBackend('wasm');
    model = loadModel(modelName);
    const ds = loadFixture('fashion-mnist-placed');
    const idx = Array.from({ length: N }, (_, i) => i * 7);
    x = batchTensor(ds, idx).x;
    labels = idx.map((i) => ds.labels[i]!);
    boxes = idx.map((i) => [ds.boxes![4 * i]!, ds.boxes![4 * i + 1]!, ds.boxes![4 * i + 2]!, ds.boxes![4 * i + 3]!]);
    maps = await explainInChunks(new MaskInterpreter(model), x, labels, N, chunk);
  }, 300_000);
  afterAll(() => { tf.dispose([x, maps]); model.dispose(); });

  /**
   * Measured on placed-resnet: 32 images (these) maximum 68.8%, top-10% mass 56.3%, pointing game
   * 81.3% (chance 22%); on 100 other fixture images (i·7 + 1) maximum 79% (63% without the plateau rule), mass
   * 69%, pointing game 90–94%. Strictly inside the tight box MASK misses the 80%: with a
   * blurred-image perturbation on a black canvas the cheapest deletion is often the object's
   * outline and the background right next to it (smearing the silhouette), just outside the box.
   * Asserted: pointing game ≥ 70% (the bound this 32-image sample meets with margin) and strict
   * ≥ 2× chance.
   *
   * At input resolution: `max` = the map maximum lies in the object's box (ties: the centre of the
   * maximal plateau — MASK saturates at 1 − m = 1, so the first maximum in raster order would be
   * arbitrary); `mass` = the top-10% pixels carry at least half their saliency inside the box;
   * `pointing` = the maximum within the box grown by the pointing game's 15 px @ 224 (4 px here).
   */
  it('localises the object', () => {
    const [h, w] = model.inputShape;
    const tol = Math.round((h * 15) / 224);
    const up = tf.tidy(() => tf.image.resizeBilinear(tf.expandDims(maps, 3) as tf.Tensor4D, [h, w], false, true).dataSync());
    let byMax = 0, byMass = 0, byPointing = 0;
    for (let i = 0; i < N; i++) {
      const [x0, y0, x1, y1] = boxes[i]!;
      const inBox = (yy: number, xx: number, t = 0): boolean => xx >= x0 - t && xx < x1 + t && yy >= y0 - t && yy < y1 + t;
      const m = up.subarray(i * h * w, (i + 1) * h * w);
      let top = -Infinity;
      for (let p = 0; p < h * w; p++) top = Math.max(top, m[p]!);
      let cy = 0, cx = 0, cn = 0;
      for (let p = 0; p < h * w; p++) if (m[p]! >= top - 1e-4) { cy += Math.floor(p / w); cx += p % w; cn++; }
      const [py, px] = [Math.round(cy / cn), Math.round(cx / cn)];
      if (inBox(py, px)) byMax++;
      if (inBox(py, px, tol)) byPointing++;
      const order = Array.from({ length: h * w }, (_, p) => p).sort((a, b) => m[b]! - m[a]! || a - b).slice(0, Math.round(0.1 * h * w));
      const total = order.reduce((t, p) => t + m[p]!, 0);
      const inside = order.reduce((t, p) => t + (inBox(Math.floor(p / w), p % w) ? m[p]! : 0), 0);
      if (inside >= 0.5 * total) byMass++;
    }
    const chance = boxes.reduce((t, [x0, y0, x1, y1]) => t + (x1 - x0) * (y1 - y0), 0) / N / (h * w);
    console.log(`localisation mask on ${modelName} (${N} images): maximum ${(100 * byMax / N).toFixed(1)}%, top-10% mass ${(100 * byMass / N).toFixed(1)}%, pointing game ${(100 * byPointing / N).toFixed(1)}%, chance ${(100 * chance).toFixed(1)}%`);
    expect(byPointing / N).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(byMax, byMass) / N).toBeGreaterThanOrEqual(2 * chance);
  });

  it('maps change substantially when the weights are re-initialised (model randomisation)', async () => {
    const k = 6;
    const random = new Classifier(model.card, model.arch, initWeights(model.arch, 99), model.preprocessing, model.classNames);
    const b = await explainInChunks(new MaskInterpreter(random), x, labels, k, chunk);
    const a = tf.slice(maps, [0, 0, 0], [k, -1, -1]);
    const [aa, bb] = [a.arraySync() as number[][][], b.arraySync() as number[][][]];
    const iou = mean(aa.map((m, i) => mapIoUSummary(m.flat(), bb[i]!.flat()).mean));
    const l1 = tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    console.log(`model randomisation mask on ${modelName}: mean top-k IoU trained vs random ${iou.toFixed(3)}, mean |Δ| ${l1.toFixed(3)}`);
    expect(iou).toBeLessThan(0.6);
    tf.dispose([a, b]);
    random.dispose();
  });
});

describe('ADV² against MASK (bilevel)', () => {
  it('succeeds and keeps the map closer to the benign map than PGD (placed-resnet, short schedule)', async () => {
    await useBackend('wasm');
    const model = loadModel('placed-resnet');
    const ds = loadFixture('fashion-mnist-placed');
    const picked = [0, 1];
    const { x } = batchTensor(ds, picked);
    const labels = picked.map((i) => ds.labels[i]!);
    const targets = labels.map((y) => (y + 1) % 10);
    const mask = new MaskInterpreter(model, { iterations: 100 });
    const schedule: Partial<Adv2MaskOptions> = { warmupSteps: 100, outerSteps: 20, refreshEvery: 10 };
    const pgd = runAttack(mask, x, targets, { attack: 'pgd', pgd: { steps: 300 } }, { trueClasses: labels });
    const adv2 = runAttack(mask, x, targets, { attack: 'adv2', adv2Mask: schedule }, { trueClasses: labels });
    const l1 = (run: typeof pgd) => mean(run.records.map((r) => r.mapL1));
    console.log(`ADV²-MASK short: success ${adv2.records.map((r) => r.success)}, conf ${adv2.records.map((r) => r.confidence.toFixed(3))}, L1 ${l1(adv2).toFixed(3)} vs PGD ${l1(pgd).toFixed(3)}, ${adv2.result.seconds.toFixed(1)} s`);
    expect(adv2.records.every((r) => r.success)).toBe(true);
    expect(l1(adv2)).toBeLessThan(0.8 * l1(pgd));
    const linf = tf.tidy(() => tf.max(tf.abs(tf.sub(adv2.result.adversarial, x))).dataSync()[0]!);
    expect(linf).toBeLessThanOrEqual(0.031 + 1e-6);
    for (const run of [pgd, adv2]) tf.dispose([run.result.adversarial, run.result.map!, run.targetMaps]);
    x.dispose();
    model.dispose();
  });

  it('no tensor leak across outer iterations and refreshes; the same seed gives the same result', async () => {
    await useBackend('wasm');
    const toy = toyModel(2);
    const mask = new MaskInterpreter(toy, { ...TOY_MASK, iterations: 10 });
    const xt = tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const xq = quantize8(xt, xt, 1);
    const maps = mask.explain(xq, [0, 1]);
    const attack = new Adv2Mask(mask, { warmupSteps: 5, outerSteps: 12, refreshEvery: 4, bisectionProbes: 4, kappa: -1e3 });
    const runs: Float32Array[] = [];
    await expectNoLeak(() => {
      const r = attack.run(xq, [1, 2], maps);
      runs.push(r.adversarial.dataSync() as Float32Array);
      tf.dispose([r.adversarial, r.map!]);
    }, 1, 1);
    expect(Array.from(runs[1]!)).toEqual(Array.from(runs[0]!));
    const other = new Adv2Mask(mask, { warmupSteps: 5, outerSteps: 12, refreshEvery: 4, bisectionProbes: 4, kappa: -1e3, seed: 9 }).run(xq, [1, 2], maps);
    expect(Array.from(other.adversarial.dataSync())).not.toEqual(Array.from(runs[0]!));
    tf.dispose([xt, xq, maps, other.adversarial, other.map!]);
    toy.dispose();
  });
});
