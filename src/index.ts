/** adv2 for Node: the core plus file-system adapters (models, fixtures, datasets, images on disk). */
export * from './core.js';
export { loadModel, listModels } from './models/node/zoo-loader.js';
export { loadModelDir, saveModelDir } from './models/node/files.js';
export { loadFixture } from './io/node/fixtures.js';
export { loadFashionMnist } from './io/node/fashion-mnist.js';
