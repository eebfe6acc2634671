/**
 * adv2's twice-differentiable tensor ops (NHWC, batch-first). Every op here has correct first AND
 * second derivatives under tf.grad nested in tf.grad, on cpu and wasm (checked against finite
 * differences in test/ops). Use them wherever a loss is taken on a gradient (GRAD / MASK attacks);
 * the stock tfjs op is fine where only first-order gradients are needed.
 */
export { sigmoid, exp, softplus, surrogateRelu, surrogateReluSmooth, surrogateDerivative, DEFAULT_TAU } from './activations.js';
export type { SurrogateKind } from './activations.js';
export { softmax, logSoftmax, crossEntropy } from './softmax.js';
export type { CrossEntropyOptions } from './softmax.js';
export { exactMax, maxPool, avgPool, globalAvgPool, poolGeometry } from './pool.js';
export type { PoolPadding, PoolGeometry, AvgPoolOptions } from './pool.js';
export { resizeBilinear, bilinearMatrix } from './resize.js';
export { gaussianKernel1d, gaussianBlur, reflectPad, opencvSigma } from './blur.js';
export type { GaussianBlurOptions } from './blur.js';
export {
  channelMax,
  absChannelMax,
  sampleExtreme,
  minMaxNormalize,
  clampDiff,
  clamp01Smooth,
  pixelShuffle,
  totalVariation,
} from './maps.js';
export type { TotalVariationOptions } from './maps.js';
export { customUnary, customBinary, reduceToShape, clearOpCaches, opCacheSize } from './util.js';
