/**
 * Run the multi-threaded SIMD build of @tensorflow/tfjs-backend-wasm 4.x in Node.
 *
 * Call `await enableWasmThreads(n)` before `tf.setBackend('wasm')`, then check
 * `tfwasm.getThreadsCount()` once the backend is up. It returns 1 if the threaded build did not
 * start.
 *
 * Why this is needed. The Emscripten glue (wasm-out/tfjs-backend-wasm-threaded-simd.js) does
 * support Node: it uses worker_threads and passes shared memory and the compiled module to its
 * workers. What stops it is tfjs itself, in four places:
 *  1. flags_wasm.js: WASM_HAS_MULTITHREAD_SUPPORT returns false whenever IS_NODE (tfjs#3830).
 *  2. backend_wasm.js init(): locateFile('…worker.js') returns `URL.createObjectURL(blob)`.
 *     Node's worker_threads.Worker rejects it: ERR_WORKER_PATH "The worker script or module
 *     filename must be an absolute path or a relative path starting with './' or '../'.
 *     Received "blob:nodedata:…"" (thrown from PThread.allocateUnusedWorker).
 *  3. backend_wasm.js init(): mainScriptUrlOrBlob is a Blob holding `factory.toString()` of the
 *     *bundled* glue. The worker would have to eval that text. In tf-backend-wasm.node.js the
 *     bundler rewrote require("fs"/"path"/"os"/"perf_hooks") to closure variables
 *     (require$$0…), so the eval'd text throws ReferenceError: require$$0 is not defined.
 *  4. src/cc/backend.cc: `num_cores = emscripten_num_logical_cores() / 2`, and
 *     init_with_threads_count() caps the count at num_cores. In Node,
 *     emscripten_num_logical_cores() is `require("os").cpus().length`, so on a 2-core machine
 *     num_cores is 1 and setThreadsCount(2) is silently capped to 1.
 * One more problem comes from the glue: it calls worker.ref() while a worker runs a pthread.
 * XNNPACK's pthreadpool threads never exit, so the process would never exit either.
 *
 * What this module does (all of it happens only in Node):
 *  - sets WASM_HAS_MULTITHREAD_SUPPORT=true and setThreadsCount(n);
 *  - installs `globalThis.Worker` as an accessor whose setter ignores the glue's
 *    `global.Worker = worker_threads.Worker`. Its getter returns a worker_threads.Worker subclass:
 *      - a `blob:` URL starts the package's own pthread worker script (wasm-out/…worker.js,
 *        identical to the inlined copy) in eval mode;
 *      - the 'load' message has its Blob main script replaced by the path of the unbundled glue
 *        wasm-out/tfjs-backend-wasm-threaded-simd.js, which the worker then reads with fs;
 *      - ref() does nothing, so idle pool threads never keep the process alive;
 *  - wraps os.cpus() so that it reports 2·n CPUs, but only when the caller is Emscripten's
 *    _emscripten_num_logical_cores (checked on the stack). All other callers get the real list.
 *
 * Caveats: the glue always starts 8 pthread workers (PTHREAD_POOL_SIZE=8), however small n is.
 * Each is a V8 isolate. Measured here: about +80 MB RSS, and backend start-up of 1–2.5 s
 * instead of about 50 ms. n is capped at the real CPU count, because oversubscribed
 * pthreadpool threads are much slower. Threads help only
 * kernels that XNNPACK runs on its pthreadpool (Conv2D, MatMul/FusedMatMul, depthwise conv,
 * pooling …). They do not help the stock wasm Conv2DBackpropInput (a scalar C++ loop) or the
 * JS-side work. The result is bit-identical to the single-threaded build on the ops we tested.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';

const isNode = (): boolean =>
  typeof globalThis.process !== 'undefined' && globalThis.process.versions?.node !== undefined;

/** Emscripten caps the pthreadpool at 8 (backend.cc max_num_threads = PTHREAD_POOL_SIZE = 8). */
const MAX_THREADS = 8;
const GLUE = 'tfjs-backend-wasm-threaded-simd.js';
const WORKER_JS = 'tfjs-backend-wasm-threaded-simd.worker.js';
/** JS function in the glue that asks Node how many CPUs there are (see caveat 4 above). */
const CORES_CALLER = '_emscripten_num_logical_cores';

let enabledWith = 0;
let shimInstalled = false;

/** true when this engine can run wasm threads at all (shared memory + atomics). */
function wasmThreadsValidate(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  try {
    // the same probe tfjs uses (wasm-feature-detect "threads"): shared memory + i32.atomic.load
    return WebAssembly.validate(new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5,
      4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11,
    ]));
  } catch {
    return false;
  }
}

/**
 * Prepare the wasm backend to run XNNPACK with `n` threads (the caller plus n-1 pthreads).
 * Call this before `tf.setBackend('wasm')`. It returns false, and changes nothing, when threads
 * cannot be used: not Node, n < 2, no shared memory or wasm threads, an unknown package layout,
 * or a wasm backend that has already started.
 */
export async function enableWasmThreads(n: number): Promise<boolean> {
  if (!isNode() || !Number.isFinite(n) || n < 2) return false;
  let threads = Math.min(Math.floor(n), MAX_THREADS);
  // once the backend has started, its build and thread count are fixed: report what runs
  if (tf.engine().registry['wasm'] !== undefined) return enabledWith > 0 && tfwasm.getThreadsCount() > 1;
  if (!wasmThreadsValidate()) return false;

  let workerThreads: typeof import('node:worker_threads');
  let os: typeof import('node:os');
  let path: typeof import('node:path');
  let fs: typeof import('node:fs');
  let createRequire: typeof import('node:module').createRequire;
  try {
    [workerThreads, os, path, fs, createRequire] = await Promise.all([
      import('node:worker_threads'), import('node:os').then((m) => m.default),
      import('node:path'), import('node:fs'), import('node:module').then((m) => m.createRequire),
    ]);
  } catch {
    return false;
  }
  const realCores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  threads = Math.min(threads, realCores);
  if (threads < 2) return false;
  if (shimInstalled) {
    // second call before the backend started: only the thread count changes
    tfwasm.setThreadsCount(threads);
    enabledWith = threads;
    return true;
  }

  // The unbundled glue and worker script ship in the package's wasm-out/ folder. Resolve them
  // from the package that '@tensorflow/tfjs-backend-wasm' resolves to here.
  let gluePath: string;
  let workerSource: string;
  try {
    const req = createRequire(import.meta.url);
    const pkgDir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    gluePath = path.join(pkgDir, 'wasm-out', GLUE);
    if (!fs.existsSync(gluePath)) return false;
    const mod = req(path.join(pkgDir, 'wasm-out', WORKER_JS)) as { wasmWorkerContents?: unknown };
    if (typeof mod.wasmWorkerContents !== 'string') return false;
    // backend_wasm.js does the same before putting it in a Blob: real newlines would end
    // string literals inside the script
    workerSource = mod.wasmWorkerContents.replace(/\n/g, '\\n');
  } catch {
    return false;
  }

  type LoadMessage = { cmd?: unknown; urlOrBlob?: unknown };
  class EmscriptenPthreadWorker extends workerThreads.Worker {
    constructor(url: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const fromBlob = typeof url === 'string' && url.startsWith('blob:');
      // execArgv: [] keeps loaders such as tsx's out of these plain-JS workers
      super(fromBlob ? workerSource : url, fromBlob ? { eval: true, execArgv: [] } : options);
      if (fromBlob) URL.revokeObjectURL(url as string);
    }

    override postMessage(message: unknown, transferList?: readonly import('node:worker_threads').TransferListItem[]): void {
      const m = message as LoadMessage | null;
      if (m !== null && typeof m === 'object' && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') {
        message = { ...m, urlOrBlob: gluePath };
      }
      super.postMessage(message, transferList);
    }

    // The glue ref()s a worker while it runs a pthread. Pool threads never exit, so a ref'd
    // worker would keep the process alive forever. Keep every pthread worker unref'd: the main
    // thread blocks synchronously inside each kernel, so no pending work relies on them.
    override ref(): void {}
  }

  const previous = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  if (previous !== undefined && !previous.configurable) return false;
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => EmscriptenPthreadWorker,
    set: () => { /* ignore the glue's `global.Worker = require('worker_threads').Worker` */ },
  });

  // Let backend.cc's num_cores (= logical cores / 2) reach `threads`. Only Emscripten's probe
  // sees the inflated count.
  const realCpus = os.cpus;
  const patchedCpus = function cpus(this: unknown): ReturnType<typeof os.cpus> {
    const list = realCpus.call(os);
    const stack = new Error().stack ?? '';
    if (!stack.includes(CORES_CALLER) || list.length === 0) return list;
    const want = Math.max(list.length, 2 * enabledWith);
    return Array.from({ length: want }, (_, i) => list[i % list.length]!);
  };
  os.cpus = patchedCpus;
  shimInstalled = true;

  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  tfwasm.setThreadsCount(threads);
  enabledWith = threads;
  return true;
}
