/**
 * Small shared helpers for the twice-differentiable ops.
 *
 * Why a wrapper around tf.customGrad: tfjs' own gradient functions for softmax, logSoftmax, sigmoid,
 * tanh and exp read the *saved forward output*. When the gradient is itself differentiated (tf.grad
 * nested in tf.grad) the engine's clone of that output is recorded before its producer, so the tape
 * filter drops it: the second derivative silently loses a term or the call throws. A gradient that
 * recomputes everything from the *saved input* stays connected to x. Every custom op here follows
 * that rule; `customUnary` / `customBinary` make it the only thing the op author writes.
 */
import * as tf from '@tensorflow/tfjs';

/** A one-input op whose backward is `grad(dy, x)` with x the saved input (never the output). */
export function customUnary(
  forward: (x: tf.Tensor) => tf.Tensor,
  grad: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor,
): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([x]);
    return { value: forward(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy, saved[0]!) };
  });
  return (x: tf.Tensor) => op(x);
}

/** A two-input op whose backward is `grad(dy, a, b)` with a, b the saved inputs. */
export function customBinary(
  forward: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  grad: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => [tf.Tensor, tf.Tensor],
): (a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const a = args[0] as tf.Tensor;
    const b = args[1] as tf.Tensor;
    const save = args[2] as tf.GradSaveFunc;
    save([a, b]);
    return { value: forward(a, b), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy, saved[0]!, saved[1]!) };
  });
  return (a: tf.Tensor, b: tf.Tensor) => op(a, b);
}

/**
 * Sum a broadcast gradient back to `shape` (what tfjs' own binary-op gradients do). customGrad
 * rejects a gradient whose shape differs from its input's, so broadcasting ops need this.
 */
export function reduceToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  const summed = axes.length > 0 ? tf.sum(g, axes, true) : g;
  return tf.reshape(summed, shape);
}

// ------------------------------------------------------------------------------------------------
// Constant cache. Interpolation matrices, blur kernels and pooling count maps depend only on sizes,
// so they are built once per (backend, key) and kept out of every tidy. Keyed by backend because a
// tensor lives on the backend that created it (the tests switch between cpu and wasm).
const constCache = new Map<string, tf.Tensor>();

/** A kept constant tensor for `key` on the active backend, built by `make` on first use. */
export function cachedConst(key: string, make: () => { values: Float32Array; shape: number[] }): tf.Tensor {
  const k = `${tf.getBackend()}|${key}`;
  const hit = constCache.get(k);
  if (hit !== undefined && !hit.isDisposed) return hit;
  const { values, shape } = make();
  const t = tf.keep(tf.tensor(values, shape, 'float32'));
  constCache.set(k, t);
  return t;
}

/** Dispose every cached constant (interpolation matrices, kernels, count maps). */
export function clearOpCaches(): void {
  for (const t of constCache.values()) if (!t.isDisposed) t.dispose();
  constCache.clear();
}

/** Number of cached constant tensors (for tests and memory accounting). */
export function opCacheSize(): number {
  return constCache.size;
}

/** Throws unless `x` has rank 4 (NHWC); returns its shape. */
export function nhwc(x: tf.Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: expected an NHWC tensor of rank 4, got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}
