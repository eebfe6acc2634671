/**
 * Contact-sheet rendering of dataset items (browser-safe): a grid of items, optionally with their
 * boxes outlined, as an RGB float image ready for encodePng.
 */
import type { Dataset } from './dataset.js';
import { boxAt, imageAt } from './dataset.js';
import type { DecodedImage } from '../io/image.js';

export interface GridOptions {
  /** items per row; default ceil(sqrt(n)) */
  cols?: number;
  /** integer upscaling factor (nearest neighbour); default 2 */
  zoom?: number;
  /** gap between cells in output pixels; default 2 */
  gap?: number;
  /** outline boxes (when the dataset has them); default true */
  drawBoxes?: boolean;
  /** RGB colour of the outline in [0, 1]; default red */
  boxColor?: [number, number, number];
  /** RGB colour of the gaps; default mid grey */
  background?: [number, number, number];
}

export function renderGrid(ds: Dataset, indices: ArrayLike<number>, opts: GridOptions = {}): DecodedImage {
  const n = indices.length;
  const cols = opts.cols ?? Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const zoom = opts.zoom ?? 2;
  const gap = opts.gap ?? 2;
  const color = opts.boxColor ?? [1, 0.15, 0.15];
  const bg = opts.background ?? [0.5, 0.5, 0.5];
  const [h, w, c] = ds.shape;
  const cw = w * zoom;
  const chh = h * zoom;
  const width = cols * cw + (cols + 1) * gap;
  const height = rows * chh + (rows + 1) * gap;
  const data = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(bg, 3 * p);
  const put = (x: number, y: number, rgb: ArrayLike<number>): void => {
    const o = 3 * (y * width + x);
    data[o] = rgb[0]!;
    data[o + 1] = rgb[1]!;
    data[o + 2] = rgb[2]!;
  };
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const img = imageAt(ds, i);
    const X = gap + (k % cols) * (cw + gap);
    const Y = gap + Math.floor(k / cols) * (chh + gap);
    for (let y = 0; y < chh; y++) {
      for (let x = 0; x < cw; x++) {
        const s = (Math.floor(y / zoom) * w + Math.floor(x / zoom)) * c;
        const rgb = c >= 3 ? [img[s]!, img[s + 1]!, img[s + 2]!] : [img[s]!, img[s]!, img[s]!];
        put(X + x, Y + y, rgb);
      }
    }
    const box = opts.drawBoxes === false ? undefined : boxAt(ds, i);
    if (box !== undefined) {
      const [x0, y0, x1, y1] = box.map((v) => v * zoom) as [number, number, number, number];
      for (let x = x0; x < x1; x++) {
        put(X + x, Y + y0, color);
        put(X + x, Y + y1 - 1, color);
      }
      for (let y = y0; y < y1; y++) {
        put(X + x0, Y + y, color);
        put(X + x1 - 1, Y + y, color);
      }
    }
  }
  return { data, width, height, channels: 3 };
}
