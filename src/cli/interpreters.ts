/**
 * Interpreters for the CLI: the stateless ones are built directly; model-guided ones (RTS) need
 * their trained network, loaded here from the classifier's model folder (models/<name>-rts).
 */
import { INTERPRETER_NAMES, MODEL_GUIDED_INTERPRETERS, makeInterpreter } from '../interpreters/index.js';
import type { Interpreter } from '../interpreters/interpreter.js';
import { loadRtsFor, rtsDirFor, rtsPresent } from '../interpreters/node/rts-files.js';
import type { Classifier } from '../models/classifier.js';
import { UsageError } from './util.js';

/** every interpreter name the CLI accepts */
export const CLI_INTERPRETER_NAMES: readonly string[] = [...INTERPRETER_NAMES, ...MODEL_GUIDED_INTERPRETERS];

/** Build interpreter `name` for `model`, loading its trained network where it needs one. */
export async function interpreterFor(name: string, model: Classifier): Promise<Interpreter> {
  if (name === 'rts') {
    if (!rtsPresent(rtsDirFor(model.name))) {
      throw new UsageError(`no trained RTS network for '${model.name}' (expected ${rtsDirFor(model.name)}; train one with: adv2 train-rts --model ${model.name} --out ${rtsDirFor(model.name)})`);
    }
    return makeInterpreter('rts', model, { rts: await loadRtsFor(model) });
  }
  return makeInterpreter(name, model);
}

/** The interpreters a comparison grid shows for `model`: every stateless one, plus RTS when trained. */
export async function gridInterpreters(model: Classifier): Promise<Interpreter[]> {
  const names: string[] = [...INTERPRETER_NAMES];
  if (rtsPresent(rtsDirFor(model.name))) names.push('rts');
  return Promise.all(names.map((n) => interpreterFor(n, model)));
}
