/**
 * Node adapter: read/write IDX files from disk, gzipped (magic 1f 8b) or raw.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeIdx, IdxError, parseIdx, type IdxArray } from '../../data/idx.js';

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** Read a whole file; a one-line Error naming the path on failure. */
export function readBytes(path: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : firstLine(err);
    throw new Error(`cannot read ${path}: ${why}`);
  }
}

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Decompress when the bytes are gzip, else return them as is. */
export function maybeGunzip(bytes: Uint8Array, path = '<bytes>'): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new Error(`corrupt gzip data in ${path}: ${firstLine(err)}`);
  }
}

/** Read and parse an IDX file (gzipped or raw). Errors are one line and name the file. */
export function readIdxFile(path: string): IdxArray {
  const raw = maybeGunzip(readBytes(path), path);
  try {
    return parseIdx(raw);
  } catch (err) {
    if (err instanceof IdxError) throw new IdxError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Write an IDX file; gzipped when the path ends in .gz. Creates the parent directory. */
export function writeIdxFile(path: string, dims: readonly number[], data: Uint8Array): void {
  const idx = encodeIdx(dims, data);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, path.endsWith('.gz') ? gzipSync(idx, { level: 9 }) : idx);
}
