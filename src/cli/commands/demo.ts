import { join } from 'node:path';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../data/dataset.js';
import { attackPicture, type PictureRow } from '../../experiments/figures.js';
import { type AttackRun, runAttack } from '../../experiments/run-attack.js';
import { encodePng } from '../../io/image.js';
import { attackSuccessRate, misclassificationConfidence } from '../../metrics/attack.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { attackEpsilonFor } from '../../models/zoo.js';
import { fixtureDataset, fixtureFor, pickExamples } from '../inputs.js';
import { CLI_INTERPRETER_NAMES, interpreterFor } from '../interpreters.js';
import { parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';
import { className, mapToImage, tensorImage } from './attack.js';

interface DemoOptions { model: string; interpreter: string; n: number; seed: number; steps: number; out: string; json?: boolean }

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('the main demo: PGD vs ADV² on a shipped model — writes demo.png and result.json')
    .option('--model <name>', 'zoo model with a fixture dataset', 'placed-resnet')
    .addOption(new Option('--interpreter <name>', 'interpreter to fool').choices([...CLI_INTERPRETER_NAMES]).default('cam'))
    .option('--n <count>', 'images to attack', parseIntOption('n', 1, 32), 4)
    .option('--seed <n>', 'seed for the target classes', parseIntOption('seed', 0), 1)
    .option('--steps <n>', 'attack steps (PGD total; ADV² warm start + joint steps)', parseIntOption('steps', 20), 600)
    .option('--out <dir>', 'output folder', 'demo-out')
    .option('--json', 'print result.json to stdout')
    .addHelpText('after', `
Both attacks push each image into a random wrong class within the same L∞ ball (ε = 0.05 on
the 28–56 px zoo models, 0.031 = 8/255 on ImageNet, the paper's). PGD leaves a
trace in the interpretation; ADV² also matches the benign interpretation, so a person looking
at the map sees nothing unusual. Compare the columns of demo.png.`)
    .action(async (opts: DemoOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const model: Classifier = loadModel(opts.model);
      const interpreter = await interpreterFor(opts.interpreter, model);
      const ds = fixtureDataset(fixtureFor(model));
      const { indices, labels, targets } = pickExamples(model, opts.n, opts.seed);
      const { x } = batchTensor(ds, indices);
      const epsilon = attackEpsilonFor(model.name);
      const bar = progressBar('{attack} |{bar}| {value}/{total} | success {ok}');
      const runs: Record<'pgd' | 'adv2', AttackRun> = {} as Record<'pgd' | 'adv2', AttackRun>;
      for (const attack of ['pgd', 'adv2'] as const) {
        let started = false;
        const warmupSteps = Math.round(opts.steps * 0.4);
        runs[attack] = runAttack(interpreter, x, targets, attack === 'pgd'
          ? { attack, pgd: { epsilon, steps: opts.steps } }
          : { attack, adv2: { epsilon, warmupSteps, steps: opts.steps - warmupSteps, lambda: { kind: 'ramp', c: 5 } } },
        { trueClasses: labels, indices, hooks: { onStep: ({ step, total, trace }) => {
          if (!started) { bar.start(total, { attack }); started = true; }
          bar.update(step, { attack, ok: `${Math.round(100 * trace.success)}%` });
        } } });
        bar.stop();
      }
      const summary = (run: AttackRun) => ({
        asr: attackSuccessRate(run.records),
        meanConfidence: misclassificationConfidence(run.records),
        meanL1: mean(run.records.map((r) => r.mapL1)),
        meanIoU: mean(run.records.map((r) => r.mapIoU)),
        seconds: run.result.seconds,
      });
      const rows: PictureRow[] = indices.map((item, i) => ({
        label: `#${item}`,
        box: ds.boxes ? [ds.boxes[4 * item]!, ds.boxes[4 * item + 1]!, ds.boxes[4 * item + 2]!, ds.boxes[4 * item + 3]!] : undefined,
        variants: [
          { title: 'benign', image: tensorImage(x, i), map: mapToImage(tf.slice(runs.pgd.targetMaps, [i, 0, 0], [1, -1, -1])), imageCaption: className(model, labels[i]!) },
          ...(['pgd', 'adv2'] as const).map((a) => {
            const r = runs[a].records[i]!;
            return {
              title: a === 'pgd' ? 'PGD' : 'ADV²',
              image: tensorImage(runs[a].result.adversarial, i),
              map: mapToImage(tf.slice(runs[a].result.map!, [i, 0, 0], [1, -1, -1])),
              imageCaption: `${className(model, r.predictedClass)} ${r.confidence.toFixed(2)}`,
              mapCaption: `L1 ${r.mapL1.toFixed(3)} IoU ${r.mapIoU.toFixed(2)}`,
            };
          }),
        ],
      }));
      const picture = attackPicture(rows, { interpreter: interpreter.name.toUpperCase(), title: `${model.name}: PGD vs ADV² against ${interpreter.name.toUpperCase()}` });
      const result = {
        model: model.name, interpreter: interpreter.name, n: indices.length, seed: opts.seed, epsilon: runs.adv2.options.epsilon,
        summary: { pgd: summary(runs.pgd), adv2: summary(runs.adv2) },
        images: indices.map((item, i) => ({ index: item, trueClass: labels[i], targetClass: targets[i], pgd: runs.pgd.records[i], adv2: runs.adv2.records[i] })),
        options: { pgd: runs.pgd.options, adv2: runs.adv2.options }, interpreterSettings: interpreter.settings(),
        ...runRecord(backend),
      };
      writeAtomic(join(opts.out, 'demo.png'), encodePng(picture));
      writeAtomic(join(opts.out, 'result.json'), JSON.stringify(result, null, 2));
      if (opts.json) printJson(result);
      else {
        const s = result.summary;
        process.stdout.write(`PGD:  ASR ${(100 * s.pgd.asr).toFixed(0)}%, map L1 to benign ${s.pgd.meanL1.toFixed(3)}, IoU ${s.pgd.meanIoU.toFixed(2)}\n`);
        process.stdout.write(`ADV²: ASR ${(100 * s.adv2.asr).toFixed(0)}%, map L1 to benign ${s.adv2.meanL1.toFixed(3)}, IoU ${s.adv2.meanIoU.toFixed(2)}\n`);
        process.stdout.write(`wrote ${join(opts.out, 'demo.png')} and ${join(opts.out, 'result.json')}\n`);
      }
      tf.dispose([x, runs.pgd.result.adversarial, runs.pgd.result.map!, runs.pgd.targetMaps, runs.adv2.result.adversarial, runs.adv2.result.map!, runs.adv2.targetMaps]);
      model.dispose();
    });
}

function mean(v: number[]): number {
  return v.length === 0 ? Number.NaN : v.reduce((s, a) => s + a, 0) / v.length;
}
