/** Interpreter registry: names used by the CLI and experiments. */
import type { Classifier } from '../models/classifier.js';
import { CamInterpreter } from './cam.js';
import { GradInterpreter, type GradOptions } from './grad.js';
import { GradCamInterpreter } from './gradcam.js';
import { IntegratedGradientsInterpreter } from './integrated-gradients.js';
import { MaskInterpreter } from './mask.js';
import type { Interpreter } from './interpreter.js';
import { RtsInterpreter } from './rts.js';
import type { RtsNetwork } from './rts/network.js';
import { SmoothGradInterpreter } from './smoothgrad.js';

export type { Interpreter } from './interpreter.js';
export { CamInterpreter } from './cam.js';
export { GradInterpreter } from './grad.js';
export { GradCamInterpreter } from './gradcam.js';
export { SmoothGradInterpreter } from './smoothgrad.js';
export { IntegratedGradientsInterpreter } from './integrated-gradients.js';
export { MaskInterpreter, maskDefaults } from './mask.js';
export { RtsInterpreter } from './rts.js';
export { RtsNetwork } from './rts/network.js';

export const INTERPRETER_NAMES = ['grad', 'smoothgrad', 'ig', 'cam', 'gradcam', 'mask'] as const;
export type InterpreterName = (typeof INTERPRETER_NAMES)[number];

/** interpreters that need a trained network of their own, passed in InterpreterOptions (the CLI loads it) */
export const MODEL_GUIDED_INTERPRETERS = ['rts'] as const;

export interface InterpreterOptions {
  grad?: GradOptions;
  /** the preloaded RTS network for this classifier (Node: loadRtsFor in src/interpreters/node/rts-files.ts) */
  rts?: RtsNetwork;
}

/** GRAD is pooled ×2 on inputs of 56 px and more (spec: pooled maps are what the attack targets). */
export function defaultGradPool(model: Classifier): number {
  return model.inputShape[0] >= 56 && model.inputShape[0] % 2 === 0 ? 2 : 1;
}

export function makeInterpreter(name: string, model: Classifier, opts: InterpreterOptions = {}): Interpreter {
  switch (name) {
    case 'grad': return new GradInterpreter(model, { pool: defaultGradPool(model), ...opts.grad });
    case 'smoothgrad': return new SmoothGradInterpreter(model, { pool: defaultGradPool(model) });
    case 'ig': return new IntegratedGradientsInterpreter(model, { pool: defaultGradPool(model) });
    case 'cam': return new CamInterpreter(model);
    case 'gradcam': return new GradCamInterpreter(model);
    case 'mask': return new MaskInterpreter(model);
    case 'rts':
      if (opts.rts === undefined) throw new Error(`interpreter 'rts' needs a trained RTS network for '${model.name}' (train one with adv2 train-rts)`);
      return new RtsInterpreter(model, opts.rts);
    default: throw new Error(`unknown interpreter '${name}' (available: ${[...INTERPRETER_NAMES, ...MODEL_GUIDED_INTERPRETERS].join(', ')})`);
  }
}
