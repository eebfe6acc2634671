import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { attackPicture, type PictureVariant } from '../../experiments/figures.js';
import { runAttack } from '../../experiments/run-attack.js';
import { decodeImage } from '../../io/image.js';
import { encodePng } from '../../io/image.js';
import type { Interpreter } from '../../interpreters/interpreter.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { attackEpsilonFor } from '../../models/zoo.js';
import { checkClass, loadInput, writeTensorPng } from '../inputs.js';
import { type AttackFlags, addAttackOptions, attackSettings } from '../attack-options.js';
import { CLI_INTERPRETER_NAMES, interpreterFor } from '../interpreters.js';
import { UsageError, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';

interface AttackCliOptions extends AttackFlags {
  model: string;
  interpreter: string;
  input?: string;
  index?: number;
  target: number;
  targetMap: string;
  out: string;
  json?: boolean;
}

/** a target map from a grayscale PNG, resized to the interpreter's map shape */
function mapFromFile(path: string, interpreter: Interpreter): tf.Tensor3D {
  if (!existsSync(path)) throw new UsageError(`target map file not found: ${path}`);
  const img = decodeImage(new Uint8Array(readFileSync(path)), { name: path, channels: 1 });
  const [h, w] = interpreter.mapShape();
  return tf.tidy(() => tf.reshape(tf.image.resizeBilinear(tf.tensor3d(img.data, [img.height, img.width, 1]), [h, w], false, true), [1, h, w]) as tf.Tensor3D);
}

export function mapToImage(map: tf.Tensor): { data: Float32Array; width: number; height: number } {
  const [, h, w] = map.shape as [number, number, number];
  return { data: map.dataSync() as Float32Array, width: w, height: h };
}

export function tensorImage(x: tf.Tensor4D, i = 0): PictureVariant['image'] {
  const [, h, w, c] = x.shape;
  return tf.tidy(() => ({ data: tf.slice(x, [i, 0, 0, 0], [1, h, w, c]).dataSync() as Float32Array, width: w, height: h, channels: c as 1 | 3 }));
}

export function className(model: Classifier, c: number): string {
  return model.classNames[c] ?? String(c);
}

export function registerAttack(program: Command): void {
  const command = program.command('attack')
    .description('attack one image: make the classifier predict --target while the interpreter shows the target map')
    .requiredOption('--model <name|dir>', 'zoo model (adv2 models list) or model folder')
    .addOption(new Option('--interpreter <name>', 'interpreter to fool').choices([...CLI_INTERPRETER_NAMES]).makeOptionMandatory())
    .addOption(new Option('--attack <name>', 'pgd (baseline, ignores the interpreter) or adv2').choices(['pgd', 'adv2']).default('adv2'))
    .option('--input <file>', 'PNG/JPEG image')
    .option('--index <i>', 'fixture image of the model\'s dataset', parseIntOption('index', 0))
    .requiredOption('--target <class>', 'target class index', parseIntOption('target', 0))
    .option('--target-map <benign|file>', 'map the interpretation should show: the benign map, or a grayscale PNG', 'benign');
  addAttackOptions(command)
    .requiredOption('--out <dir>', 'output folder: adversarial.png, benign-map.png, adversarial-map.png, overview.png, result.json')
    .option('--json', 'print result.json to stdout')
    .addHelpText('after', `
Defaults follow the paper (ε = 0.031, α = 1/255); ADV² runs a PGD warm start then the joint
loss CE + λ·MSE(map, target map), keeping the best iterate with target confidence ≥ 0.9.
Example:
  adv2 attack --model placed-resnet --interpreter cam --index 3 --target 0 --out out/attack`)
    .action(async (opts: AttackCliOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const model: Classifier = loadModel(opts.model);
      checkClass(model, opts.target, '--target');
      const interpreter = await interpreterFor(opts.interpreter, model);
      const input = loadInput(model, opts);
      model.validateInput(input.x);
      const targetMaps = opts.targetMap === 'benign' ? undefined : mapFromFile(opts.targetMap, interpreter);
      const bar = progressBar(`${opts.attack} |{bar}| {value}/{total} | CE {ce} | map {map} | success {ok}`);
      const settings = attackSettings(opts, attackEpsilonFor(model.name));
      let started = false;
      const run = runAttack(interpreter, input.x, [opts.target], settings, {
        trueClasses: [input.label ?? null], targetMaps,
        hooks: { onStep: ({ step, total, trace }) => {
          if (!started) { bar.start(total, {}); started = true; }
          bar.update(step, { ce: trace.predictionLoss.toFixed(3), map: trace.interpretationLoss?.toFixed(4) ?? '-', ok: trace.success === 1 ? 'yes' : 'no' });
        } },
      });
      bar.stop();
      const r = run.records[0]!;
      const benignClass = input.label ?? tf.tidy(() => tf.argMax(model.logits(input.x), 1).dataSync()[0]!);
      const result = {
        success: r.success, predictedClass: r.predictedClass, predictedName: className(model, r.predictedClass),
        targetClass: r.targetClass, targetName: className(model, r.targetClass), trueClass: input.label ?? null,
        confidence: r.confidence, mapL1: r.mapL1, mapL2: r.mapL2, mapIoU: r.mapIoU, mapIoU50: r.mapIoU50, linf: r.linf, l2: r.l2,
        selectedStep: r.selectedStep, seconds: run.result.seconds,
        model: model.name, interpreter: interpreter.name, attack: opts.attack, input: input.source, targetMap: opts.targetMap,
        options: run.options, interpreterSettings: interpreter.settings(), trace: run.result.trace, ...runRecord(backend),
      };
      // pictures first, result.json last: a result file always has its pictures
      writeTensorPng(join(opts.out, 'adversarial.png'), run.result.adversarial);
      writeTensorPng(join(opts.out, 'benign-map.png'), tf.tidy(() => tf.expandDims(run.targetMaps, 3)));
      writeTensorPng(join(opts.out, 'adversarial-map.png'), tf.tidy(() => tf.expandDims(run.result.map!, 3)));
      const picture = attackPicture([{
        box: input.box,
        variants: [
          { title: 'benign', image: tensorImage(input.x), map: mapToImage(run.targetMaps), imageCaption: className(model, benignClass) },
          { title: opts.attack === 'pgd' ? 'PGD' : 'ADV²', image: tensorImage(run.result.adversarial), map: mapToImage(run.result.map!),
            imageCaption: `${className(model, r.predictedClass)} ${r.confidence.toFixed(2)}`, mapCaption: `L1 ${r.mapL1.toFixed(3)} IoU ${r.mapIoU.toFixed(2)}` },
        ],
      }], { interpreter: interpreter.name.toUpperCase(), title: `${model.name}: ${opts.attack === 'pgd' ? 'PGD' : 'ADV²'} → ${className(model, opts.target)}` });
      writeAtomic(join(opts.out, 'overview.png'), encodePng(picture));
      writeAtomic(join(opts.out, 'result.json'), JSON.stringify(result, null, 2));
      if (opts.json) printJson(result);
      else process.stdout.write(`${r.success ? 'success' : 'FAILED'}: predicted ${result.predictedName} (${(100 * r.confidence).toFixed(1)}% target confidence), map L1 ${r.mapL1.toFixed(3)}, IoU ${r.mapIoU.toFixed(2)}, L∞ ${r.linf.toFixed(4)}; wrote ${opts.out}\n`);
      tf.dispose([input.x, run.result.adversarial, run.result.map!, run.targetMaps]);
      targetMaps?.dispose();
      model.dispose();
    });
}
