/**
 * Seeded, resumable RTS training (spec 3.4): the encoder is frozen and run outside the gradient
 * tape, so only the decoder and selector are differentiated; the black-box classifier's weights
 * are constants (input gradients only).
 *
 * Two phases, as upstream, shortened to the zoo's budget: phase 1 trains only the selector
 * embedding (50 % fake labels), phase 2 all decoder weights (30 % fake labels). Fake labels: a
 * random class ≠ the label; its mask should be empty (area term; untargeted preserver) and the
 * exists logits should say "absent". Adam with decoupled weight decay (the zoo trainer's AdamW);
 * learning rate constant in phase 1, cosine-decayed over phase 2.
 *
 * Every random choice of step t (batch order, fake labels, grey levels, blur choice, noise) is a
 * function of (seed, t), so a resumed run continues exactly as an uninterrupted one.
 * I/O (checkpoints, progress) is the caller's, via hooks.
 */
import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../../models/classifier.js';
import { TrainContext } from '../../models/context.js';
import { type TrainData, epochPermutation } from '../../models/train.js';
import type { WeightMap } from '../../models/weights.js';
import { Rng } from '../../util/rng.js';
import { type RtsNetwork, decode, encode, rtsParams } from './network.js';
import { type BlendOptions, type ObjectiveOptions, OBJECTIVE_DEFAULTS, blendDefaults, drawBlend, saliencyLoss } from './objective.js';

export interface RtsTrainOptions {
  /** total steps (both phases) */
  steps: number;
  /** phase-1 steps (selector only) */
  selectorSteps: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  bnMomentum: number;
  /** probability of a fake selector label in phase 1 and phase 2 */
  fakeProbability: [number, number];
  objective: ObjectiveOptions;
  blend: BlendOptions;
  seed: number;
}

/**
 * Defaults per input size, as used for the shipped networks. 56 px (placed): the spec's constants
 * (area 8, smoothness 0.005), 1000 steps. 28 px (Fashion-MNIST, objects filling most of the
 * frame): area 4 and smoothness 0.05, 600 steps — measured on fmnist-resnet, area 8 made the mask
 * collapse (mean mask 0.06 after 200 steps, keep 9 % / delete 5 % at 500 steps with s = 0.005)
 * while area 4 gave keep 93 % / delete 91 % at 200 steps.
 */
export function rtsTrainDefaults(inputSize: number): RtsTrainOptions {
  const small = inputSize < 56;
  return {
    steps: small ? 600 : 1000,
    selectorSteps: small ? 50 : 80,
    batchSize: 32,
    learningRate: 1e-3,
    weightDecay: 1e-4,
    bnMomentum: 0.9,
    fakeProbability: [0.5, 0.3],
    objective: { ...OBJECTIVE_DEFAULTS, ...(small ? { areaCoef: 4, smoothCoef: 0.05 } : {}) },
    blend: blendDefaults(inputSize),
    seed: 1,
  };
}

export interface RtsLossRecord {
  total: number;
  destroyer: number;
  preserver: number;
  area: number;
  smooth: number;
  exists: number;
  /** mean mask value over real-label images */
  maskMean: number;
}

export interface RtsTrainState {
  step: number;
  /** the network's weight map (entries replaced at each step) */
  weights: WeightMap;
  moments: { m: WeightMap; v: WeightMap };
  elapsedSeconds: number;
  /** mean loss terms per block of steps */
  history: ({ step: number } & RtsLossRecord)[];
}

export interface RtsStepInfo extends RtsLossRecord {
  step: number;
  steps: number;
  phase: 1 | 2;
  imagesPerSecond: number;
  learningRate: number;
}

export interface RtsTrainHooks {
  onStep?(info: RtsStepInfo): void;
  /** called every `checkpointEvery` steps and at the end; the state is valid only during the call */
  checkpoint?(state: RtsTrainState): void | Promise<void>;
  checkpointEvery?: number;
  /** steps averaged into one history entry (default 50) */
  historyEvery?: number;
  shouldStop?(): boolean;
}

export function freshRtsTrainState(net: RtsNetwork): RtsTrainState {
  const m: WeightMap = {};
  const v: WeightMap = {};
  for (const [name, d] of Object.entries(rtsParams(net.config))) {
    if (d.trainable) { m[name] = tf.zerosLike(net.weights[name]!); v[name] = tf.zerosLike(net.weights[name]!); }
  }
  return { step: 0, weights: net.weights, moments: { m, v }, elapsedSeconds: 0, history: [] };
}

function learningRateAt(o: RtsTrainOptions, step: number): number {
  if (step < o.selectorSteps) return o.learningRate;
  const progress = (step - o.selectorSteps) / Math.max(1, o.steps - o.selectorSteps);
  return o.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The selector labels, fake flags and φ draws of step `step` (a pure function of the seed and step). */
export function stepDraws(o: RtsTrainOptions, step: number, labels: readonly number[], numClasses: number): {
  classes: number[]; real: boolean[]; colours: number[]; blurred: boolean[]; noiseSeed: number;
} {
  const rng = new Rng(`rts/${o.seed}/${step}`);
  const pFake = step < o.selectorSteps ? o.fakeProbability[0] : o.fakeProbability[1];
  const real = labels.map(() => !rng.bool(pFake));
  const classes = labels.map((y, i) => (real[i] ? y : (y + 1 + rng.int(numClasses - 1)) % numClasses));
  const colours = labels.map(() => o.blend.colourCentre + rng.uniform(-o.blend.colourRange / 2, o.blend.colourRange / 2));
  const blurred = labels.map(() => rng.bool(o.blend.blurProbability));
  return { classes, real, colours, blurred, noiseSeed: 1 + (rng.uint32() % 2147483000) };
}

/**
 * Train `net` against `classifier` from `state` (fresh or resumed) until o.steps; mutates and
 * returns the state (whose weights are the network's weight map).
 */
export async function trainRts(
  net: RtsNetwork,
  classifier: Classifier,
  data: TrainData,
  o: RtsTrainOptions,
  state: RtsTrainState,
  hooks: RtsTrainHooks = {},
): Promise<RtsTrainState> {
  if (state.weights !== net.weights) throw new Error('the training state must hold the network\'s own weight map');
  if (classifier.name !== net.config.classifier) throw new Error(`RTS '${net.name}' explains '${net.config.classifier}', not '${classifier.name}'`);
  const decls = rtsParams(net.config);
  const decoderParams = Object.keys(decls).filter((n) => decls[n]!.trainable);
  const selectorParams = ['selector.embedding'];
  const stepsPerEpoch = Math.floor(data.size / o.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`batch size ${o.batchSize} exceeds the ${data.size} training images`);
  const beta1 = 0.9, beta2 = 0.999, adamEps = 1e-8;
  const historyEvery = hooks.historyEvery ?? 50;
  let perm = { epoch: -1, order: [] as number[] };
  let block: RtsLossRecord[] = [];

  for (; state.step < o.steps; ) {
    if (hooks.shouldStop?.()) break;
    const t0 = performance.now();
    const step = state.step;
    const epoch = Math.floor(step / stepsPerEpoch);
    if (perm.epoch !== epoch) perm = { epoch, order: epochPermutation(data.size, o.seed, epoch) };
    const within = step % stepsPerEpoch;
    const idx = perm.order.slice(within * o.batchSize, (within + 1) * o.batchSize);
    const phase: 1 | 2 = step < o.selectorSteps ? 1 : 2;
    const trainable = phase === 1 ? selectorParams : decoderParams;
    const lr = learningRateAt(o, step);

    let record = {} as RtsLossRecord;
    tf.tidy(() => {
      const { x, y } = data.batch(idx);
      const draws = stepDraws(o, step, Array.from(y.dataSync()), net.config.numClasses);
      const enc = encode(net.encoder, net.config, x);
      const blendDraw = drawBlend(x, o.blend, draws.colours, draws.blurred, draws.noiseSeed);
      const ctx = new TrainContext(state.weights, (z) => tf.relu(z));
      let terms: Record<string, number> = {};
      let maskMean = 0;
      const { grads } = tf.valueAndGrads((..._params: tf.Tensor[]) => {
        // the params are the very tensors ctx reads from state.weights: the tape links them
        const { mask, existsLogits } = decode(net.config, enc, draws.classes, ctx);
        const loss = saliencyLoss(classifier, blendDraw, mask, existsLogits, draws.classes, draws.real, o.objective);
        terms = Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v.dataSync()[0]!]));
        const realMask = tf.tensor1d(draws.real.map(Number));
        maskMean = tf.div(tf.sum(tf.mul(tf.mean(mask, [1, 2]), realMask)), tf.maximum(tf.sum(realMask), 1)).dataSync()[0]!;
        return loss.total;
      })(trainable.map((n) => state.weights[n]!));
      const next: WeightMap = {};
      for (const [i, n] of trainable.entries()) {
        const g = grads[i]!;
        // decoder parameters start their Adam clock at phase 2
        const t = n === 'selector.embedding' ? step + 1 : step - o.selectorSteps + 1;
        const m = tf.add(tf.mul(state.moments.m[n]!, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(state.moments.v[n]!, beta2), tf.mul(tf.square(g), 1 - beta2));
        const update = tf.div(tf.div(m, 1 - beta1 ** t), tf.add(tf.sqrt(tf.div(v, 1 - beta2 ** t)), adamEps));
        const decay = n.endsWith('.w') || n === 'selector.embedding' ? o.weightDecay : 0;
        next[n] = tf.keep(tf.sub(tf.mul(state.weights[n]!, 1 - lr * decay), tf.mul(update, lr)));
        state.moments.m[n]!.dispose(); state.moments.v[n]!.dispose();
        state.moments.m[n] = tf.keep(m); state.moments.v[n] = tf.keep(v);
      }
      for (const [bn, stats] of ctx.batchStats) {
        for (const [key, batchValue] of [['mean', stats.mean], ['var', stats.variance]] as const) {
          const name = `${bn}.${key}`;
          next[name] = tf.keep(tf.add(tf.mul(state.weights[name]!, o.bnMomentum), tf.mul(batchValue, 1 - o.bnMomentum)));
          batchValue.dispose();
        }
      }
      for (const [n, w] of Object.entries(next)) { state.weights[n]!.dispose(); state.weights[n] = w; }
      record = { ...terms, maskMean } as unknown as RtsLossRecord;
    });
    state.step++;
    const seconds = (performance.now() - t0) / 1000;
    state.elapsedSeconds += seconds;
    block.push(record);
    if (block.length === historyEvery || state.step === o.steps) {
      const avg = Object.fromEntries(Object.keys(record).map((k) => [k, block.reduce((s, r) => s + r[k as keyof RtsLossRecord], 0) / block.length])) as unknown as RtsLossRecord;
      state.history.push({ step: state.step, ...avg });
      block = [];
    }
    hooks.onStep?.({ ...record, step: state.step, steps: o.steps, phase, imagesPerSecond: idx.length / seconds, learningRate: lr });
    if (hooks.checkpoint && hooks.checkpointEvery && state.step % hooks.checkpointEvery === 0 && state.step < o.steps) {
      await hooks.checkpoint(state);
    }
  }
  net.refold();
  if (hooks.checkpoint && state.step >= o.steps) await hooks.checkpoint(state);
  return state;
}
