/**
 * Seeded, resumable training of an Architecture: AdamW with a cosine learning-rate schedule,
 * batch norm from batch statistics (running averages updated outside the tape), optional
 * random-crop/flip augmentation. I/O (checkpoints, progress display) is the caller's, via hooks.
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import { type Preprocess, applyPreprocess, initWeights } from './classifier.js';
import { TrainContext } from './context.js';
import type { WeightMap } from './weights.js';

export interface TrainData {
  size: number;
  /** images in [0,1] NHWC and int32 labels for the given item indices */
  batch(indices: readonly number[]): { x: tf.Tensor4D; y: tf.Tensor1D };
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  /** running-average momentum of batch-norm statistics */
  bnMomentum: number;
  labelSmoothing: number;
  seed: number;
  /** pad-and-crop shift in pixels (0 = off) */
  augmentShift: number;
  augmentFlip: boolean;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 10,
  batchSize: 64,
  learningRate: 2e-3,
  weightDecay: 5e-4,
  bnMomentum: 0.9,
  labelSmoothing: 0.05,
  seed: 1,
  augmentShift: 0,
  augmentFlip: false,
};

/** Everything needed to continue training exactly where it stopped. */
export interface TrainState {
  epoch: number;
  /** step within the epoch */
  step: number;
  globalStep: number;
  weights: WeightMap;
  /** AdamW first and second moments, by parameter name */
  moments: { m: WeightMap; v: WeightMap };
  elapsedSeconds: number;
  history: { epoch: number; loss: number; accuracy: number; seconds: number }[];
}

export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  learningRate: number;
}

export interface TrainHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(info: { epoch: number; loss: number; accuracy: number; seconds: number }): void | Promise<void>;
  /** called every `checkpointEvery` steps and at each epoch end; the state is only valid during the call */
  checkpoint?(state: TrainState): void | Promise<void>;
  checkpointEvery?: number;
  /** abort training early (between steps) */
  shouldStop?(): boolean;
}

/** Deterministic permutation of 0..n-1 for (seed, epoch): xorshift-driven Fisher–Yates. */
export function epochPermutation(n: number, seed: number, epoch: number): number[] {
  let s = (seed * 2654435761 + epoch * 40503 + 1) >>> 0;
  const next = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function freshTrainState(arch: Architecture, seed: number): TrainState {
  const weights = initWeights(arch, seed);
  const m: WeightMap = {};
  const v: WeightMap = {};
  for (const [name, decl] of Object.entries(arch.params())) {
    if (decl.trainable) { m[name] = tf.zerosLike(weights[name]!); v[name] = tf.zerosLike(weights[name]!); }
  }
  return { epoch: 0, step: 0, globalStep: 0, weights, moments: { m, v }, elapsedSeconds: 0, history: [] };
}

function cosineLr(base: number, progress: number): number {
  const warm = 0.02;
  if (progress < warm) return base * (0.1 + 0.9 * progress / warm);
  return base * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (progress - warm) / (1 - warm))));
}

/** Random shift (zero padding, then crop) and horizontal flip, seeded per step. */
function augment(x: tf.Tensor4D, opts: TrainOptions, stepSeed: number): tf.Tensor4D {
  let out = x;
  const [n, h, w] = x.shape;
  if (opts.augmentShift > 0) {
    const s = opts.augmentShift;
    const padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]]);
    const boxes: number[][] = [];
    let r = stepSeed >>> 0;
    for (let i = 0; i < n; i++) {
      r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
      const dy = (r >>> 8) % (2 * s + 1);
      const dx = (r >>> 20) % (2 * s + 1);
      boxes.push([dy / (h + 2 * s - 1), dx / (w + 2 * s - 1), (dy + h - 1) / (h + 2 * s - 1), (dx + w - 1) / (w + 2 * s - 1)]);
    }
    out = tf.image.cropAndResize(padded, boxes, Array.from({ length: n }, (_, i) => i), [h, w]);
  }
  if (opts.augmentFlip) {
    const flags = Array.from({ length: n }, (_, i) => ((Math.imul(stepSeed + i, 2246822519) >>> 16) & 1));
    const mask = tf.tensor4d(flags, [n, 1, 1, 1]);
    out = tf.add(tf.mul(tf.reverse(out, 2), mask), tf.mul(out, tf.sub(1, mask))) as tf.Tensor4D;
  }
  return out;
}

/**
 * Train from `state` (fresh or resumed) until opts.epochs; mutates and returns the state.
 * The weights in the state are plain tensors replaced at each step (the old ones disposed).
 */
export async function train(
  arch: Architecture,
  preprocess: Preprocess,
  data: TrainData,
  opts: TrainOptions,
  state: TrainState,
  hooks: TrainHooks = {},
): Promise<TrainState> {
  const decls = arch.params();
  const trainable = Object.keys(decls).filter((n) => decls[n]!.trainable);
  const stepsPerEpoch = Math.floor(data.size / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;

  for (; state.epoch < opts.epochs; state.epoch++, state.step = 0) {
    const order = epochPermutation(data.size, opts.seed, state.epoch);
    let lossSum = 0, correct = 0, seen = 0;
    const epochStart = performance.now();
    for (; state.step < stepsPerEpoch; state.step++) {
      if (hooks.shouldStop?.()) return state;
      const t0 = performance.now();
      const idx = order.slice(state.step * opts.batchSize, (state.step + 1) * opts.batchSize);
      const lr = cosineLr(opts.learningRate, state.globalStep / totalSteps);
      const t = state.globalStep + 1;
      const { loss, nCorrect } = tf.tidy(() => {
        const { x, y } = data.batch(idx);
        const xa = augment(x, opts, opts.seed * 7919 + state.globalStep);
        const ctx = new TrainContext(state.weights, (z) => tf.relu(z));
        let logitsKept: tf.Tensor2D | null = null;
        const { value, grads } = tf.valueAndGrads((..._params: tf.Tensor[]) => {
          // the params are the very tensors ctx reads from state.weights: the tape links them
          const logits = arch.forward(applyPreprocess(preprocess, xa), ctx).logits;
          logitsKept = tf.keep(logits);
          const onehot = tf.oneHot(y, arch.numClasses);
          return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, opts.labelSmoothing) as tf.Scalar;
        })(trainable.map((n) => state.weights[n]!));
        const next: WeightMap = {};
        const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
        for (const [i, n] of trainable.entries()) {
          const g = grads[i]!;
          const m = tf.add(tf.mul(state.moments.m[n]!, beta1), tf.mul(g, 1 - beta1));
          const v = tf.add(tf.mul(state.moments.v[n]!, beta2), tf.mul(tf.square(g), 1 - beta2));
          const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
          // decoupled weight decay on weights only (not BN or biases)
          const decay = n.endsWith('.w') ? opts.weightDecay : 0;
          const w = tf.sub(tf.mul(state.weights[n]!, 1 - lr * decay), tf.mul(update, lr));
          next[n] = tf.keep(w);
          state.moments.m[n]!.dispose(); state.moments.v[n]!.dispose();
          state.moments.m[n] = tf.keep(m); state.moments.v[n] = tf.keep(v);
        }
        for (const [bn, stats] of ctx.batchStats) {
          for (const [key, batchValue] of [['mean', stats.mean], ['var', stats.variance]] as const) {
            const name = `${bn}.${key}`;
            next[name] = tf.keep(tf.add(tf.mul(state.weights[name]!, opts.bnMomentum), tf.mul(batchValue, 1 - opts.bnMomentum)));
            batchValue.dispose();
          }
        }
        for (const [n, w] of Object.entries(next)) { state.weights[n]!.dispose(); state.weights[n] = w; }
        const pred = tf.argMax(logitsKept!, 1);
        (logitsKept as tf.Tensor2D | null)?.dispose();
        return { loss: value.dataSync()[0]!, nCorrect: tf.sum(tf.equal(pred, y)).dataSync()[0]! };
      });
      lossSum += loss * idx.length; correct += nCorrect; seen += idx.length;
      state.globalStep++;
      const seconds = (performance.now() - t0) / 1000;
      state.elapsedSeconds += seconds;
      hooks.onStep?.({
        epoch: state.epoch, step: state.step + 1, stepsPerEpoch, loss, accuracy: nCorrect / idx.length,
        imagesPerSecond: idx.length / seconds, learningRate: lr,
      });
      if (hooks.checkpoint && hooks.checkpointEvery && (state.step + 1) % hooks.checkpointEvery === 0 && state.step + 1 < stepsPerEpoch) {
        state.step++;
        await hooks.checkpoint(state);
        state.step--;
      }
    }
    const summary = { epoch: state.epoch + 1, loss: lossSum / Math.max(1, seen), accuracy: correct / Math.max(1, seen), seconds: (performance.now() - epochStart) / 1000 };
    state.history.push(summary);
    await hooks.onEpoch?.(summary);
    if (hooks.checkpoint) {
      state.epoch++; state.step = 0;
      await hooks.checkpoint(state);
      state.epoch--;
    }
  }
  return state;
}
