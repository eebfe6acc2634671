import { join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from '../../io/image.js';
import { MaskInterpreter } from '../../interpreters/mask.js';
import type { Classifier } from '../../models/classifier.js';
import { writeAtomic } from '../../models/node/files.js';
import { loadModel } from '../../models/node/zoo-loader.js';
import { type Cell, composeGrid, heatmapOverlay } from '../../viz/index.js';
import { type LoadedInput, checkClass, loadInput } from '../inputs.js';
import { CLI_INTERPRETER_NAMES, gridInterpreters, interpreterFor } from '../interpreters.js';
import { UsageError, parseIntOption, printJson, progressBar, runRecord, setupBackend, prepareOutDir } from '../util.js';
import { className } from './attack.js';

interface ExplainOptions {
  model: string;
  interpreter: string;
  input?: string;
  index?: number;
  class?: number;
  grid?: string;
  out: string;
  json?: boolean;
}

function overlayCell(input: LoadedInput, map: tf.Tensor3D, caption: string): Cell {
  const [, h, w, c] = input.x.shape;
  const [, mh, mw] = map.shape;
  const image = input.x.dataSync() as Float32Array;
  const o = heatmapOverlay(image, w, h, c as 1 | 3, map.dataSync(), mw, mh, { alpha: 0.55 });
  return { image: o.data, width: w, height: h, channels: 3, caption, boxes: input.box ? [input.box] : undefined };
}

export function registerExplain(program: Command): void {
  program.command('explain')
    .description('explain a prediction: the interpreter\'s attribution map as a heat-map PNG and as numbers')
    .requiredOption('--model <name|dir>', 'zoo model or model folder')
    .option('--interpreter <name>', `one of: ${CLI_INTERPRETER_NAMES.join(', ')} (rts: when the model has a trained RTS network)`, 'cam')
    .option('--input <file>', 'PNG/JPEG image')
    .option('--index <i>', 'fixture image of the model\'s dataset', parseIntOption('index', 0))
    .option('--class <c>', 'class to explain (default: the predicted class)', parseIntOption('class', 0))
    .option('--grid <indices>', 'one PNG comparing every interpreter (columns) on these fixture images (rows), e.g. 0,1,2')
    .requiredOption('--out <dir>', 'output folder: map.png (overlay), map.json (shape + values)')
    .option('--json', 'print map.json (without values) to stdout')
    .action(async (opts: ExplainOptions, cmd: Command) => {
      prepareOutDir(opts.out);
      const backend = await setupBackend(cmd);
      const model: Classifier = loadModel(opts.model);
      if (opts.grid !== undefined) {
        const indices = opts.grid.split(',').map((s) => Number(s.trim()));
        if (indices.some((i) => !Number.isInteger(i) || i < 0)) throw new UsageError(`--grid wants comma-separated fixture indices, got '${opts.grid}'`);
        const interpreters = await gridInterpreters(model);
        const rows = indices.map((index) => {
          const input = loadInput(model, { index });
          const pred = tf.tidy(() => tf.argMax(model.logits(input.x), 1).dataSync()[0]!);
          const cells: Cell[] = [
            { image: input.x.dataSync() as Float32Array, width: input.x.shape[2], height: input.x.shape[1], channels: input.x.shape[3] as 1 | 3, caption: `true ${className(model, input.label ?? -1)}`, boxes: input.box ? [input.box] : undefined },
            ...interpreters.map((it) => {
              const map = it.explain(input.x, [pred]);
              const cell = overlayCell(input, map, className(model, pred));
              map.dispose();
              return cell;
            }),
          ];
          input.x.dispose();
          return cells;
        });
        const picture = composeGrid({ rows, colLabels: ['image', ...interpreters.map((it) => it.name.toUpperCase())], rowLabels: indices.map((i) => `#${i}`), title: `${model.name}: interpreters compared`, legend: { label: 'attribution', low: 'low', high: 'high' } });
        writeAtomic(join(opts.out, 'grid.png'), encodePng(picture));
        process.stdout.write(`wrote ${join(opts.out, 'grid.png')} (${interpreters.map((it) => it.name).join(', ')})\n`);
        model.dispose();
        return;
      }
      const interpreter = await interpreterFor(opts.interpreter, model);
      const input = loadInput(model, opts);
      model.validateInput(input.x);
      const probs = tf.tidy(() => Array.from(tf.softmax(model.logits(input.x)).dataSync()));
      const predicted = probs.indexOf(Math.max(...probs));
      const cls = opts.class ?? predicted;
      checkClass(model, cls, '--class');
      // MASK optimises for 300 iterations: show them
      const bar = interpreter instanceof MaskInterpreter ? progressBar('MASK |{bar}| {value}/{total} iterations') : null;
      if (bar && interpreter instanceof MaskInterpreter) {
        bar.start(interpreter.options.iterations);
        interpreter.onIteration = (i) => bar.update(i);
      }
      const map = interpreter.explain(input.x, [cls]);
      bar?.stop();
      const [, mh, mw] = map.shape;
      const values = Array.from(map.dataSync());
      const overlay = composeGrid({ rows: [[overlayCell(input, map, `${interpreter.name.toUpperCase()} for ${className(model, cls)}`)]], cellSize: Math.max(224, input.x.shape[1]) });
      const record = {
        model: model.name, interpreter: interpreter.name, input: input.source, explainedClass: cls, explainedName: className(model, cls),
        predictedClass: predicted, predictedName: className(model, predicted), probability: probs[predicted], trueClass: input.label ?? null,
        shape: [mh, mw], ...runRecord(backend),
      };
      writeAtomic(join(opts.out, 'map.png'), encodePng(overlay));
      writeAtomic(join(opts.out, 'map.json'), JSON.stringify({ ...record, values }));
      if (opts.json) printJson(record);
      else process.stdout.write(`predicted ${record.predictedName} (${(100 * probs[predicted]!).toFixed(1)}%); ${interpreter.name} map ${mh}×${mw} for ${record.explainedName} written to ${opts.out}\n`);
      tf.dispose([map, input.x]);
      model.dispose();
    });
}
