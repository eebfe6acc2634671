/**
 * Node adapter: image files (PNG/JPEG) and image-folder datasets (one subfolder per class).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Dataset } from '../../data/dataset.js';
import { DatasetError } from '../../data/dataset.js';
import {
  ImageError,
  convertChannels,
  decodeImage,
  encodePng,
  fitToSize,
  imageToTensor,
  sniffImageFormat,
  type DecodeOptions,
  type DecodedImage,
  type EncodableImage,
  type FitMode,
} from '../image.js';
import { readBytes } from './idx-file.js';

/** Decode a PNG or JPEG file (format sniffed from its bytes). One-line errors name the file. */
export function readImageFile(path: string, opts: Omit<DecodeOptions, 'name'> = {}): DecodedImage {
  const bytes = readBytes(path);
  return decodeImage(bytes, { ...opts, name: path });
}

/** Encode as 8-bit PNG and write (creating the parent directory). */
export function writePngFile(path: string, img: EncodableImage): void {
  const bytes = encodePng(img);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

export interface ImageFolderListing {
  classNames: string[];
  files: { path: string; label: number }[];
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Classes (sorted subfolder names; index = label) and their PNG/JPEG files (sorted; hidden files and
 * other extensions are skipped). Throws DatasetError for a missing directory, no class folders, or an
 * empty class folder.
 */
export function listImageFolder(dir: string): ImageFolderListing {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`image folder not found: ${dir}`);
  const classNames = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(byCodeUnits);
  if (classNames.length === 0) {
    throw new DatasetError(`no class subfolders in ${dir} (expected one folder per class containing PNG/JPEG files)`);
  }
  const files: { path: string; label: number }[] = [];
  classNames.forEach((cls, label) => {
    const classDir = join(dir, cls);
    const names = readdirSync(classDir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort(byCodeUnits);
    if (names.length === 0) throw new DatasetError(`class folder ${classDir} has no PNG/JPEG images`);
    for (const name of names) files.push({ path: join(classDir, name), label });
  });
  return { classNames, files };
}

export interface ImageFolderOptions {
  /** model input side, or [height, width] */
  size: number | readonly [number, number];
  /** output channels (images are converted) */
  channels: 1 | 3;
  /** how images of another size or aspect are fitted; default 'center-crop' */
  fit?: FitMode;
  /** gray level alpha is composited over; default 0 */
  background?: number;
}

/**
 * Load an image-folder dataset: `dir/<class>/<image>.{png,jpg,jpeg}`, classes in sorted order.
 * Images are resized with tf.image.resizeBilinear (half-pixel centres) on the current tfjs backend.
 * Returns float [0, 1] images [N, H, W, channels].
 */
export function loadImageFolder(dir: string, opts: ImageFolderOptions): Dataset {
  const { classNames, files } = listImageFolder(dir);
  const [h, w] = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  const c = opts.channels;
  const per = h * w * c;
  const images = new Float32Array(files.length * per);
  const labels = new Int32Array(files.length);
  files.forEach((f, k) => {
    const bytes = readBytes(f.path);
    if (bytes.length > 0 && sniffImageFormat(bytes) === null) throw new ImageError(`not a PNG or JPEG image: ${f.path}`);
    const img = convertChannels(decodeImage(bytes, { name: f.path, background: opts.background ?? 0 }), c);
    if (img.width === w && img.height === h) {
      images.set(img.data, k * per);
    } else {
      const x = tf.tidy(() => fitToSize(imageToTensor(img), [h, w], opts.fit ?? 'center-crop'));
      images.set(x.dataSync() as Float32Array, k * per);
      x.dispose();
    }
    labels[k] = f.label;
  });
  return { name: basename(dir), images, labels, shape: [h, w, c], classNames };
}
