/**
 * Cache of transformed filters (flipped, channel-swapped sub-filters for Conv2DBackpropInput),
 * keyed by the source filter's dataId. tfjs never writes into an existing dataId (Variable.assign
 * switches to a new one), so an entry stays valid while the source data is alive. Reusing the
 * same transformed tensor also lets the wasm backend reuse its XNNPACK operator (packed weights),
 * which is most of the cost of a small-batch conv with a large filter.
 *
 * Entries whose source was disposed are released on the next kernel call; the least recently
 * used ones are released beyond a budget of CACHE_BUDGET floats per backend.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelIO } from './io.js';

export const CACHE_BUDGET = 32 * 1024 * 1024;

interface Entry {
  subs: Map<string, tf.TensorInfo>;
  floats: number;
}

interface Cache {
  io: KernelIO;
  entries: Map<tf.DataId, Entry>;
  floats: number;
}

/** backend instance -> its cache (emptied by the kernels' disposeFunc before a backend is disposed) */
const caches = new Map<object, Cache>();

function cacheFor(io: KernelIO): Cache {
  let c = caches.get(io.backend as object);
  if (c === undefined) {
    c = { io, entries: new Map(), floats: 0 };
    caches.set(io.backend as object, c);
  }
  return c;
}

function release(c: Cache, key: tf.DataId, e: Entry): void {
  for (const info of e.subs.values()) c.io.dispose(info);
  c.floats -= e.floats;
  c.entries.delete(key);
}

/** Drop entries whose source filter is gone. */
export function sweepFilterCache(io: KernelIO): void {
  const c = caches.get(io.backend as object);
  if (c === undefined) return;
  for (const [key, e] of c.entries) {
    if (!io.alive(key)) release(c, key, e);
  }
}

/**
 * The transformed tensor `sub` of `filter`, built by `make` on a miss. The result belongs to
 * the cache: do not dispose it.
 */
export function cachedFilter(io: KernelIO, filter: tf.TensorInfo, sub: string, floats: number, make: () => tf.TensorInfo): tf.TensorInfo {
  const c = cacheFor(io);
  let e = c.entries.get(filter.dataId);
  if (e !== undefined) {
    // most recently used goes last
    c.entries.delete(filter.dataId);
    c.entries.set(filter.dataId, e);
  } else {
    e = { subs: new Map(), floats: 0 };
    c.entries.set(filter.dataId, e);
  }
  let info = e.subs.get(sub);
  if (info === undefined) {
    info = make();
    e.subs.set(sub, info);
    e.floats += floats;
    c.floats += floats;
  }
  return info;
}

/** Release least recently used entries beyond the budget, except `keep`'s. */
export function trimFilterCache(io: KernelIO, keep: tf.DataId): void {
  const c = caches.get(io.backend as object);
  if (c === undefined) return;
  for (const [key, e] of c.entries) {
    if (c.floats <= CACHE_BUDGET) break;
    if (key !== keep) release(c, key, e);
  }
}

/** Release every cached filter of `backend` (all backends if omitted). */
export function clearFilterCaches(backend?: object): void {
  for (const [b, c] of caches) {
    if (backend !== undefined && b !== backend) continue;
    for (const [key, e] of c.entries) release(c, key, e);
    caches.delete(b);
  }
}

/** Number of cached transformed filters and their size in floats (for tests). */
export function filterCacheStats(backend: object): { entries: number; floats: number } {
  const c = caches.get(backend);
  return c === undefined ? { entries: 0, floats: 0 } : { entries: c.entries.size, floats: c.floats };
}
