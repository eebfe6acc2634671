/**
 * Side-by-side pictures of attacks: for each example, the benign image and its map, then each
 * attack's adversarial image and map, with predictions and map distances as captions.
 */
import { type Cell, type RgbImage, composeGrid, heatmapOverlay } from '../viz/index.js';

export interface PictureImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface PictureMap {
  data: Float32Array;
  width: number;
  height: number;
}

export interface PictureVariant {
  /** column group title, e.g. 'benign', 'PGD', 'ADV²' */
  title: string;
  image: PictureImage;
  map: PictureMap;
  /** caption under the image, e.g. 'Coat 0.98' */
  imageCaption: string;
  /** caption under the map, e.g. 'L1 0.05 IoU 0.71' */
  mapCaption?: string;
}

export interface PictureRow {
  label?: string;
  variants: PictureVariant[];
  box?: readonly [number, number, number, number];
}

export function attackPicture(rows: PictureRow[], opts: { title?: string; interpreter: string }): RgbImage {
  const cols = rows[0]?.variants ?? [];
  const colLabels = cols.flatMap((v) => [`${v.title} image`, `${v.title} ${opts.interpreter}`]);
  const cells: (Cell | null)[][] = rows.map((r) => r.variants.flatMap((v): Cell[] => [
    { image: v.image.data, width: v.image.width, height: v.image.height, channels: v.image.channels, caption: v.imageCaption, boxes: r.box ? [r.box] : undefined },
    {
      image: heatmapOverlay(v.image.data, v.image.width, v.image.height, v.image.channels, v.map.data, v.map.width, v.map.height, { alpha: 0.55 }).data,
      width: v.image.width, height: v.image.height, channels: 3, caption: v.mapCaption,
    },
  ]));
  return composeGrid({
    rows: cells,
    colLabels,
    rowLabels: rows.some((r) => r.label) ? rows.map((r) => r.label ?? '') : undefined,
    title: opts.title,
    legend: { label: opts.interpreter, low: 'low', high: 'high' },
  });
}
