import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '../src/io/image.js';
import {
  applyColormap,
  colorbar,
  colormap,
  composeGrid,
  createCanvas,
  drawRect,
  drawText,
  GLYPH_ADVANCE,
  GLYPH_HEIGHT,
  glyphRows,
  gridLayout,
  hasGlyph,
  heatmap,
  heatmapOverlay,
  LINE_HEIGHT,
  luma,
  measureText,
  normalizeMap,
  resizeMap,
  toRgb,
  turbo,
  upscale,
  viridis,
  wrapText,
  type Cell,
  type RgbImage,
} from '../src/viz/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol);
};
const rgb255 = (r: number, g: number, b: number): number[] => [r / 255, g / 255, b / 255];

/** pixels of `img` that differ from `ref`, as [x, y] */
function changed(img: RgbImage, ref: RgbImage): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < img.width * img.height; p++) {
    if (img.data[3 * p] !== ref.data[3 * p] || img.data[3 * p + 1] !== ref.data[3 * p + 1] || img.data[3 * p + 2] !== ref.data[3 * p + 2]) {
      out.push([p % img.width, Math.floor(p / img.width)]);
    }
  }
  return out;
}

describe('colormaps', () => {
  it('hits the table endpoints and clamps', () => {
    close(turbo(0), rgb255(48, 18, 59), 1e-6);
    close(turbo(1), rgb255(122, 4, 3), 1e-6);
    close(viridis(0), rgb255(68, 1, 84), 1e-6);
    close(viridis(1), rgb255(253, 231, 37), 1e-6);
    close(colormap(0.25, 'gray'), [0.25, 0.25, 0.25]);
    close(turbo(-3), turbo(0));
    close(turbo(7), turbo(1));
    close(turbo(Number.NaN), turbo(0));
    close(colormap(0.5, (t) => [t, 0, 1 - t]), [0.5, 0, 0.5]);
    expect(() => colormap(0.5, 'jet' as never)).toThrow(/unknown colormap/);
  });

  it('turbo runs blue → green → red; viridis and gray brighten monotonically', () => {
    const [r0, , b0] = turbo(0.1);
    expect(b0).toBeGreaterThan(r0);
    const [r5, g5, b5] = turbo(0.5);
    expect(g5).toBeGreaterThan(Math.max(r5, b5));
    const [r9, g9, b9] = turbo(0.9);
    expect(r9).toBeGreaterThan(Math.max(g9, b9));
    for (const cmap of ['viridis', 'gray'] as const) {
      let prev = -1;
      for (let i = 0; i <= 256; i++) {
        const l = luma(colormap(i / 256, cmap));
        expect(l).toBeGreaterThan(prev);
        prev = l;
      }
    }
    // turbo is continuous (no jumps between neighbouring samples)
    for (let i = 0; i < 512; i++) {
      const a = turbo(i / 512);
      const b = turbo((i + 1) / 512);
      for (let k = 0; k < 3; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThan(0.05);
    }
  });

  it('applyColormap colours each pixel; colorbar spans the map', () => {
    const img = applyColormap(Float32Array.from([0, 0.5, 1, 0.25]), 2, 2, 'viridis');
    expect([img.width, img.height, img.channels]).toEqual([2, 2, 3]);
    close(img.data.subarray(6, 9), viridis(1));
    const bar = colorbar(64, 4);
    close(bar.data.subarray(0, 3), turbo(0));
    close(bar.data.subarray(3 * 63, 3 * 64), turbo(1));
    const vbar = colorbar(3, 10, { orientation: 'vertical', colormap: 'gray' });
    expect(vbar.data[0]).toBe(1); // top = 1
    expect(vbar.data[3 * 3 * 9]).toBe(0); // bottom = 0
  });
});

describe('resampling and overlays', () => {
  it('upscale is an exact nearest-neighbour block copy', () => {
    const img = { data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 0, 0.5]), width: 2, height: 2, channels: 3 as const };
    const up = upscale(img, 3);
    expect([up.width, up.height, up.channels]).toEqual([6, 6, 3]);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const s = 3 * (Math.floor(y / 3) * 2 + Math.floor(x / 3));
        const o = 3 * (y * 6 + x);
        expect(Array.from(up.data.subarray(o, o + 3))).toEqual(Array.from(img.data.subarray(s, s + 3)));
      }
    }
    const gray = upscale({ data: Float32Array.from([0, 1]), width: 2, height: 1, channels: 1 }, 4);
    expect(Array.from(gray.data)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(() => upscale(img, 1.5)).toThrow(/integer/);
  });

  it('bilinear resize uses half-pixel centres and clamps at the borders', () => {
    // 2×1 → 4×1: centres at source x = -0.25, 0.25, 0.75, 1.25
    close(resizeMap(Float32Array.from([0, 1]), 2, 1, 4, 1), [0, 0.25, 0.75, 1]);
    close(resizeMap(Float32Array.from([0, 1, 2, 3]), 2, 2, 2, 2), [0, 1, 2, 3]);
    close(resizeMap(Float32Array.from([0, 1]), 2, 1, 4, 1, 'nearest'), [0, 0, 1, 1]);
    close(normalizeMap(Float32Array.from([2, 4, 3])), [0, 1, 0.5]);
    close(normalizeMap(Float32Array.from([5, 5])), [0, 0]);
  });

  it('heatmap upscales low-resolution maps into honest blocks', () => {
    const map = Float32Array.from({ length: 49 }, (_, i) => i / 48);
    const hm = heatmap(map, 7, 7, 4);
    expect([hm.width, hm.height]).toEqual([28, 28]);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) close(hm.data.subarray(3 * (y * 28 + x), 3 * (y * 28 + x) + 3), turbo(map[Math.floor(y / 4) * 7 + Math.floor(x / 4)]!), 1e-6);
    }
    const smooth = heatmap(map, 7, 7, 4, { interpolation: 'bilinear', colormap: 'gray' });
    expect(smooth.data[3 * 2]).not.toBe(smooth.data[0]); // varies inside a block
  });

  it('overlay with alpha 0 is the image and with alpha 1 the colourised map', () => {
    const w = 8;
    const h = 6;
    const gray = Float32Array.from({ length: w * h }, (_, i) => (i % 7) / 7);
    const map = Float32Array.from({ length: 12 }, (_, i) => i / 11);
    const a0 = heatmapOverlay(gray, w, h, 1, map, 4, 3, { alpha: 0 });
    expect(Array.from(a0.data)).toEqual(Array.from(toRgb({ data: gray, width: w, height: h, channels: 1 }).data));
    const a1 = heatmapOverlay(gray, w, h, 1, map, 4, 3, { alpha: 1, colormap: 'viridis' });
    close(a1.data, applyColormap(resizeMap(map, 4, 3, w, h), w, h, 'viridis').data, 1e-6);
    const color = Float32Array.from({ length: w * h * 3 }, (_, i) => (i % 5) / 5);
    const half = heatmapOverlay(color, w, h, 3, map, 4, 3);
    const cmap = applyColormap(resizeMap(map, 4, 3, w, h), w, h);
    close(
      half.data,
      color.map((v, i) => 0.5 * v + 0.5 * cmap.data[i]!),
      1e-6,
    );
    expect(() => heatmapOverlay(gray, w, h, 1, map, 4, 3, { alpha: 2 })).toThrow(/alpha/);
    expect(() => heatmapOverlay(gray, w, h, 3, map, 4, 3)).toThrow(/values/);
  });
});

describe('text and rectangles', () => {
  it('covers printable ASCII with upper and lower case', () => {
    for (let c = 32; c <= 126; c++) expect(hasGlyph(String.fromCharCode(c))).toBe(true);
    for (const ch of '²×°±µ…ελ') expect(hasGlyph(ch)).toBe(true);
    expect(glyphRows('A')).not.toEqual(glyphRows('a'));
    expect(glyphRows('\u2603')).toEqual(glyphRows('?')); // unknown → '?'
    expect(glyphRows('g').slice(7).some((r) => r.includes('#'))).toBe(true); // descender
    expect(glyphRows('A').slice(7).every((r) => !r.includes('#'))).toBe(true);
  });

  it('drawText paints only inside its box, width = characters × advance', () => {
    for (const scale of [1, 2, 3]) {
      const text = 'Hello, g(y)! 0.98%';
      const canvas = createCanvas(160, 60);
      const blank = createCanvas(160, 60);
      const box = drawText(canvas, 7, 5, text, { scale, color: [0, 0, 0] });
      expect(box).toEqual(measureText(text, scale));
      expect(box.width).toBe(text.length * GLYPH_ADVANCE * scale);
      expect(box.height).toBe(GLYPH_HEIGHT * scale);
      const px = changed(canvas, blank);
      expect(px.length).toBeGreaterThan(50);
      for (const [x, y] of px) {
        expect(x).toBeGreaterThanOrEqual(7);
        expect(x).toBeLessThan(7 + box.width);
        expect(y).toBeGreaterThanOrEqual(5);
        expect(y).toBeLessThan(5 + box.height);
      }
    }
    const two = measureText('ab\nlonger', 2);
    expect(two).toEqual({ width: 6 * GLYPH_ADVANCE * 2, height: (LINE_HEIGHT + GLYPH_HEIGHT) * 2 });
    expect(measureText('')).toEqual({ width: 0, height: 0 });
    // clipped at the canvas edge without throwing
    const small = createCanvas(10, 5);
    drawText(small, 6, 2, 'WW', { scale: 2 });
    expect(() => drawText(small, 0, 0, 'x', { scale: 0.5 })).toThrow(/integer/);
  });

  it('wrapText breaks at spaces to fit the width', () => {
    expect(wrapText('pred: Coat 0.98', 1000)).toBe('pred: Coat 0.98');
    // 10 characters fit in 59 px (10·6 − 1)
    expect(wrapText('aaaa bbbb cccc dd', 59)).toBe('aaaa bbbb\ncccc dd');
    expect(wrapText('aaaa bbbbb cc', 59)).toBe('aaaa bbbbb\ncc');
    expect(wrapText('averyveryverylongword x', 30)).toBe('averyveryverylongword\nx');
    expect(wrapText('one\ntwo three', 59)).toBe('one\ntwo three');
    expect(wrapText('aaaa bbbb cccc', 118, 2)).toBe('aaaa bbbb\ncccc');
  });

  it('drawRect outlines the half-open box inside its edges', () => {
    const canvas = createCanvas(12, 10, [0, 0, 0]);
    drawRect(canvas, 2, 3, 8, 7, { color: [1, 1, 1], thickness: 1 });
    const px = changed(canvas, createCanvas(12, 10, [0, 0, 0]));
    expect(px.length).toBe(2 * 6 + 2 * 2); // 6 wide, 4 tall → perimeter 16
    for (const [x, y] of px) {
      expect(x >= 2 && x < 8 && y >= 3 && y < 7).toBe(true);
      expect(x === 2 || x === 7 || y === 3 || y === 6).toBe(true);
    }
    const thick = createCanvas(12, 10, [0, 0, 0]);
    drawRect(thick, 0, 0, 12, 10, { color: [1, 0, 0], thickness: 2 });
    expect(changed(thick, createCanvas(12, 10, [0, 0, 0])).length).toBe(12 * 10 - 8 * 6);
  });
});

// ---- grid ----

const grayCell = (w: number, h: number, caption?: string): Cell => {
  const cell: Cell = { image: Float32Array.from({ length: w * h }, (_, i) => (i % w) / w), width: w, height: h, channels: 1 };
  if (caption !== undefined) cell.caption = caption;
  return cell;
};

describe('composeGrid', () => {
  it('output size equals the computed layout', () => {
    const plain = composeGrid({ rows: [[grayCell(28, 28), grayCell(28, 28)]] });
    expect([plain.width, plain.height, plain.channels]).toEqual([8 + 112 + 8 + 112 + 8, 8 + 112 + 8, 3]);

    const opts = {
      rows: [
        [grayCell(28, 28, 'pred: Coat 0.98'), grayCell(7, 7, 'L1 0.05 IoU 0.71'), null],
        [grayCell(28, 28), grayCell(14, 28, 'two\nlines'), grayCell(28, 28, 'a rather long caption here')],
      ],
      rowLabels: ['benign', 'ADV²'],
      colLabels: ['image', 'CAM', 'overlay'],
      title: 'Title',
      padding: 6,
    };
    const L = gridLayout(opts);
    const img = composeGrid(opts);
    expect([img.width, img.height]).toEqual([L.width, L.height]);
    expect([L.cellWidth, L.cellHeight]).toEqual([112, 112]);
    expect(L.colWidths).toEqual([112, 112, 112]); // the long caption wraps to two lines
    const rowLabelW = measureText('benign').width - 1; // ink: without the trailing spacing column
    expect(L.colX[0]).toBe(6 + rowLabelW + 6);
    expect(L.width).toBe(L.colX[2]! + L.colWidths[2]! + 6);
    const titleH = 2 * GLYPH_HEIGHT;
    expect(L.rowY[0]).toBe(6 + titleH + 6 + GLYPH_HEIGHT + 4);
    expect(L.rowHeights).toEqual([112 + 4 + GLYPH_HEIGHT, 112 + 4 + LINE_HEIGHT + GLYPH_HEIGHT]);
    // without wrapping the third column widens to the caption's ink
    const wide = gridLayout({ ...opts, wrap: false });
    expect(wide.colWidths[2]).toBe(measureText('a rather long caption here').width - 1);
    expect(composeGrid({ ...opts, wrap: false }).width).toBe(wide.width);
    expect(L.height).toBe(L.rowY[1]! + L.rowHeights[1]! + 6);
    // the empty slot stays background
    const o = 3 * ((L.rowY[0]! + 50) * img.width + L.colX[2]! + 50);
    expect(Array.from(img.data.subarray(o, o + 3))).toEqual([1, 1, 1]);
    expect(() => gridLayout({ rows: [[grayCell(4, 4)]], rowLabels: ['a', 'b'] })).toThrow(/row labels/);
    // a legend adds a band under the rows and may widen the figure
    const withLegend = gridLayout({ ...opts, legend: { label: 'attribution', width: 400 } });
    expect(withLegend.legendY).toBe(L.height - 6 + 2 * 6);
    expect(withLegend.height).toBe(withLegend.legendY! + 8 + 6);
    expect(withLegend.width).toBe(2 * 6 + (measureText('attribution').width - 1) + 10 + 5 + 400 + 5 + 5 + 5);
    expect(composeGrid({ ...opts, legend: { label: 'attribution', width: 400 } }).height).toBe(withLegend.height);
  });

  it('scales cells to the common size and draws boxes in cell coordinates', () => {
    const cell = grayCell(10, 10);
    cell.image.fill(0);
    cell.boxes = [[2, 3, 6, 8]];
    const img = composeGrid({ rows: [[cell]], cellSize: 40, padding: 0, boxThickness: 1 });
    expect([img.width, img.height]).toEqual([40, 40]);
    const red = (x: number, y: number): boolean => img.data[3 * (y * 40 + x)] === 1 && img.data[3 * (y * 40 + x) + 1]! < 0.5;
    expect(red(8, 12)).toBe(true); // top-left corner at (2·4, 3·4)
    expect(red(23, 31)).toBe(true); // bottom-right at (6·4 − 1, 8·4 − 1)
    expect(red(24, 31)).toBe(false);
    expect(red(12, 20)).toBe(false); // inside
  });

  it('encodes to a valid PNG', () => {
    const grid = sampleGrid();
    const png = encodePng(grid);
    const back = decodePng(png);
    expect([back.width, back.height, back.channels]).toEqual([grid.width, grid.height, 3]);
    let maxDiff = 0;
    for (let i = 0; i < grid.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(back.data[i]! - Math.min(1, Math.max(0, grid.data[i]!))));
    expect(maxDiff).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    const out = process.env.VIZ_SAMPLE_OUT;
    if (out) {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, png);
    }
  });
});

// ---- sample figure (VIZ_SAMPLE_OUT=docs/viz-sample.png npx vitest run test/viz.test.ts) ----

/** a coat-like silhouette on black, 28×28: body, sloped shoulders, sleeves, V-neck, buttons */
function syntheticCoat(): Float32Array {
  const img = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const d = Math.abs(x - 13.5);
      const shoulders = y >= 3 && y <= 7 && d <= 12.5 - (7 - y) * 1.6;
      const body = y >= 3 && y <= 25 && d <= 7.5;
      const sleeve = y >= 6 && y <= 23 && d >= 8.5 && d <= 12.5 - (y - 6) * 0.08;
      const vneck = y <= 11 && d < (11 - y) * 0.45;
      let v = shoulders || body || sleeve ? 0.72 + 0.1 * Math.sin(x * 1.3 + y * 0.4) : 0;
      if (vneck) v = 0;
      if (d < 0.6 && y > 11 && y % 4 === 0) v = 0.3; // buttons
      if (d < 0.6 && y > 11 && y % 4 !== 0) v *= 0.8; // placket
      img[y * 28 + x] = v;
    }
  }
  return img;
}

/** a 56×56 RGB scene: sky gradient, green ground, orange disc */
function syntheticScene(): Float32Array {
  const n = 56;
  const img = new Float32Array(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const o = 3 * (y * n + x);
      let c: [number, number, number] = y < 38 ? [0.45 + (0.3 * y) / 38, 0.65 + (0.2 * y) / 38, 0.95] : [0.25, 0.55 - (y - 38) * 0.01, 0.2];
      if ((x - 20) ** 2 + (y - 24) ** 2 < 100) c = [0.95, 0.55, 0.15];
      img.set(c, o);
    }
  }
  return img;
}

/** a w×h Gaussian bump centred at (cx, cy) in map pixel units */
function gaussMap(w: number, h: number, cx: number, cy: number, sigma: number): Float32Array {
  return normalizeMap(Float32Array.from({ length: w * h }, (_, i) => Math.exp(-(((i % w) - cx) ** 2 + (Math.floor(i / w) - cy) ** 2) / (2 * sigma * sigma))));
}

function sampleGrid(): RgbImage {
  const coat = syntheticCoat();
  const scene = syntheticScene();
  const benign = gaussMap(7, 7, 3.2, 3.5, 1.4);
  const adv = gaussMap(7, 7, 1, 5.5, 1.1);
  const sceneMap = gaussMap(14, 14, 5, 6, 2.2);
  const rgb = (x: RgbImage): Pick<Cell, 'image' | 'width' | 'height' | 'channels'> => ({ image: x.data, width: x.width, height: x.height, channels: 3 });
  return composeGrid({
    title: 'ADV² figure sample (synthetic)',
    colLabels: ['input', 'benign map', 'adversarial map'],
    rowLabels: ['Fashion\n28×28', 'RGB\n56×56'],
    legend: { label: 'attribution', low: 'low', high: 'high' },
    rows: [
      [
        { image: coat, width: 28, height: 28, channels: 1, caption: 'pred: Coat 0.98', boxes: [[2, 4, 26, 26]] },
        { ...rgb(heatmapOverlay(coat, 28, 28, 1, benign, 7, 7, { alpha: 0.55 })), caption: 'Grad-CAM 7×7' },
        { ...rgb(heatmapOverlay(coat, 28, 28, 1, adv, 7, 7, { alpha: 0.55 })), caption: 'L1 0.05  IoU 0.71' },
      ],
      [
        { image: scene, width: 56, height: 56, channels: 3, caption: 'pred: Orange 87.5%', boxes: [[10, 14, 30, 34]], boxColor: [1, 1, 1] },
        { ...rgb(heatmap(sceneMap, 14, 14, 4)), caption: 'heatmap 14×14 (nearest)' },
        { ...rgb(heatmapOverlay(scene, 56, 56, 3, sceneMap, 14, 14, { alpha: 0.6, colormap: 'viridis' })), caption: 'viridis, alpha 0.6' },
      ],
    ],
  });
}
