import { readFileSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { decodeImage, imageToModelInput } from '../../io/image.js';
import type { Classifier } from '../../models/classifier.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { UsageError, printJson, runRecord, setupBackend } from '../util.js';

export function registerPredict(program: Command): void {
  program.command('predict')
    .description('classify an image: top-5 classes with probabilities')
    .requiredOption('--model <name|dir>', 'zoo model name (see adv2 models list) or a model folder')
    .requiredOption('--input <file>', 'PNG or JPEG image (resized and center-cropped to the model input; converted to gray/RGB as needed)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; input: string; json?: boolean }, cmd: Command) => {
      const backend = await setupBackend(cmd);
      if (!existsSync(opts.input)) throw new UsageError(`input file not found: ${opts.input}`);
      const model: Classifier = loadModel(opts.model);
      const [h, w, c] = model.inputShape;
      const img = decodeImage(new Uint8Array(readFileSync(opts.input)), { name: opts.input });
      const x = imageToModelInput(img, [h, w], c as 1 | 3);
      model.validateInput(x);
      const probs = tf.tidy(() => model.probabilities(x));
      const values = Array.from(probs.dataSync());
      probs.dispose(); x.dispose();
      const top = values.map((p, i) => ({ class: i, name: model.classNames[i]!, probability: p }))
        .sort((a, b) => b.probability - a.probability).slice(0, 5);
      if (opts.json) printJson({ model: model.name, input: opts.input, top, ...runRecord(backend) });
      else for (const t of top) process.stdout.write(`${(100 * t.probability).toFixed(2).padStart(6)}%  ${String(t.class).padStart(4)}  ${t.name}\n`);
      model.dispose();
    });
}
