/**
 * Attribution-map rendering (browser-safe, no tfjs): resampling, colourising, overlaying a map on
 * its image, and colour bars. Maps are Float32Array h×w (row-major) with values in [0, 1].
 */
import type { Colormap } from './colormap.js';
import { colormapSampler } from './colormap.js';
import type { RgbImage } from './image.js';
import { checkImage, checkMap, VizError } from './image.js';

export type Interpolation = 'nearest' | 'bilinear';

/**
 * Resample a w×h map to outW×outH. 'bilinear' uses half-pixel centres (like
 * tf.image.resizeBilinear(…, alignCorners=false, halfPixelCenters=true)), clamping at the borders;
 * 'nearest' picks the source pixel whose area contains the target pixel centre.
 */
export function resizeMap(map: ArrayLike<number>, w: number, h: number, outW: number, outH: number, interpolation: Interpolation = 'bilinear'): Float32Array {
  checkMap(map, w, h);
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) throw new VizError(`invalid target size ${outW}x${outH}`);
  const out = new Float32Array(outW * outH);
  if (interpolation === 'nearest') {
    for (let y = 0; y < outH; y++) {
      const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
      for (let x = 0; x < outW; x++) out[y * outW + x] = map[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW))]!;
    }
    return out;
  }
  if (interpolation !== 'bilinear') throw new VizError(`unknown interpolation '${String(interpolation)}'`);
  const sx = w / outW;
  const sy = h / outH;
  const x0s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    fxs[x] = fx - x0s[x]!;
  }
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < outW; x++) {
      const x0 = x0s[x]!;
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fxs[x]!;
      const top = map[y0 * w + x0]! + tx * (map[y0 * w + x1]! - map[y0 * w + x0]!);
      const bot = map[y1 * w + x0]! + tx * (map[y1 * w + x1]! - map[y1 * w + x0]!);
      out[y * outW + x] = top + ty * (bot - top);
    }
  }
  return out;
}

/** Min–max normalise to [0, 1] (a constant or empty map gives zeros; NaN counts as the minimum). */
export function normalizeMap(map: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(map.length);
  if (!(hi > lo)) return out;
  for (let i = 0; i < map.length; i++) {
    const v = (map[i]! - lo) / (hi - lo);
    out[i] = v > 0 ? v : 0;
  }
  return out;
}

export interface HeatmapOptions {
  /** default 'turbo' */
  colormap?: Colormap;
  /** upscaling filter; default 'nearest' so low-resolution maps (e.g. 7×7 CAM) show their true cells */
  interpolation?: Interpolation;
}

/** The w×h map colourised at (w·scale)×(h·scale) pixels (scale > 0, rounded to whole pixels). */
export function heatmap(map: ArrayLike<number>, w: number, h: number, scale = 1, opts: HeatmapOptions = {}): RgbImage {
  checkMap(map, w, h);
  if (!(scale > 0 && Number.isFinite(scale))) throw new VizError(`heatmap scale must be positive, got ${scale}`);
  const outW = Math.max(1, Math.round(w * scale));
  const outH = Math.max(1, Math.round(h * scale));
  const m = outW === w && outH === h ? map : resizeMap(map, w, h, outW, outH, opts.interpolation ?? 'nearest');
  const sample = colormapSampler(opts.colormap ?? 'turbo');
  const data = new Float32Array(3 * outW * outH);
  for (let p = 0; p < outW * outH; p++) sample(m[p]!, data, 3 * p);
  return { data, width: outW, height: outH, channels: 3 };
}

export interface OverlayOptions {
  /** weight of the colourised map: 0 = the image only, 1 = the map only; default 0.5 */
  alpha?: number;
  /** default 'turbo' */
  colormap?: Colormap;
  /** how the map is brought to the image size; default 'bilinear' (half-pixel centres) */
  interpolation?: Interpolation;
}

/**
 * The map resampled to the image size, colourised, and alpha-blended over the image (gray images
 * are replicated to RGB): out = (1 − alpha)·image + alpha·colour. Returns an RGB image at the image
 * resolution.
 */
export function heatmapOverlay(
  image: Float32Array,
  imgW: number,
  imgH: number,
  imgC: 1 | 3,
  map: ArrayLike<number>,
  mapW: number,
  mapH: number,
  opts: OverlayOptions = {},
): RgbImage {
  checkImage({ data: image, width: imgW, height: imgH, channels: imgC }, 'overlay image');
  checkMap(map, mapW, mapH);
  const alpha = opts.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new VizError(`overlay alpha must be in [0, 1], got ${alpha}`);
  const m = mapW === imgW && mapH === imgH ? map : resizeMap(map, mapW, mapH, imgW, imgH, opts.interpolation ?? 'bilinear');
  const sample = colormapSampler(opts.colormap ?? 'turbo');
  const n = imgW * imgH;
  const data = new Float32Array(3 * n);
  const c = new Float32Array(3);
  for (let p = 0; p < n; p++) {
    sample(m[p]!, c, 0);
    for (let k = 0; k < 3; k++) {
      const v = imgC === 3 ? image[3 * p + k]! : image[p]!;
      data[3 * p + k] = alpha === 0 ? v : alpha === 1 ? c[k]! : (1 - alpha) * v + alpha * c[k]!;
    }
  }
  return { data, width: imgW, height: imgH, channels: 3 };
}

export interface ColorbarOptions {
  /** default 'turbo' */
  colormap?: Colormap;
  /** 'horizontal' (0 at the left) or 'vertical' (0 at the bottom); default 'horizontal' */
  orientation?: 'horizontal' | 'vertical';
}

/** A width×height colour-bar image of the colormap (e.g. a legend cell for composeGrid). */
export function colorbar(width: number, height: number, opts: ColorbarOptions = {}): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new VizError(`invalid colorbar size ${width}x${height}`);
  const vertical = opts.orientation === 'vertical';
  const len = vertical ? height : width;
  const map = Float32Array.from({ length: width * height }, (_, p) => {
    const i = vertical ? height - 1 - Math.floor(p / width) : p % width;
    return len > 1 ? i / (len - 1) : 0;
  });
  return heatmap(map, width, height, 1, { colormap: opts.colormap ?? 'turbo' });
}
