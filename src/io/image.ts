/**
 * Image decoding/encoding from/to bytes (browser-safe) and image ↔ tensor helpers.
 *
 * PNG goes through pngjs' self-contained browser build (its own Buffer and inflate, no Node APIs);
 * JPEG through jpeg-js with typed arrays. Reading/writing files lives in src/io/node/image-file.ts.
 */
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs/browser.js';

const { PNG } = pngjs;

/** Float image in HWC order with values in [0, 1]. */
export interface DecodedImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export type ImageFormat = 'png' | 'jpeg';

export class ImageError extends Error {
  override name = 'ImageError';
}

export interface DecodeOptions {
  /** output channels; default 1 for grayscale sources (incl. gray+alpha, gray palettes, gray JPEGs), else 3 */
  channels?: 1 | 3;
  /** alpha is composited over this gray level in [0, 1]; default 0 (black) */
  background?: number;
  /** file name or URL used in error messages */
  name?: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Format from the leading bytes ('png', 'jpeg') or null. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

const suffix = (name: string | undefined): string => (name !== undefined ? `: ${name}` : '');
const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** Decode PNG or JPEG bytes to a float image. Throws ImageError with a one-line message. */
export function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedImage {
  if (bytes.length === 0) throw new ImageError(`image is empty${suffix(opts.name)}`);
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, opts);
  if (format === 'jpeg') return decodeJpeg(bytes, opts);
  throw new ImageError(`not a PNG or JPEG image${suffix(opts.name)}`);
}

type BundleBuffer = { from(data: ArrayBuffer, byteOffset: number, length: number): Uint8Array };
let pngBuffer: BundleBuffer | null = null;

/** pngjs' browser build expects its own bundled Buffer class; borrow it from a PNG instance. */
function asPngBuffer(bytes: Uint8Array): Buffer {
  pngBuffer ??= new PNG({ width: 1, height: 1 }).data.constructor as unknown as BundleBuffer;
  return pngBuffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) as Buffer;
}

/** Decode PNG bytes (gray, gray+alpha, RGB, RGBA, palette; 1–16 bit; interlaced or not). */
export function decodePng(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedImage {
  if (bytes.length === 0) throw new ImageError(`image is empty${suffix(opts.name)}`);
  if (sniffImageFormat(bytes) !== 'png') throw new ImageError(`not a PNG image${suffix(opts.name)}`);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(asPngBuffer(bytes), { skipRescale: true });
  } catch (err) {
    throw new ImageError(`corrupt PNG image${suffix(opts.name)} (${firstLine(err)})`);
  }
  const { width, height, depth } = png;
  const colorType = png.colorType as number;
  if (width === 0 || height === 0) throw new ImageError(`image is empty${suffix(opts.name)}`);
  // pngjs returns RGBA with samples up to 2^depth - 1 (palette entries are 8-bit)
  const max = colorType === 3 ? 255 : 2 ** depth - 1;
  const rgba = png.data as unknown as ArrayLike<number>;
  let gray = colorType === 0 || colorType === 4;
  if (colorType === 3) {
    gray = true;
    for (let p = 0; p < width * height && gray; p++) gray = rgba[4 * p] === rgba[4 * p + 1] && rgba[4 * p] === rgba[4 * p + 2];
  }
  return fromRgba(rgba, width, height, max, gray, opts);
}

/** Decode JPEG bytes (baseline or progressive, gray or colour). */
export function decodeJpeg(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedImage {
  if (bytes.length === 0) throw new ImageError(`image is empty${suffix(opts.name)}`);
  if (sniffImageFormat(bytes) !== 'jpeg') throw new ImageError(`not a JPEG image${suffix(opts.name)}`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: true, maxMemoryUsageInMB: 1024 });
  } catch (err) {
    throw new ImageError(`corrupt JPEG image${suffix(opts.name)} (${firstLine(err)})`);
  }
  const { width, height, data } = img;
  if (width === 0 || height === 0) throw new ImageError(`image is empty${suffix(opts.name)}`);
  let gray = true;
  for (let p = 0; p < width * height && gray; p++) gray = data[4 * p] === data[4 * p + 1] && data[4 * p] === data[4 * p + 2];
  return fromRgba(data, width, height, 255, gray, opts);
}

function fromRgba(rgba: ArrayLike<number>, width: number, height: number, max: number, gray: boolean, opts: DecodeOptions): DecodedImage {
  const channels = opts.channels ?? (gray ? 1 : 3);
  const bg = opts.background ?? 0;
  const n = width * height;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const a = rgba[4 * p + 3]! / max;
    const r = (rgba[4 * p]! / max) * a + bg * (1 - a);
    const g = (rgba[4 * p + 1]! / max) * a + bg * (1 - a);
    const b = (rgba[4 * p + 2]! / max) * a + bg * (1 - a);
    if (channels === 3) {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    } else {
      out[p] = gray ? r : lumaOf(r, g, b);
    }
  }
  return { data: out, width, height, channels };
}

/** ITU-R BT.601 luma weights (they sum to 1, so gray → RGB → gray is exact). */
export const LUMA_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];
const lumaOf = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

export interface EncodableImage {
  /** HWC; Float32Array values in [0, 1] (clamped), Uint8Array values 0..255 */
  data: Float32Array | Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** Encode as an 8-bit PNG (gray, RGB or RGBA by channel count). Lossless at 8 bits. */
export function encodePng(img: EncodableImage): Uint8Array {
  const { width, height, channels, data } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height)) || width <= 0 || height <= 0) {
    throw new ImageError(`cannot encode an empty image (${width}x${height})`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new ImageError(`cannot encode ${channels} channels as PNG (1, 3 or 4)`);
  const n = width * height * channels;
  if (data.length !== n) throw new ImageError(`image data has ${data.length} values, expected ${width}x${height}x${channels} = ${n}`);
  const bytes = new Uint8Array(n);
  if (data instanceof Uint8Array) {
    bytes.set(data);
  } else {
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      bytes[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0; // NaN → 0
    }
  }
  const colorType = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const meta = { width, height, data: asPngBuffer(bytes) } as unknown as InstanceType<typeof PNG>;
  const out = PNG.sync.write(meta, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Convert between 1 and 3 channels (gray → RGB replicates; RGB → gray uses BT.601 luma). */
export function convertChannels(img: DecodedImage, channels: 1 | 3): DecodedImage {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  const out = new Float32Array(n * channels);
  const d = img.data;
  if (channels === 3) {
    for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = d[p]!;
  } else {
    for (let p = 0; p < n; p++) out[p] = lumaOf(d[3 * p]!, d[3 * p + 1]!, d[3 * p + 2]!);
  }
  return { data: out, width: img.width, height: img.height, channels };
}

export const grayToRgb = (img: DecodedImage): DecodedImage => convertChannels(img, 3);
export const rgbToGray = (img: DecodedImage): DecodedImage => convertChannels(img, 1);

/** The image as a float32 tensor [1, H, W, C]. */
export function imageToTensor(img: DecodedImage): tf.Tensor4D {
  return tf.tensor4d(img.data, [1, img.height, img.width, img.channels], 'float32');
}

/** A [H, W, C] or [1, H, W, C] tensor (C = 1 or 3, values in [0, 1]) as a DecodedImage (synchronous read). */
export function tensorToImage(t: tf.Tensor3D | tf.Tensor4D): DecodedImage {
  const shape = t.shape.length === 4 ? t.shape.slice(1) : t.shape;
  if (t.shape.length === 4 && t.shape[0] !== 1) throw new ImageError(`tensorToImage needs a batch of 1, got ${t.shape[0]}`);
  const [height, width, channels] = shape as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new ImageError(`tensorToImage needs 1 or 3 channels, got ${channels}`);
  return { data: Float32Array.from(t.dataSync() as ArrayLike<number>), width, height, channels };
}

/** Convert a [B, H, W, C] tensor to 1 or 3 channels (BT.601 luma, like convertChannels / replication). */
export function tensorToChannels(x: tf.Tensor4D, channels: 1 | 3): tf.Tensor4D {
  const c = x.shape[3];
  if (c === channels) return x.clone();
  if (c === 1 && channels === 3) return tf.tile(x, [1, 1, 1, 3]);
  if (c === 3 && channels === 1) return tf.tidy(() => tf.sum(tf.mul(x, tf.tensor1d([...LUMA_WEIGHTS])), 3, true));
  throw new ImageError(`cannot convert ${c} channels to ${channels}`);
}

export type FitMode = 'stretch' | 'center-crop';

/**
 * Resize a [B, H, W, C] batch to `size` (side or [height, width]) with bilinear interpolation
 * (half-pixel centres). 'stretch' resizes directly; 'center-crop' scales the image so it covers the
 * target, then crops the centre (aspect ratio kept).
 */
export function fitToSize(x: tf.Tensor4D, size: number | readonly [number, number], mode: FitMode = 'center-crop'): tf.Tensor4D {
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(th) && Number.isInteger(tw) && th > 0 && tw > 0)) throw new ImageError(`invalid target size ${th}x${tw}`);
  const [, h, w] = x.shape;
  if (h === th && w === tw) return x.clone();
  return tf.tidy(() => {
    if (mode === 'stretch') return tf.image.resizeBilinear(x, [th, tw], false, true);
    const s = Math.max(th / h, tw / w);
    const rh = Math.max(th, Math.round(h * s));
    const rw = Math.max(tw, Math.round(w * s));
    const r = rh === h && rw === w ? x : tf.image.resizeBilinear(x, [rh, rw], false, true);
    const y0 = Math.floor((rh - th) / 2);
    const x0 = Math.floor((rw - tw) / 2);
    return tf.slice(r, [0, y0, x0, 0], [-1, th, tw, -1]);
  });
}

/** Decoded image → model input tensor [1, size, size, channels] in [0, 1]. */
export function imageToModelInput(img: DecodedImage, size: number | readonly [number, number], channels: 1 | 3, mode: FitMode = 'center-crop'): tf.Tensor4D {
  const conv = convertChannels(img, channels);
  return tf.tidy(() => fitToSize(imageToTensor(conv), size, mode));
}
