/**
 * Figure grids (browser-safe, no tfjs): rows × columns of images, each scaled (nearest neighbour) to
 * a common cell size, with column labels on top, row labels at the left, captions under the cells
 * and optional boxes, plus an optional colour-bar legend under the grid. The result is an RGB float
 * image ready for encodePng.
 */
import type { Colormap } from './colormap.js';
import { drawText, GLYPH_ASCENT, measureText, wrapText, type TextSize } from './font.js';
import type { Rgb, RgbImage, VizImage } from './image.js';
import { colorbar } from './heatmap.js';
import { blit, checkImage, createCanvas, drawRect, fillRect, resizeNearest, VizError } from './image.js';

/** A box [x0, y0, x1, y1]: half-open pixel coordinates in the cell image, before scaling. */
export type Box = readonly [number, number, number, number];

export interface Cell {
  /** HWC values in [0, 1] */
  image: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** text under the cell; '\n' separates lines */
  caption?: string;
  /** outlined rectangles */
  boxes?: readonly Box[];
  /** outline colour for this cell's boxes (default: the grid's boxColor) */
  boxColor?: Rgb;
}

export interface GridOptions {
  /** rows of cells; rows may differ in length and null leaves a slot empty */
  rows: readonly (readonly (Cell | null)[])[];
  /** one per row (at most), drawn left of the row; '\n' separates lines */
  rowLabels?: readonly string[];
  /** one per column (at most), drawn above the column */
  colLabels?: readonly string[];
  /** drawn centred above everything */
  title?: string;
  /**
   * Side (or [width, height]) every cell image is scaled to (aspect ratio kept, nearest neighbour).
   * Default: the largest cell side, multiplied by the smallest integer that makes it ≥ 112 px
   * (28×28 images → 112, 7×7 maps → 112, 224×224 images stay 224).
   */
  cellSize?: number | readonly [number, number];
  /** gap between cells and around the grid, in pixels; default 8 */
  padding?: number;
  /** default white */
  background?: Rgb;
  /** text colour; default near-black */
  textColor?: Rgb;
  /** font scale of labels and captions; default 1 (5×7 glyphs, 6 px per character) */
  fontScale?: number;
  /** font scale of the title; default fontScale + 1 */
  titleScale?: number;
  /** default red [1, 0.15, 0.15] */
  boxColor?: Rgb;
  /** box outline width in output pixels; default 2 when cells are upscaled ≥ 2×, else 1 */
  boxThickness?: number;
  /** when set, a 1-pixel frame of this colour is drawn around every cell image (outside it) */
  cellBorder?: Rgb;
  /** word-wrap captions and column labels to the cell width (a column widens only for single words
   * that do not fit); default true */
  wrap?: boolean;
  /** a colour-bar legend centred under the grid: "label  low ▬▬▬ high" */
  legend?: LegendOptions;
}

export interface LegendOptions {
  /** default 'turbo' */
  colormap?: Colormap;
  /** text left of the bar, e.g. 'attribution' */
  label?: string;
  /** end labels; default '0' and '1' */
  low?: string;
  high?: string;
  /** bar size in pixels; default 160 × 8·fontScale */
  width?: number;
  height?: number;
}

export interface GridLayout {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  /** left edge and width of every column */
  colX: number[];
  colWidths: number[];
  /** top edge of every row's cell area, and the row height (cell + caption) */
  rowY: number[];
  rowHeights: number[];
  /** top of the title and of the column-label band (undefined when absent) */
  titleY?: number;
  colLabelY?: number;
  /** top of the legend band (undefined when absent) */
  legendY?: number;
}

/** vertical gap between an image and its caption / column label */
const TEXT_GAP = 4;
const MIN_AUTO_CELL = 112;
/** horizontal gap between the legend's parts, per font scale */
const LEGEND_GAP = 5;

function cellSizeOf(opts: GridOptions): [number, number] {
  if (opts.cellSize !== undefined) {
    const [w, h] = typeof opts.cellSize === 'number' ? [opts.cellSize, opts.cellSize] : opts.cellSize;
    if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) throw new VizError(`invalid cellSize ${w}x${h}`);
    return [w, h];
  }
  let side = 1;
  for (const row of opts.rows) for (const c of row) if (c) side = Math.max(side, c.width, c.height);
  const s = side * Math.max(1, Math.ceil(MIN_AUTO_CELL / side));
  return [s, s];
}

const size = (text: string | undefined, scale: number): TextSize => (text ? measureText(text, scale) : { width: 0, height: 0 });


/** width of a text's ink: its box minus the trailing spacing column */
const inkWidth = (t: TextSize, scale: number): number => Math.max(0, t.width - scale);

/** left edge that centres a text box in [left, left + span) by its ink */
const centred = (left: number, span: number, t: TextSize, scale: number): number => left + Math.floor((span - inkWidth(t, scale)) / 2);

interface LegendPlan {
  width: number;
  height: number;
  barWidth: number;
  barHeight: number;
  parts: { label?: string; low: string; high: string };
}

/** the legend line: [label gap] low gap bar gap high */
function legendPlan(legend: LegendOptions, fs: number): LegendPlan {
  const barWidth = legend.width ?? 160;
  const barHeight = legend.height ?? 8 * fs;
  if (!(Number.isInteger(barWidth) && Number.isInteger(barHeight) && barWidth > 0 && barHeight > 0)) throw new VizError(`invalid legend bar ${barWidth}x${barHeight}`);
  const low = legend.low ?? '0';
  const high = legend.high ?? '1';
  const g = LEGEND_GAP * fs;
  const w = (t: string | undefined): number => inkWidth(size(t, fs), fs);
  const width = (legend.label ? w(legend.label) + 2 * g : 0) + w(low) + g + barWidth + g + w(high);
  const parts: LegendPlan['parts'] = { low, high };
  if (legend.label) parts.label = legend.label;
  return { width, height: Math.max(barHeight, GLYPH_ASCENT * fs), barWidth, barHeight, parts };
}

interface Plan {
  layout: GridLayout;
  /** captions and column labels after wrapping */
  captions: (string | undefined)[][];
  colLabels: (string | undefined)[];
  legend?: LegendPlan;
}

function plan(opts: GridOptions): Plan {
  const { rows } = opts;
  if (rows.length === 0) throw new VizError('grid has no rows');
  const nCols = Math.max(...rows.map((r) => r.length));
  if (nCols === 0) throw new VizError('grid has no columns');
  if (opts.rowLabels && opts.rowLabels.length > rows.length) throw new VizError(`${opts.rowLabels.length} row labels for ${rows.length} rows`);
  if (opts.colLabels && opts.colLabels.length > nCols) throw new VizError(`${opts.colLabels.length} column labels for ${nCols} columns`);
  const pad = opts.padding ?? 8;
  if (!(Number.isInteger(pad) && pad >= 0)) throw new VizError(`invalid padding ${pad}`);
  const fs = opts.fontScale ?? 1;
  const ts = opts.titleScale ?? fs + 1;
  const gap = TEXT_GAP * fs;
  const [cellWidth, cellHeight] = cellSizeOf(opts);
  const wrap = (text: string | undefined): string | undefined => (text && opts.wrap !== false ? wrapText(text, cellWidth, fs) : text);
  const captions = rows.map((row) => row.map((c) => wrap(c?.caption)));
  const colLabels = Array.from({ length: nCols }, (_, j) => wrap(opts.colLabels?.[j]));

  const colWidths = Array.from({ length: nCols }, (_, j) => {
    let w = Math.max(cellWidth, inkWidth(size(colLabels[j], fs), fs));
    for (const row of captions) w = Math.max(w, inkWidth(size(row[j], fs), fs));
    return w;
  });
  const rowHeights = captions.map((row) => {
    const capH = Math.max(0, ...row.map((c) => size(c, fs).height));
    return cellHeight + (capH > 0 ? gap + capH : 0);
  });
  const rowLabelW = Math.max(0, ...(opts.rowLabels ?? []).map((l) => inkWidth(size(l, fs), fs)));
  const colLabelH = Math.max(0, ...colLabels.map((l) => size(l, fs).height));
  const titleH = size(opts.title, ts).height;

  let y = pad;
  let titleY: number | undefined;
  let colLabelY: number | undefined;
  if (titleH > 0) {
    titleY = y;
    y += titleH + pad;
  }
  if (colLabelH > 0) {
    colLabelY = y;
    y += colLabelH + gap;
  }
  const rowY: number[] = [];
  rowHeights.forEach((h, i) => {
    rowY.push(y);
    y += h + (i < rows.length - 1 ? pad : 0);
  });
  const legend = opts.legend ? legendPlan(opts.legend, fs) : undefined;
  let legendY: number | undefined;
  if (legend) {
    legendY = y + 2 * pad;
    y = legendY + legend.height;
  }
  let x = pad + (rowLabelW > 0 ? rowLabelW + pad : 0);
  const colX: number[] = [];
  colWidths.forEach((w, j) => {
    colX.push(x);
    x += w + (j < nCols - 1 ? pad : 0);
  });
  const width = Math.max(x + pad, 2 * pad + inkWidth(size(opts.title, ts), ts), 2 * pad + (legend?.width ?? 0));
  const height = y + pad;
  const layout: GridLayout = { width, height, cellWidth, cellHeight, colX, colWidths, rowY, rowHeights };
  if (titleY !== undefined) layout.titleY = titleY;
  if (colLabelY !== undefined) layout.colLabelY = colLabelY;
  if (legendY !== undefined) layout.legendY = legendY;
  const out: Plan = { layout, captions, colLabels };
  if (legend) out.legend = legend;
  return out;
}

/** The pixel layout composeGrid uses for these options (output size, column/row positions). */
export function gridLayout(opts: GridOptions): GridLayout {
  return plan(opts).layout;
}

/** Render the grid as an RGB image (size = gridLayout(opts).width × height). */
export function composeGrid(opts: GridOptions): RgbImage {
  const { layout: L, captions, colLabels, legend } = plan(opts);
  const fs = opts.fontScale ?? 1;
  const ts = opts.titleScale ?? fs + 1;
  const pad = opts.padding ?? 8;
  const color = opts.textColor ?? [0.1, 0.1, 0.1];
  const canvas = createCanvas(L.width, L.height, opts.background ?? [1, 1, 1]);
  const gap = TEXT_GAP * fs;

  if (opts.title && L.titleY !== undefined) {
    const t = measureText(opts.title, ts);
    drawText(canvas, centred(0, L.width, t, ts), L.titleY, opts.title, { color, scale: ts, align: 'center' });
  }
  if (L.colLabelY !== undefined) {
    const bandH = Math.max(...colLabels.map((l) => size(l, fs).height));
    colLabels.forEach((label, j) => {
      if (!label) return;
      const t = measureText(label, fs);
      // centred on the column, bottom-aligned on the band
      drawText(canvas, centred(L.colX[j]!, L.colWidths[j]!, t, fs), L.colLabelY! + bandH - t.height, label, { color, scale: fs, align: 'center' });
    });
  }
  opts.rowLabels?.forEach((label, i) => {
    if (!label) return;
    const t = measureText(label, fs);
    drawText(canvas, pad, L.rowY[i]! + Math.floor((L.cellHeight - t.height) / 2), label, { color, scale: fs });
  });

  opts.rows.forEach((row, i) => {
    row.forEach((cell, j) => {
      if (!cell) return;
      const img: VizImage = { data: cell.image, width: cell.width, height: cell.height, channels: cell.channels };
      checkImage(img, `cell (${i}, ${j})`);
      const s = Math.min(L.cellWidth / cell.width, L.cellHeight / cell.height);
      const w = Math.max(1, Math.round(cell.width * s));
      const h = Math.max(1, Math.round(cell.height * s));
      const x0 = L.colX[j]! + Math.floor((L.colWidths[j]! - w) / 2);
      const y0 = L.rowY[i]! + Math.floor((L.cellHeight - h) / 2);
      if (opts.cellBorder) fillRect(canvas, x0 - 1, y0 - 1, x0 + w + 1, y0 + h + 1, opts.cellBorder);
      blit(canvas, w === cell.width && h === cell.height ? img : resizeNearest(img, w, h), x0, y0);
      const thickness = opts.boxThickness ?? (s >= 2 ? 2 : 1);
      for (const [bx0, by0, bx1, by1] of cell.boxes ?? []) {
        // clip to the cell image so a box never paints outside its cell
        const X0 = Math.max(0, Math.min(w, Math.round((bx0 * w) / cell.width)));
        const X1 = Math.max(0, Math.min(w, Math.round((bx1 * w) / cell.width)));
        const Y0 = Math.max(0, Math.min(h, Math.round((by0 * h) / cell.height)));
        const Y1 = Math.max(0, Math.min(h, Math.round((by1 * h) / cell.height)));
        drawRect(canvas, x0 + X0, y0 + Y0, x0 + X1, y0 + Y1, { color: cell.boxColor ?? opts.boxColor ?? [1, 0.15, 0.15], thickness });
      }
      const caption = captions[i]![j];
      if (caption) {
        const t = measureText(caption, fs);
        drawText(canvas, centred(L.colX[j]!, L.colWidths[j]!, t, fs), L.rowY[i]! + L.cellHeight + gap, caption, { color, scale: fs, align: 'center' });
      }
    });
  });
  if (legend && L.legendY !== undefined) {
    // text is vertically centred on the bar by its capital height
    const g = LEGEND_GAP * fs;
    const midY = L.legendY + legend.height / 2;
    const textY = Math.round(midY - (GLYPH_ASCENT * fs) / 2);
    let x = Math.floor((L.width - legend.width) / 2);
    const put = (text: string): void => {
      drawText(canvas, x, textY, text, { color, scale: fs });
      x += inkWidth(measureText(text, fs), fs) + g;
    };
    if (legend.parts.label) {
      put(legend.parts.label);
      x += g;
    }
    put(legend.parts.low);
    blit(canvas, colorbar(legend.barWidth, legend.barHeight, { colormap: opts.legend?.colormap ?? 'turbo' }), x, Math.round(midY - legend.barHeight / 2));
    x += legend.barWidth + g;
    put(legend.parts.high);
  }
  return canvas;
}
