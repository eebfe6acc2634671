/**
 * Plain raster helpers for figures (browser-safe, no tfjs): float HWC images in [0, 1] with 1 or 3
 * channels, nearest-neighbour resizing, pasting, rectangles. Everything here is pure except the
 * draw/fill/blit functions, which paint into the canvas they are given.
 */

/** An RGB colour, components in [0, 1]. */
export type Rgb = readonly [number, number, number];

/** A float image in HWC order with values in [0, 1] (structurally a DecodedImage of src/io). */
export interface VizImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** A 3-channel VizImage: what every renderer here returns, ready for encodePng. */
export interface RgbImage extends VizImage {
  channels: 3;
}

export class VizError extends Error {
  override name = 'VizError';
}

const isSize = (n: number): boolean => Number.isInteger(n) && n > 0;

/** Throws unless width/height are positive integers and data holds width·height·channels values. */
export function checkImage(img: VizImage, what = 'image'): void {
  const { width, height, channels, data } = img;
  if (!isSize(width) || !isSize(height)) throw new VizError(`${what}: invalid size ${width}x${height}`);
  if (channels !== 1 && channels !== 3) throw new VizError(`${what}: ${String(channels)} channels (expected 1 or 3)`);
  if (data.length !== width * height * channels) {
    throw new VizError(`${what}: ${data.length} values, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
}

/** Throws unless map has w·h values and w, h are positive integers. */
export function checkMap(map: ArrayLike<number>, w: number, h: number, what = 'map'): void {
  if (!isSize(w) || !isSize(h)) throw new VizError(`${what}: invalid size ${w}x${h}`);
  if (map.length !== w * h) throw new VizError(`${what}: ${map.length} values, expected ${w}x${h} = ${w * h}`);
}

/** A new RGB image filled with `background` (default white). */
export function createCanvas(width: number, height: number, background: Rgb = [1, 1, 1]): RgbImage {
  if (!isSize(width) || !isSize(height)) throw new VizError(`canvas: invalid size ${width}x${height}`);
  const data = new Float32Array(width * height * 3);
  const [r, g, b] = background;
  for (let o = 0; o < data.length; o += 3) {
    data[o] = r;
    data[o + 1] = g;
    data[o + 2] = b;
  }
  return { data, width, height, channels: 3 };
}

/** The image as RGB (gray replicated); a copy, never the input itself. */
export function toRgb(img: VizImage): RgbImage {
  checkImage(img);
  if (img.channels === 3) return { data: img.data.slice(), width: img.width, height: img.height, channels: 3 };
  const n = img.width * img.height;
  const data = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = img.data[p]!;
  return { data, width: img.width, height: img.height, channels: 3 };
}

/** Nearest-neighbour resize to width×height (pixel centres: source = floor((x + 0.5)·w / W)). */
export function resizeNearest<T extends VizImage>(img: T, width: number, height: number): T {
  checkImage(img);
  if (!isSize(width) || !isSize(height)) throw new VizError(`resize: invalid target size ${width}x${height}`);
  const { width: w, height: h, channels: c } = img;
  const data = new Float32Array(width * height * c);
  const xs = Int32Array.from({ length: width }, (_, x) => Math.min(w - 1, Math.floor(((x + 0.5) * w) / width)));
  for (let y = 0; y < height; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / height));
    for (let x = 0; x < width; x++) {
      const s = (sy * w + xs[x]!) * c;
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) data[o + k] = img.data[s + k]!;
    }
  }
  return { ...img, data, width, height };
}

/** Nearest-neighbour upscaling by a positive integer factor: every pixel becomes a factor×factor block. */
export function upscale<T extends VizImage>(img: T, factor: number): T {
  if (!isSize(factor)) throw new VizError(`upscale factor must be a positive integer, got ${factor}`);
  return factor === 1 ? { ...img, data: img.data.slice() } : resizeNearest(img, img.width * factor, img.height * factor);
}

/** Paint src (1 or 3 channels) into canvas with its top-left corner at (x, y); clipped to the canvas. */
export function blit(canvas: RgbImage, src: VizImage, x: number, y: number): void {
  checkImage(src, 'blit source');
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(canvas.width, Math.round(x) + src.width);
  const y1 = Math.min(canvas.height, Math.round(y) + src.height);
  const ox = Math.round(x);
  const oy = Math.round(y);
  for (let cy = y0; cy < y1; cy++) {
    for (let cx = x0; cx < x1; cx++) {
      const s = ((cy - oy) * src.width + (cx - ox)) * src.channels;
      const o = 3 * (cy * canvas.width + cx);
      if (src.channels === 3) {
        canvas.data[o] = src.data[s]!;
        canvas.data[o + 1] = src.data[s + 1]!;
        canvas.data[o + 2] = src.data[s + 2]!;
      } else {
        canvas.data[o] = canvas.data[o + 1] = canvas.data[o + 2] = src.data[s]!;
      }
    }
  }
}

/** Fill the half-open pixel rectangle [x0, x1) × [y0, y1) with color; clipped to the canvas. */
export function fillRect(canvas: RgbImage, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const ax = Math.max(0, Math.round(Math.min(x0, x1)));
  const bx = Math.min(canvas.width, Math.round(Math.max(x0, x1)));
  const ay = Math.max(0, Math.round(Math.min(y0, y1)));
  const by = Math.min(canvas.height, Math.round(Math.max(y0, y1)));
  for (let y = ay; y < by; y++) {
    for (let x = ax; x < bx; x++) {
      const o = 3 * (y * canvas.width + x);
      canvas.data[o] = color[0];
      canvas.data[o + 1] = color[1];
      canvas.data[o + 2] = color[2];
    }
  }
}

export interface RectOptions {
  /** outline colour; default red [1, 0.15, 0.15] */
  color?: Rgb;
  /** line width in pixels, drawn inside the rectangle; default 1 */
  thickness?: number;
}

/**
 * Outline the half-open pixel rectangle [x0, x1) × [y0, y1) (the dataset box convention): the
 * outline covers the outermost `thickness` pixels inside it. Clipped to the canvas.
 */
export function drawRect(canvas: RgbImage, x0: number, y0: number, x1: number, y1: number, opts: RectOptions = {}): void {
  const color = opts.color ?? [1, 0.15, 0.15];
  const ax = Math.round(Math.min(x0, x1));
  const bx = Math.round(Math.max(x0, x1));
  const ay = Math.round(Math.min(y0, y1));
  const by = Math.round(Math.max(y0, y1));
  if (bx <= ax || by <= ay) return;
  const t = Math.max(1, Math.min(Math.round(opts.thickness ?? 1), Math.ceil((bx - ax) / 2), Math.ceil((by - ay) / 2)));
  fillRect(canvas, ax, ay, bx, ay + t, color); // top
  fillRect(canvas, ax, by - t, bx, by, color); // bottom
  fillRect(canvas, ax, ay + t, ax + t, by - t, color); // left
  fillRect(canvas, bx - t, ay + t, bx, by - t, color); // right
}
