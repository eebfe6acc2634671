import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { batchTensor, boxAt } from '../../data/dataset.js';
import { RtsInterpreter } from '../../interpreters/rts.js';
import { RtsNetwork, initRtsWeights, rtsConfigFor } from '../../interpreters/rts/network.js';
import { type MaskQuality, maskQuality } from '../../interpreters/rts/quality.js';
import { type RtsTrainOptions, freshRtsTrainState, rtsTrainDefaults, trainRts } from '../../interpreters/rts/train.js';
import { loadRtsCheckpoint, saveRtsCheckpoint, saveRtsDir } from '../../interpreters/node/rts-files.js';
import type { Classifier } from '../../models/classifier.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { ZOO } from '../../models/zoo.js';
import { fixtureDataset, fixtureFor } from '../inputs.js';
import { UsageError, cardNativeNote, parseFloatOption, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';
import { asTrainData, datasetForTraining } from './train.js';

interface TrainRtsCliOptions {
  model: string;
  encoder?: string;
  out: string;
  steps?: number;
  selectorSteps?: number;
  batchSize?: number;
  lr?: number;
  smooth?: number;
  area?: number;
  colourCentre?: number;
  seed: number;
  evalN: number;
  dataDir?: string;
  limit?: number;
  restart?: boolean;
  json?: boolean;
}

/** The zoo ResNet of the classifier's dataset: the frozen encoder (spec 3.4: one ResNet encodes for every RTS). */
function defaultEncoder(model: Classifier): string {
  const entry = ZOO.find((z) => z.dataset === model.card.dataset && z.arch.family === 'resnet');
  if (entry === undefined) throw new UsageError(`no zoo ResNet for dataset '${model.card.dataset}' to serve as the RTS encoder; pass --encoder`);
  return entry.name;
}

export function registerTrainRts(program: Command): void {
  program.command('train-rts')
    .description('train the RTS (real-time saliency) network of a zoo classifier (seeded, checkpointed, resumable)')
    .requiredOption('--model <name>', 'zoo classifier the masks explain (the black box of the objective)')
    .option('--encoder <name>', 'frozen encoder (default: the zoo ResNet of the same dataset)')
    .requiredOption('--out <dir>', 'output folder: model.json, weights.bin, CARD.md; checkpoint/ while training')
    .option('--steps <n>', 'training steps, both phases', parseIntOption('steps', 1, 1e6))
    .option('--selector-steps <n>', 'phase-1 steps (selector embedding only)', parseIntOption('selector-steps', 0, 1e6))
    .option('--batch-size <n>', 'batch size', parseIntOption('batch-size', 2, 1024))
    .option('--lr <rate>', 'Adam learning rate', parseFloatOption('lr', 0, 1))
    .option('--smooth <s>', 'smoothness coefficient s', parseFloatOption('smooth', 0, 100))
    .option('--area <c>', 'area coefficient (default 8)', parseFloatOption('area', 0, 100))
    .option('--colour-centre <v>', 'centre of φ\'s random grey levels (default 0.165: U(0, 0.33); upstream 0.5)', parseFloatOption('colour-centre', 0, 1))
    .option('--seed <n>', 'seed for initialisation, order, fake labels and φ', parseIntOption('seed', 1, 2 ** 31 - 1), 1)
    .option('--eval-n <n>', 'fixture images for the quality figures of the card', parseIntOption('eval-n', 1, 1000), 100)
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX files (default: the Debian package location)')
    .option('--limit <n>', 'train on the first n training images only (smoke tests)', parseIntOption('limit', 1, 60000))
    .option('--restart', 'ignore an existing checkpoint and start over')
    .option('--json', 'print the card as JSON')
    .addHelpText('after', `
Objective (spec 3.4): destroyer + 8·area + s·smooth + 0.3·preserver + exists CE, with the blending
operator φ (noise, random grey or blurred alternative) and fake labels; phase 1 trains the
selector only, phase 2 the whole decoder. The encoder and the classifier stay frozen.
A checkpoint is written every 100 steps into OUT/checkpoint; rerunning the same command resumes.
Example:
  adv2 train-rts --model placed-resnet --out models/placed-resnet-rts`)
    .action(async (opts: TrainRtsCliOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const classifier = loadModel(opts.model);
      const dataset = classifier.card.dataset;
      if (dataset !== 'fashion-mnist' && dataset !== 'fashion-mnist-placed') {
        throw new UsageError(`train-rts trains on the zoo's Fashion-MNIST datasets; '${classifier.name}' is on ${dataset}`);
      }
      const encoderName = opts.encoder ?? defaultEncoder(classifier);
      const encoder = encoderName === classifier.name ? classifier : loadModel(encoderName);
      const config = rtsConfigFor(encoder, classifier);
      const defaults = rtsTrainDefaults(classifier.inputShape[0]);
      const options: RtsTrainOptions = {
        ...defaults,
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.selectorSteps !== undefined ? { selectorSteps: opts.selectorSteps } : {}),
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
        ...(opts.lr !== undefined ? { learningRate: opts.lr } : {}),
        objective: {
          ...defaults.objective,
          ...(opts.smooth !== undefined ? { smoothCoef: opts.smooth } : {}),
          ...(opts.area !== undefined ? { areaCoef: opts.area } : {}),
        },
        blend: { ...defaults.blend, ...(opts.colourCentre !== undefined ? { colourCentre: opts.colourCentre } : {}) },
        seed: opts.seed,
      };
      if (options.selectorSteps > options.steps) throw new UsageError(`--selector-steps (${options.selectorSteps}) exceeds --steps (${options.steps})`);
      const trainSet = datasetForTraining(dataset, 'train', opts.dataDir, opts.limit);
      const name = opts.out.replace(/\/+$/, '').split('/').pop()!;
      const net = new RtsNetwork(config, initRtsWeights(config, opts.seed), encoder, { name }, encoder !== classifier);
      const ckptDir = join(opts.out, 'checkpoint');
      const fingerprint = JSON.stringify({ config, options, limit: opts.limit ?? null });
      if (opts.restart && existsSync(ckptDir)) rmSync(ckptDir, { recursive: true });
      const state = freshRtsTrainState(net);
      const resumed = loadRtsCheckpoint(ckptDir, fingerprint);
      if (resumed) {
        for (const [k, t] of Object.entries(resumed.weights)) { net.weights[k]?.dispose(); net.weights[k] = t; }
        tf.dispose([...Object.values(state.moments.m), ...Object.values(state.moments.v)]);
        Object.assign(state, { step: resumed.step, elapsedSeconds: resumed.elapsedSeconds, history: resumed.history, moments: resumed.moments });
        process.stderr.write(`adv2: resuming RTS training at step ${state.step} of ${options.steps}\n`);
      }

      const bar = progressBar('rts phase {phase} |{bar}| {value}/{total} | loss {loss} (destroy {d} area {a} preserve {p} exists {e}) | mask {m} | {ips} img/s | ETA {eta_formatted}');
      bar.start(options.steps, { phase: state.step < options.selectorSteps ? 1 : 2, loss: '-', d: '-', a: '-', p: '-', e: '-', m: '-', ips: '-' });
      bar.update(state.step);
      let ema: Record<string, number> | null = null;
      await trainRts(net, classifier, asTrainData(trainSet), options, state, {
        checkpointEvery: 100,
        checkpoint: (s) => saveRtsCheckpoint(ckptDir, fingerprint, options, s),
        onStep: (s) => {
          const now: Record<string, number> = { total: s.total, destroyer: s.destroyer, area: s.area, preserver: s.preserver, exists: s.exists, maskMean: s.maskMean };
          ema = ema === null ? now : Object.fromEntries(Object.entries(now).map(([k, v]) => [k, 0.9 * ema![k]! + 0.1 * v]));
          if (!process.stderr.isTTY && s.step % 50 === 0) {
            process.stderr.write(`step ${s.step}/${s.steps} (phase ${s.phase}): loss ${ema.total!.toFixed(3)}, destroyer ${ema.destroyer!.toFixed(3)}, area ${ema.area!.toFixed(3)}, preserver ${ema.preserver!.toFixed(3)}, exists ${ema.exists!.toFixed(3)}, mask mean ${ema.maskMean!.toFixed(3)}, ${s.imagesPerSecond.toFixed(0)} img/s\n`);
          }
          bar.update(s.step, {
            phase: s.phase, loss: ema.total!.toFixed(3), d: ema.destroyer!.toFixed(2), a: ema.area!.toFixed(3), p: ema.preserver!.toFixed(2),
            e: ema.exists!.toFixed(2), m: ema.maskMean!.toFixed(2), ips: s.imagesPerSecond.toFixed(0),
          });
        },
      });
      bar.stop();

      // quality figures on the first eval-n fixture images (the test split)
      const ds = fixtureDataset(fixtureFor(classifier));
      const idx = Array.from({ length: Math.min(opts.evalN, ds.labels.length) }, (_, i) => i);
      const { x, y } = batchTensor(ds, idx);
      y.dispose();
      const boxes = ds.boxes ? idx.map((i) => boxAt(ds, i)!) : undefined;
      const quality = maskQuality(new RtsInterpreter(classifier, net), x, boxes);
      x.dispose();
      Object.assign(net.card, {
        description: `RTS network explaining ${classifier.name} (encoder ${encoder.name}), trained by adv2`,
        classifier: classifier.name,
        encoder: encoder.name,
        maskShape: net.maskShape,
        trainingSeconds: Math.round(state.elapsedSeconds),
        steps: options.steps,
        parameters: net.parameterCount,
        sizeBytes: Object.values(net.weights).reduce((n, t) => n + 4 * t.size, 0),
        training: options,
        quality: { ...quality, set: `first ${idx.length} items of the ${fixtureFor(classifier)} fixture` },
        history: state.history,
        ...runRecord(backend, { seed: opts.seed }),
      });
      saveRtsDir(net, opts.out, rtsCardMarkdown(net, quality));
      if (opts.json) printJson(net.card);
      else process.stdout.write(`${name}: keep ${pct(quality.keep)}, delete ${pct(quality.delete)} (blurred alternative: ${pct(quality.keepBlur)}, ${pct(quality.deleteBlur)})${quality.localisationMax !== undefined ? `, localisation max ${pct(quality.localisationMax)} / top-10% mass ${pct(quality.localisationMass!)}` : ''} on ${quality.n} fixture images; saved to ${opts.out}\n`);
      net.dispose();
      classifier.dispose();
    });
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function rtsCardMarkdown(net: RtsNetwork, q: MaskQuality): string {
  const c = net.card;
  const o = c['training'] as RtsTrainOptions;
  const hist = (c['history'] as { step: number; total: number; destroyer: number; preserver: number; area: number; maskMean: number }[]) ?? [];
  const every = Math.max(1, Math.ceil(hist.length / 12));
  return `# RTS card: ${c.name}

Real-time saliency network (Dabkowski & Gal 2017, spec 3.4) explaining \`${net.config.classifier}\`,
encoder \`${net.config.encoder}\` (frozen, with its own head). See src/interpreters/rts/network.ts for the
architecture and src/interpreters/rts/objective.ts for the objective.

| field | value |
|---|---|
| classifier (black box) | ${net.config.classifier} |
| encoder | ${net.config.encoder}: deep ${net.config.deepLayer} (${net.config.deepChannels} ch, ${net.config.deepSize.join('×')}), skips ${net.config.skipLayers.join(', ')} |
| decoder widths | ${net.config.widths.join(', ')}; selector κ = ${net.config.kappa} |
| mask | ${net.maskShape.join('×')} |
| parameters | ${String(c['parameters'])} (${((c['sizeBytes'] as number) / 1024).toFixed(0)} KiB) |
| training time | ${String(c['trainingSeconds'])} s, ${o.steps} steps (phase 1 ${o.selectorSteps}), batch ${o.batchSize} |
| seed | ${String(c['seed'])} |
| backend | ${String(c['backend'])} (${String(c['threads'])} thread(s))${cardNativeNote(c['nativeConv'])} |
| adv2 / tfjs | ${String(c['adv2Version'])} / ${String(c['tfjsVersion'])} |
| trained | ${String(c['date'])} |

Quality on ${String((c['quality'] as { set: string }).set)} (definitions: src/interpreters/rts/quality.ts —
the mask for the predicted class, up-sampled and binarised at 0.5; "keep" blanks everything outside it,
"delete" blanks it; blank = the canvas background (0) or the blurred image):

| alternative | keep (prediction preserved) | delete (prediction changed) |
|---|---:|---:|
| background (headline) | ${pct(q.keep)} | ${pct(q.delete)} |
| blurred image | ${pct(q.keepBlur)} | ${pct(q.deleteBlur)} |

Localisation on the placed set (map maximum / top-10 % mass inside the object's box): ${q.localisationMax !== undefined ? `${pct(q.localisationMax)} / ${pct(q.localisationMass!)}` : 'n/a (no boxes)'}.

Hyper-parameters: \`${JSON.stringify(o)}\`

Loss history (mean over blocks of steps: total / destroyer / preserver / area / mean mask of real labels):

${hist.filter((_, i) => i % every === every - 1 || i === hist.length - 1).map((h) => `- step ${h.step}: ${h.total.toFixed(3)} / ${h.destroyer.toFixed(3)} / ${h.preserver.toFixed(3)} / ${h.area.toFixed(3)} / ${h.maskMean.toFixed(3)}`).join('\n')}
`;
}
