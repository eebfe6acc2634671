/**
 * The noise floor of a map distance: how far an interpreter's map moves when the image gets
 * uniform random noise of the attack's size (8-bit, no attack, same class). An attack cannot be
 * expected to keep the map closer than this while it also flips the class; the observation
 * tables use it to explain a bound that no attack of that size can meet.
 *
 *   npx tsx scripts/noise-floor.ts --model placed-densenet --interpreter rts [--n 100] [--epsilon 0.05] [--seed 7]
 *
 * Picks are the evaluate protocol's (the first n correctly classified fixture images, seed 1).
 */
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { quantize8 } from '../src/attacks/attack.js';
import { fixtureDataset, fixtureFor, pickExamples } from '../src/cli/inputs.js';
import { interpreterFor } from '../src/cli/interpreters.js';
import { batchTensor } from '../src/data/dataset.js';
import { selectBackend } from '../src/engine/backend.js';
import { compareMaps } from '../src/metrics/maps.js';
import { loadModel } from '../src/models/node/zoo-loader.js';
import { attackEpsilonFor } from '../src/models/zoo.js';

const opts = new Command()
  .requiredOption('--model <name>')
  .requiredOption('--interpreter <name>')
  .option('--n <count>', 'images', (v) => Number.parseInt(v, 10), 100)
  .option('--epsilon <e>', 'noise amplitude (default: the model\'s attack ε)', Number.parseFloat)
  .option('--seed <n>', 'noise seed (non-zero)', (v) => Number.parseInt(v, 10), 7)
  .parse()
  .opts<{ model: string; interpreter: string; n: number; epsilon?: number; seed: number }>();

await selectBackend({ backend: 'wasm' });
const model = loadModel(opts.model);
const interpreter = await interpreterFor(opts.interpreter, model);
const epsilon = opts.epsilon ?? attackEpsilonFor(model.name);
const { indices, labels } = pickExamples(model, opts.n, 1);
const { x } = batchTensor(fixtureDataset(fixtureFor(model)), indices);
const mean = (v: number[]): number => v.reduce((s, a) => s + a, 0) / v.length;
const benign = interpreter.explain(x, labels).arraySync() as number[][][];
const noised = tf.tidy(() => quantize8(tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -epsilon, epsilon, 'float32', opts.seed)), 0, 1) as tf.Tensor4D, x, epsilon));
const maps = interpreter.explain(noised, labels).arraySync() as number[][][];
const d = benign.map((b, i) => compareMaps(maps[i]!.flat(), b.flat()));
process.stdout.write(`${model.name} ${interpreter.name}, ${opts.n} images, uniform noise ±${epsilon} (8-bit): ` +
  `L1 ${mean(d.map((r) => r.l1)).toFixed(4)}, L2 ${mean(d.map((r) => r.l2)).toFixed(5)}, IoU ${mean(d.map((r) => r.iou)).toFixed(3)}, IoU@50% ${mean(d.map((r) => r.iou50)).toFixed(3)}\n`);
