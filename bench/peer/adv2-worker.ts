/**
 * The adv2 side of the PyTorch peer bench (`npm run bench:peer`, see bench/peer/run.sh).
 *
 * Runs the peer's own `tfjs_bench.mjs` (the stock-tfjs worker: same networks, workloads, checks
 * and JSON protocol) unchanged, in a process where adv2's engine is set up first: adv2's kernels
 * registered over the stock ones and the wasm backend selected through `selectBackend`. The copied
 * `tfjs_bench.mjs` lives under .cache/peer/ and resolves `@tensorflow/tfjs` to this project's
 * node_modules, so both modules share one tfjs instance (tfjs keeps its engine and kernel registry
 * in globals anyway). Any difference from the stock worker is therefore adv2's kernels.
 *
 *   node --import tsx bench/peer/adv2-worker.ts /path/to/copied/tfjs_bench.mjs
 *
 * ADV2_PEER_THREADS=N (set by `bench:peer -- --threads N`) selects wasm with N threads.
 *
 * Refuses to start (exit 2) unless adv2's Conv2DBackpropInput is the active wasm kernel.
 *
 * Self-test of the checks: with ADV2_PEER_SABOTAGE=1 the worker scales every output of adv2's
 * Conv2DBackpropInput by (1 + 1e-3), a wrong kernel that is still "almost right"; the peer's
 * correctness checks must then fail (bench:peer exits 1).
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/engine/backend.js';
import { ADV2_KERNEL_NAMES, adv2KernelActive, registerAdv2Kernels } from '../../src/engine/kernels/index.js';

const benchPath = process.argv[2];
if (benchPath === undefined) {
  process.stderr.write('usage: node --import tsx bench/peer/adv2-worker.ts <tfjs_bench.mjs>\n');
  process.exit(2);
}

registerAdv2Kernels({ stock: false });           // explicit: ignore ADV2_STOCK_KERNELS here
// bench:peer --threads N: adv2's opt-in threaded wasm build (Node adapter), default 1 thread
const threads = Number(process.env['ADV2_PEER_THREADS'] ?? '1');
const info = await selectBackend({ backend: 'wasm', ...(threads > 1 ? { threads } : {}) });
const active = ADV2_KERNEL_NAMES.filter((k) => adv2KernelActive(k, 'wasm'));
// one line the orchestrator (peer3.py) reads back from this worker's stderr log
process.stderr.write(`adv2-worker: ${JSON.stringify({ backend: info.name, threads: info.threads, simd: info.simd, kernels: active, native: info.native ?? null })}\n`);
if (info.name !== 'wasm' || !adv2KernelActive('Conv2DBackpropInput', 'wasm')) {
  process.stderr.write('adv2-worker: adv2 kernels are not active on wasm, refusing to run\n');
  process.exit(2);
}
if (process.env['ADV2_PEER_SABOTAGE'] === '1') {
  const good = tf.getKernel(tf.Conv2DBackpropInput, 'wasm')!;
  tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  tf.registerKernel({
    ...good,
    kernelFunc: (args) => {
      const out = good.kernelFunc(args) as tf.TensorInfo;
      const heap = (args.backend as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap(out);
      for (let i = 0; i < heap.length; i++) heap[i] *= 1 + 1e-3;
      return out;
    },
  });
  process.stderr.write('adv2-worker: SABOTAGE: Conv2DBackpropInput outputs scaled by 1.001\n');
}
await import(pathToFileURL(benchPath).href);
