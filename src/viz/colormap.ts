/**
 * Colormaps [0, 1] → RGB [0, 1] (browser-safe, no tfjs).
 *
 * - 'turbo' (default): Google's improved rainbow map (Anton Mikhailov, 2019; lookup table under
 *   Apache-2.0). Vivid and smooth, good at showing where a saliency map peaks; its brightness is not
 *   monotonic, so it is not for gray-scale printing.
 * - 'viridis': matplotlib's perceptually uniform map (van der Walt & Smith, CC0); brightness rises
 *   monotonically, so it survives gray-scale printing and colour-vision deficiencies.
 * - 'gray': black → white.
 *
 * turbo and viridis are stored as 33 8-bit anchors (every 8th entry of the 256-entry tables, plus the
 * last) and interpolated linearly: within 2/255 of the full tables.
 */
import type { Rgb, RgbImage } from './image.js';
import { checkMap } from './image.js';

export type ColormapName = 'turbo' | 'viridis' | 'gray';
/** A named colormap or any function from [0, 1] to an RGB triple in [0, 1]. */
export type Colormap = ColormapName | ((t: number) => Rgb);

export const COLORMAP_NAMES: readonly ColormapName[] = ['turbo', 'viridis', 'gray'];

const TURBO_HEX =
  '30123b392a734040a24456c7466be34680f64294ff37a8fa28bceb1ccdd818ddc21fe9af32f2984ef97d6dfe628bff4b' +
  'a4fc3cb9f635cdec34dfdf37eecf3af8be39fdac34fe962bfb7e21f46617eb500edf3f08d02f05be2102a91601920b01' +
  '7a0403';
const VIRIDIS_HEX =
  '440154470d6048186a482374472d7b4537814240863e49893b528b375b8d33638d2f6b8e2c728e297a8e26828e23898e' +
  '21918c1f988b1fa08822a78528ae8032b67a3fbc734ec36b5ec96270cf5784d44b98d83eaddc30c2df23d8e219ece51b' +
  'fde725';

/** anchor positions in [0, 1] and their RGB values (3 per anchor) */
interface Anchors {
  pos: Float64Array;
  rgb: Float32Array;
}

function parseAnchors(hex: string): Anchors {
  const n = hex.length / 6;
  const rgb = new Float32Array(3 * n);
  for (let i = 0; i < 3 * n; i++) rgb[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16) / 255;
  // table index 8·i of 0..255, and the last anchor is entry 255
  const pos = Float64Array.from({ length: n }, (_, i) => Math.min(8 * i, 255) / 255);
  return { pos, rgb };
}

const anchorCache: Partial<Record<'turbo' | 'viridis', Anchors>> = {};

function anchorsOf(name: 'turbo' | 'viridis'): Anchors {
  return (anchorCache[name] ??= parseAnchors(name === 'turbo' ? TURBO_HEX : VIRIDIS_HEX));
}

/** Clamp to [0, 1]; NaN → 0. */
const unit = (t: number): number => (t > 0 ? (t < 1 ? t : 1) : 0);

/** A sampler writing the colour of t into out[o..o+2]. */
export type ColormapSampler = (t: number, out: Float32Array, o: number) => void;

/** A fast sampler for a colormap (t is clamped to [0, 1], NaN counts as 0). */
export function colormapSampler(cmap: Colormap = 'turbo'): ColormapSampler {
  if (typeof cmap === 'function') {
    return (t, out, o) => {
      const c = cmap(unit(t));
      out[o] = c[0];
      out[o + 1] = c[1];
      out[o + 2] = c[2];
    };
  }
  if (cmap === 'gray') {
    return (t, out, o) => {
      out[o] = out[o + 1] = out[o + 2] = unit(t);
    };
  }
  if (cmap !== 'turbo' && cmap !== 'viridis') throw new Error(`unknown colormap '${String(cmap)}' (${COLORMAP_NAMES.join(', ')})`);
  const { pos, rgb } = anchorsOf(cmap);
  const last = pos.length - 1;
  return (t, out, o) => {
    const u = unit(t) * 255;
    // anchors are 8 table entries apart, except the last gap (248 → 255)
    const i = Math.min(last - 1, Math.floor(u / 8));
    const f = (u / 255 - pos[i]!) / (pos[i + 1]! - pos[i]!);
    const a = 3 * i;
    out[o] = rgb[a]! + f * (rgb[a + 3]! - rgb[a]!);
    out[o + 1] = rgb[a + 1]! + f * (rgb[a + 4]! - rgb[a + 1]!);
    out[o + 2] = rgb[a + 2]! + f * (rgb[a + 5]! - rgb[a + 2]!);
  };
}

/** The colour of t ∈ [0, 1] (clamped; NaN → 0) under cmap (default 'turbo'). */
export function colormap(t: number, cmap: Colormap = 'turbo'): [number, number, number] {
  const out = new Float32Array(3);
  colormapSampler(cmap)(t, out, 0);
  return [out[0]!, out[1]!, out[2]!];
}

export const turbo = (t: number): [number, number, number] => colormap(t, 'turbo');
export const viridis = (t: number): [number, number, number] => colormap(t, 'viridis');

/** Colourise a w×h map with values in [0, 1] (clamped; NaN → 0) at its own resolution. */
export function applyColormap(map: ArrayLike<number>, w: number, h: number, cmap: Colormap = 'turbo'): RgbImage {
  checkMap(map, w, h);
  const sample = colormapSampler(cmap);
  const data = new Float32Array(3 * w * h);
  for (let p = 0; p < w * h; p++) sample(map[p]!, data, 3 * p);
  return { data, width: w, height: h, channels: 3 };
}

/** Relative luminance proxy (BT.601 luma of the sRGB values), for ordering colours by brightness. */
export const luma = (c: Rgb): number => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
