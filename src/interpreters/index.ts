/** Interpreter registry: names used by the CLI and experiments. */
import type { Classifier } from '../models/classifier.js';
import { CamInterpreter } from './cam.js';
import { GradInterpreter, type GradOptions } from './grad.js';
import type { Interpreter } from './interpreter.js';

export type { Interpreter } from './interpreter.js';
export { CamInterpreter } from './cam.js';
export { GradInterpreter } from './grad.js';

export const INTERPRETER_NAMES = ['grad', 'cam'] as const;
export type InterpreterName = (typeof INTERPRETER_NAMES)[number];

export interface InterpreterOptions { grad?: GradOptions }

/** GRAD is pooled ×2 on inputs of 56 px and more (spec: pooled maps are what the attack targets). */
export function defaultGradPool(model: Classifier): number {
  return model.inputShape[0] >= 56 && model.inputShape[0] % 2 === 0 ? 2 : 1;
}

export function makeInterpreter(name: string, model: Classifier, opts: InterpreterOptions = {}): Interpreter {
  switch (name) {
    case 'grad': return new GradInterpreter(model, { pool: defaultGradPool(model), ...opts.grad });
    case 'cam': return new CamInterpreter(model);
    default: throw new Error(`unknown interpreter '${name}' (available: ${INTERPRETER_NAMES.join(', ')})`);
  }
}
