import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { type Dataset, batchTensor } from '../../data/dataset.js';
import { PLACED_SEEDS, type Split } from '../../data/fashion-mnist.js';
import { makePlacedDataset } from '../../data/placed.js';
import { loadFashionMnist } from '../../io/node/fashion-mnist.js';
import { type ArchConfig, Classifier, buildArchitecture } from '../../models/classifier.js';
import { evaluateAccuracy } from '../../models/evaluate.js';
import { loadCheckpoint, saveCheckpoint } from '../../models/node/checkpoint.js';
import { saveModelDir, writeAtomic } from '../../models/node/files.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainData, type TrainOptions, freshTrainState, train } from '../../models/train.js';
import { FASHION_MNIST_PREPROCESS, PLACED_PREPROCESS, ZOO } from '../../models/zoo.js';
import { cardNativeNote, parseFloatOption, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';

type DataKind = 'fashion-mnist' | 'fashion-mnist-placed';

interface TrainCliOptions {
  arch: 'resnet' | 'densenet';
  data: DataKind;
  dataDir?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  out: string;
  name?: string;
  restart?: boolean;
  limit?: number;
  json?: boolean;
}

export function datasetForTraining(kind: DataKind, split: Split, dataDir?: string, limit?: number): Dataset {
  let ds = loadFashionMnist(split, dataDir);
  if (limit !== undefined && limit < ds.labels.length) {
    ds = { ...ds, images: ds.images.subarray(0, limit * 784), labels: ds.labels.subarray(0, limit) };
  }
  if (kind === 'fashion-mnist') return ds;
  return makePlacedDataset(ds, { seed: PLACED_SEEDS[split] });
}

export function asTrainData(ds: Dataset): TrainData {
  return { size: ds.labels.length, batch: (idx) => batchTensor(ds, idx) };
}

/** The zoo's architecture for a family and dataset (the configuration the shipped models use). */
function zooArch(family: 'resnet' | 'densenet', data: DataKind): ArchConfig {
  const entry = ZOO.find((z) => z.dataset === data && z.arch.family === family);
  if (entry === undefined) throw new Error(`no zoo architecture for ${family} on ${data}`);
  return entry.arch as ArchConfig;
}

export function registerTrain(program: Command): void {
  program.command('train')
    .description('train a zoo classifier (seeded, checkpointed, resumable: rerun the same command to continue)')
    .addOption(new Option('--arch <family>', 'architecture family').choices(['resnet', 'densenet']).makeOptionMandatory())
    .addOption(new Option('--data <dataset>', 'training data').choices(['fashion-mnist', 'fashion-mnist-placed']).makeOptionMandatory())
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX files (default: the Debian package location)')
    .option('--epochs <n>', 'epochs', parseIntOption('epochs', 1, 1000), 12)
    .option('--batch-size <n>', 'batch size', parseIntOption('batch-size', 1, 4096), DEFAULT_TRAIN_OPTIONS.batchSize)
    .option('--lr <rate>', 'peak learning rate (AdamW, cosine schedule)', parseFloatOption('lr', 0, 1), DEFAULT_TRAIN_OPTIONS.learningRate)
    .option('--seed <n>', 'seed for initialisation, order and augmentation', parseIntOption('seed', 0, 2 ** 31 - 1), 1)
    .requiredOption('--out <dir>', 'output folder: model.json, weights.bin, CARD.md; checkpoint/ while training')
    .option('--name <name>', 'model name recorded in the card (default: the folder name)')
    .option('--restart', 'ignore an existing checkpoint and start over')
    .option('--limit <n>', 'train on the first n training images only (smoke tests)', parseIntOption('limit', 1, 60000))
    .option('--json', 'print the final model card as JSON')
    .addHelpText('after', `
Trains on the full 60k training split and reports accuracy on the full 10k test split.
A checkpoint is written every 100 steps and at each epoch end into OUT/checkpoint; rerunning
the same command resumes from it. Example:
  adv2 train --arch resnet --data fashion-mnist-placed --epochs 12 --out models/placed-resnet`)
    .action(async (opts: TrainCliOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const archConfig = zooArch(opts.arch, opts.data);
      const arch = buildArchitecture(archConfig);
      const preprocess = opts.data === 'fashion-mnist' ? FASHION_MNIST_PREPROCESS : PLACED_PREPROCESS;
      const options: TrainOptions = {
        ...DEFAULT_TRAIN_OPTIONS,
        epochs: opts.epochs, batchSize: opts.batchSize, learningRate: opts.lr, seed: opts.seed,
        augmentShift: 0,
        augmentFlip: true,
      };
      const trainSet = datasetForTraining(opts.data, 'train', opts.dataDir, opts.limit);
      const testSet = datasetForTraining(opts.data, 'test', opts.dataDir);
      const ckptDir = join(opts.out, 'checkpoint');
      const fingerprint = JSON.stringify({ archConfig, data: opts.data, seed: opts.seed, limit: opts.limit ?? null });
      if (opts.restart && existsSync(ckptDir)) rmSync(ckptDir, { recursive: true });
      const resumed = loadCheckpoint(ckptDir, fingerprint);
      const state = resumed?.state ?? freshTrainState(arch, opts.seed);
      if (resumed) process.stderr.write(`adv2: resuming from epoch ${state.epoch + 1}, step ${state.step}\n`);

      const bar = progressBar('epoch {epoch} |{bar}| {percentage}% | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}');
      const stepsPerEpoch = Math.floor(trainSet.labels.length / options.batchSize);
      bar.start(stepsPerEpoch * options.epochs, { epoch: state.epoch + 1, loss: '-', acc: '-', ips: '-' });
      let ema: { loss: number; acc: number } | null = null;
      await train(arch, preprocess, asTrainData(trainSet), options, state, {
        checkpointEvery: 100,
        checkpoint: (s) => saveCheckpoint(ckptDir, fingerprint, options, s),
        onStep: (s) => {
          ema = ema === null ? { loss: s.loss, acc: s.accuracy } : { loss: 0.95 * ema.loss + 0.05 * s.loss, acc: 0.95 * ema.acc + 0.05 * s.accuracy };
          if (!process.stderr.isTTY && s.step % 100 === 0) {
            process.stderr.write(`epoch ${s.epoch + 1} step ${s.step}/${stepsPerEpoch}: loss ${ema.loss.toFixed(3)}, acc ${(100 * ema.acc).toFixed(1)}%, ${s.imagesPerSecond.toFixed(0)} img/s\n`);
          }
          bar.update(s.epoch * stepsPerEpoch + s.step, {
            epoch: `${s.epoch + 1}/${options.epochs}`, loss: ema.loss.toFixed(3), acc: (100 * ema.acc).toFixed(1) + '%', ips: s.imagesPerSecond.toFixed(0),
          });
        },
        onEpoch: (e) => {
          if (!process.stderr.isTTY) process.stderr.write(`epoch ${e.epoch}/${options.epochs}: loss ${e.loss.toFixed(4)}, train acc ${(100 * e.accuracy).toFixed(2)}%, ${e.seconds.toFixed(0)} s\n`);
        },
      });
      bar.stop();

      const name = opts.name ?? opts.out.replace(/\/+$/, '').split('/').pop()!;
      const model = new Classifier({ name, dataset: opts.data }, arch, state.weights, preprocess, [...trainSet.classNames]);
      const accuracy = evaluateAccuracy(model, asTrainData(testSet));
      Object.assign(model.card, {
        description: `${archConfig.family} trained by adv2 on ${opts.data}`,
        testAccuracy: accuracy,
        testSet: `${opts.data} test split, ${testSet.labels.length} images`,
        trainingSeconds: Math.round(state.elapsedSeconds),
        epochs: options.epochs,
        parameters: model.parameterCount,
        sizeBytes: Object.values(state.weights).reduce((n, t) => n + 4 * t.size, 0),
        training: options,
        history: state.history,
        ...runRecord(backend, { seed: opts.seed }),
      });
      saveModelDir(model, opts.out);
      writeAtomic(join(opts.out, 'CARD.md'), modelCardMarkdown(model.card, archConfig));
      if (opts.json) printJson(model.card);
      else process.stdout.write(`${name}: test accuracy ${(100 * accuracy).toFixed(2)}% on ${testSet.labels.length} images; saved to ${opts.out}\n`);
      model.dispose();
    });
}

function modelCardMarkdown(card: Classifier['card'], arch: ArchConfig): string {
  const hist = (card['history'] as TrainOptions[] | undefined) ?? [];
  return `# Model card: ${card.name}

| field | value |
|---|---|
| dataset | ${card.dataset} |
| architecture | ${JSON.stringify(arch)} |
| parameters | ${card.parameters} |
| test accuracy | ${((card.testAccuracy ?? 0) * 100).toFixed(2)}% (${card.testSet}) |
| training time | ${card.trainingSeconds} s (${card.epochs} epochs) |
| seed | ${card.seed} |
| backend | ${card.backend} (${String(card['threads'])} thread(s))${cardNativeNote(card['nativeConv'])} |
| adv2 / tfjs | ${String(card['adv2Version'])} / ${String(card['tfjsVersion'])} |
| trained | ${String(card['date'])} |

Training options: \`${JSON.stringify(card['training'])}\`

Per-epoch history (train loss / train accuracy / seconds):

${(hist as unknown as { epoch: number; loss: number; accuracy: number; seconds: number }[]).map((h) => `- epoch ${h.epoch}: ${h.loss.toFixed(4)} / ${(100 * h.accuracy).toFixed(2)}% / ${h.seconds.toFixed(0)} s`).join('\n')}
`;
}
