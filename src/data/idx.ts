/**
 * IDX file format (as used by MNIST / Fashion-MNIST), browser-safe: parsing and writing raw
 * (already decompressed) bytes. Gzip handling lives in the Node adapter (src/io/node/idx-file.ts)
 * or, in a browser, in src/io/web.ts.
 *
 * Layout: bytes 0-1 zero, byte 2 data type (0x08 = unsigned byte), byte 3 number of dimensions,
 * then one big-endian uint32 per dimension, then the data in row-major order.
 */

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export class IdxError extends Error {
  override name = 'IdxError';
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (v: number, width = 2): string => '0x' + v.toString(16).padStart(width, '0');

/**
 * Parse an uncompressed IDX file of unsigned bytes. `data` is a view into `bytes` (no copy).
 * Throws IdxError with a one-line message for bad magic, unsupported types, truncated or oversized input.
 */
export function parseIdx(bytes: Uint8Array): IdxArray {
  if (bytes.length < 4) throw new IdxError(`IDX file truncated: expected at least 4 header bytes, got ${bytes.length}`);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new IdxError('not an IDX file: data is gzip-compressed (decompress it first)');
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    throw new IdxError(`not an IDX file: bad magic number ${hex(magic, 8)} (first two bytes must be zero)`);
  }
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (TYPE_NAMES[type] === undefined) throw new IdxError(`not an IDX file: unknown data type ${hex(type)}`);
  if (type !== 0x08) {
    throw new IdxError(`unsupported IDX data type ${hex(type)} (${TYPE_NAMES[type]}); only unsigned byte (0x08) is supported`);
  }
  if (ndims === 0) throw new IdxError('corrupt IDX file: zero dimensions');
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) {
    throw new IdxError(`IDX file truncated: expected at least ${headerSize} header bytes for ${ndims} dimensions, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    count *= size;
  }
  if (!Number.isSafeInteger(count)) throw new IdxError(`corrupt IDX file: dimensions ${dims.join('x')} are too large`);
  const expected = headerSize + count;
  if (bytes.length < expected) {
    throw new IdxError(`IDX file truncated: expected ${expected} bytes, got ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new IdxError(`corrupt IDX file: expected ${expected} bytes for dimensions ${dims.join('x')}, got ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(headerSize, expected) };
}

/** Serialise unsigned bytes with dimensions `dims` into an (uncompressed) IDX file. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255) throw new IdxError(`IDX needs 1..255 dimensions, got ${dims.length}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new IdxError(`invalid IDX dimension ${d}`);
    count *= d;
  }
  if (count !== data.length) throw new IdxError(`IDX dimensions ${dims.join('x')} need ${count} values, got ${data.length}`);
  const headerSize = 4 + 4 * dims.length;
  const out = new Uint8Array(headerSize + count);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerSize);
  return out;
}
