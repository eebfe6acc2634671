/**
 * Identity that shares its input's data instead of copying it (wasm's stock kernel copies).
 * tfjs calls Identity for every tf.clone and for gradients passed through unchanged (Add, Sum's
 * broadcast, customGrad), about 1,300 calls per ResNet-50 second-order step. Sharing is what
 * Reshape already does on wasm and Identity does on cpu: kernels never write into their inputs,
 * and the backend frees the data when the last reference goes.
 */
import * as tf from '@tensorflow/tfjs';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

export function makeSharedIdentityKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.Identity,
    backendName,
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const backend = args.backend as Partial<RefCountingBackend>;
      if (x.dtype === 'string' || typeof backend.incRef !== 'function') {
        if (stock === undefined) throw new Error(`adv2 Identity: unsupported input on '${backendName}'`);
        return stock.kernelFunc(args);
      }
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}
