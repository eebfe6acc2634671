/**
 * A tiny built-in bitmap font and text drawing (browser-safe, no tfjs, no canvas API).
 *
 * Glyphs are 5×9 pixel cells: 7 rows for capitals, digits and ascenders (rows 0–6, baseline under
 * row 6) and 2 rows for descenders (g j p q y , ;). Each glyph advances 6 pixels (5 + 1 spacing) and
 * lines are 11 pixels apart, all multiplied by the integer `scale`. Covers printable ASCII (32–126)
 * plus ² ³ × ° ± µ … ε λ · − →; anything else is drawn as '?'. The shapes follow the classic 5×7
 * LCD font, with true descenders and a few redrawn glyphs.
 */
import type { Rgb, RgbImage } from './image.js';
import { fillRect, VizError } from './image.js';

export const GLYPH_WIDTH = 5;
/** cell height including the 2 descender rows */
export const GLYPH_HEIGHT = 9;
/** rows above the baseline (capital height) */
export const GLYPH_ASCENT = 7;
/** horizontal advance per character at scale 1 (glyph + 1 pixel spacing) */
export const GLYPH_ADVANCE = 6;
/** distance between baselines at scale 1 */
export const LINE_HEIGHT = 11;

/**
 * Each block: the characters, then GLYPH_HEIGHT rows of space-separated 5-pixel glyph rows
 * ('#' = ink) in the same order.
 */
const FONT_ART: readonly (readonly string[])[] = [
  [
    ' !"#$%&\'()*+,-./',
    '..... ..#.. .#.#. .#.#. ..#.. ##... .##.. .##.. ...#. .#... ..... ..... ..... ..... ..... .....',
    '..... ..#.. .#.#. .#.#. .#### ##..# #..#. ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..... ..... ....#',
    '..... ..#.. .#.#. ##### #.#.. ...#. #.#.. .#... ..#.. ..#.. #.#.# ..#.. ..... ..... ..... ...#.',
    '..... ..#.. ..... .#.#. .###. ..#.. .#... ..... .#... ...#. .###. ##### ..... ##### ..... ..#..',
    '..... ..#.. ..... ##### ..#.# .#... #.#.# ..... .#... ...#. #.#.# ..#.. ..... ..... ..... .#...',
    '..... ..... ..... .#.#. ####. #..## #..#. ..... .#... ...#. ..#.. ..#.. .##.. ..... .##.. #....',
    '..... ..#.. ..... .#.#. ..#.. ...## .##.# ..... ..#.. ..#.. ..... ..... .##.. ..... .##.. .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ..#.. ..#.. ..... ..... ..#.. ..... ..... .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ...#. .#... ..... ..... .#... ..... ..... .....',
  ],
  [
    '0123456789:;<=>?',
    '.###. ..#.. .###. ##### ...#. ##### ..##. ##### .###. .###. ..... ..... ...#. ..... .#... .###.',
    '#...# .##.. #...# ...#. ..##. #.... .#... ....# #...# #...# .##.. .##.. ..#.. ..... ..#.. #...#',
    '#..## ..#.. ....# ..#.. .#.#. ####. #.... ...#. #...# #...# .##.. .##.. .#... ##### ...#. ....#',
    '#.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.. .###. .#### ..... ..... #.... ..... ....# ...#.',
    '##..# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....# ..... ..... .#... ##### ...#. ..#..',
    '#...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#. .##.. .##.. ..#.. ..... ..#.. .....',
    '.###. .###. ##### .###. ...#. .###. .###. .#... .###. .##.. .##.. .##.. ...#. ..... .#... ..#..',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..#.. ..... ..... ..... .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .#... ..... ..... ..... .....',
  ],
  [
    '@ABCDEFGHIJKLMNO',
    '.###. .###. ####. .###. ###.. ##### ##### .###. #...# .###. ..### #...# #.... #...# #...# .###.',
    '#...# #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.## #...# #...#',
    '....# #...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.# ##..# #...#',
    '.##.# #...# ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.# #.#.# #...#',
    '#.#.# ##### #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...# #..## #...#',
    '#.#.# #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...# #...# #...#',
    '.###. #...# ####. .###. ###.. ##### #.... .#### #...# .###. .##.. #...# ##### #...# #...# .###.',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....',
  ],
  [
    'PQRSTUVWXYZ[\\]^_',
    '####. .###. ####. .#### ##### #...# #...# #...# #...# #...# ##### .###. ..... .###. ..#.. .....',
    '#...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....# .#... #.... ...#. .#.#. .....',
    '#...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. #...# ...#. .#... .#... ...#. #...# .....',
    '####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. .#.#. ..#.. .#... ..#.. ...#. ..... .....',
    '#.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#... .#... ...#. ...#. ..... .....',
    '#.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #.... .#... ....# ...#. ..... .....',
    '#.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. ##### .#... ..... ...#. ..... .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .#... ..... ...#. ..... .....',
    '..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .###. ..... .###. ..... #####',
  ],
  [
    '`abcdefghijklmno',
    '.#... ..... #.... ..... ....# ..... ..##. ..... #.... ..#.. ...#. #.... .##.. ..... ..... .....',
    '..#.. ..... #.... ..... ....# ..... .#..# ..... #.... ..... ..... #.... ..#.. ..... ..... .....',
    '...#. .###. #.##. .###. .##.# .###. .#... .#### #.##. .##.. ..##. #..#. ..#.. ##.#. #.##. .###.',
    '..... ....# ##..# #.... #..## #...# ####. #...# ##..# ..#.. ...#. #.#.. ..#.. #.#.# ##..# #...#',
    '..... .#### #...# #.... #...# ##### .#... #...# #...# ..#.. ...#. ##... ..#.. #.#.# #...# #...#',
    '..... #...# #...# #...# #...# #.... .#... #...# #...# ..#.. ...#. #.#.. ..#.. #...# #...# #...#',
    '..... .#### ####. .###. .#### .###. .#... .#### #...# .###. ...#. #..#. .###. #...# #...# .###.',
    '..... ..... ..... ..... ..... ..... ..... ....# ..... ..... #..#. ..... ..... ..... ..... .....',
    '..... ..... ..... ..... ..... ..... ..... .###. ..... ..... .##.. ..... ..... ..... ..... .....',
  ],
  [
    'pqrstuvwxyz{|}~²',
    '..... ..... ..... ..... .#... ..... ..... ..... ..... ..... ..... ...## ..#.. ##... ..... ###..',
    '..... ..... ..... ..... .#... ..... ..... ..... ..... ..... ..... ..#.. ..#.. ..#.. ..... ..#..',
    '####. .#### #.##. .###. ###.. #...# #...# #...# #...# #...# ##### ..#.. ..#.. ..#.. .#... ###..',
    '#...# #...# ##..# #.... .#... #...# #...# #...# .#.#. #...# ...#. ..#.. ..#.. ..#.. #.#.# #....',
    '#...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. #...# ..#.. .#... ..#.. ...#. ...#. ###..',
    '#...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. #...# .#... ..#.. ..#.. ..#.. ..... .....',
    '####. .#### #.... ####. ..##. .##.# ..#.. .#.#. #...# .#### ##### ..#.. ..#.. ..#.. ..... .....',
    '#.... ....# ..... ..... ..... ..... ..... ..... ..... ....# ..... ..#.. ..#.. ..#.. ..... .....',
    '#.... ....# ..... ..... ..... ..... ..... ..... ..... .###. ..... ...## ..#.. ##... ..... .....',
  ],
  [
    '³×°±µ…ελ·−→',
    '###.. ..... .##.. ..#.. ..... ..... ..... ##... ..... ..... .....',
    '..#.. #...# #..#. ..#.. ..... ..... ..... ..#.. ..... ..... ..#..',
    '.##.. .#.#. .##.. ##### #...# ..... .###. ..#.. ..... ..... ...#.',
    '..#.. ..#.. ..... ..#.. #...# ..... #.... .##.. ..... ..... #####',
    '###.. .#.#. ..... ..#.. #...# ..... .##.. .#.#. .##.. ##### ...#.',
    '..... #...# ..... ..... ##..# ..... #.... #..#. .##.. ..... ..#..',
    '..... ..... ..... ##### #.##. #.#.# .###. #...# ..... ..... .....',
    '..... ..... ..... ..... #.... ..... ..... ..... ..... ..... .....',
    '..... ..... ..... ..... #.... ..... ..... ..... ..... ..... .....',
  ],
];

/** char → GLYPH_HEIGHT row bitmasks (bit 4 = leftmost column) */
let glyphTable: Map<string, Uint8Array> | null = null;

function glyphs(): Map<string, Uint8Array> {
  if (glyphTable !== null) return glyphTable;
  const table = new Map<string, Uint8Array>();
  for (const [chars, ...rows] of FONT_ART) {
    const list = Array.from(chars!);
    if (rows.length !== GLYPH_HEIGHT) throw new VizError(`font block '${chars}': ${rows.length} rows`);
    const parts = rows.map((r) => r.split(' '));
    list.forEach((ch, i) => {
      const bits = new Uint8Array(GLYPH_HEIGHT);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const row = parts[r]![i];
        if (row === undefined || row.length !== GLYPH_WIDTH) throw new VizError(`font glyph '${ch}': bad row ${r}`);
        for (let x = 0; x < GLYPH_WIDTH; x++) if (row[x] === '#') bits[r]! |= 1 << (GLYPH_WIDTH - 1 - x);
      }
      table.set(ch, bits);
    });
  }
  glyphTable = table;
  return table;
}

/** Whether the font has a glyph for the character (else it is drawn as '?'). */
export function hasGlyph(ch: string): boolean {
  return glyphs().has(ch);
}

/** The glyph of a character as GLYPH_HEIGHT strings of '#'/'.' (unknown characters give '?'). */
export function glyphRows(ch: string): string[] {
  const bits = glyphs().get(ch) ?? glyphs().get('?')!;
  return Array.from(bits, (b) => Array.from({ length: GLYPH_WIDTH }, (_, x) => ((b >> (GLYPH_WIDTH - 1 - x)) & 1 ? '#' : '.')).join(''));
}

const checkScale = (scale: number): number => {
  if (!(Number.isInteger(scale) && scale > 0)) throw new VizError(`text scale must be a positive integer, got ${scale}`);
  return scale;
};

const linesOf = (text: string): string[][] => text.split('\n').map((l) => Array.from(l));

export interface TextSize {
  /** widest line's characters × GLYPH_ADVANCE × scale (includes the trailing spacing column) */
  width: number;
  /** ((lines − 1) × LINE_HEIGHT + GLYPH_HEIGHT) × scale; 0 for the empty string */
  height: number;
}

/** The box drawText fills for `text` ('\n' separates lines). */
export function measureText(text: string, scale = 1): TextSize {
  checkScale(scale);
  if (text.length === 0) return { width: 0, height: 0 };
  const lines = linesOf(text);
  const chars = Math.max(...lines.map((l) => l.length));
  return { width: chars * GLYPH_ADVANCE * scale, height: ((lines.length - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale };
}

export interface TextOptions {
  /** default near-black [0.1, 0.1, 0.1] */
  color?: Rgb;
  /** integer pixel size multiplier; default 1 */
  scale?: number;
  /** horizontal alignment of lines within the text box (x is always its left edge); default 'left' */
  align?: 'left' | 'center' | 'right';
}

/**
 * Draw text with the top-left corner of its box at (x, y) (the box is measureText's; lines are
 * separated by '\n'). Only ink pixels are painted, clipped to the canvas. Returns the box size.
 */
export function drawText(canvas: RgbImage, x: number, y: number, text: string, opts: TextOptions = {}): TextSize {
  const scale = checkScale(opts.scale ?? 1);
  const color = opts.color ?? [0.1, 0.1, 0.1];
  const size = measureText(text, scale);
  const table = glyphs();
  const fallback = table.get('?')!;
  const ox = Math.round(x);
  const oy = Math.round(y);
  linesOf(text).forEach((line, li) => {
    const lineW = line.length * GLYPH_ADVANCE * scale;
    const shift = opts.align === 'center' ? Math.floor((size.width - lineW) / 2) : opts.align === 'right' ? size.width - lineW : 0;
    const top = oy + li * LINE_HEIGHT * scale;
    line.forEach((ch, ci) => {
      const bits = table.get(ch) ?? fallback;
      const left = ox + shift + ci * GLYPH_ADVANCE * scale;
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const b = bits[r]!;
        if (b === 0) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if ((b >> (GLYPH_WIDTH - 1 - c)) & 1) fillRect(canvas, left + c * scale, top + r * scale, left + (c + 1) * scale, top + (r + 1) * scale, color);
        }
      }
    });
  });
  return size;
}

/**
 * Greedy word wrap: break lines at spaces so each line's ink (characters × advance − spacing) fits
 * in maxWidth pixels. Existing '\n' breaks are kept; a single word wider than maxWidth stays whole.
 */
export function wrapText(text: string, maxWidth: number, scale = 1): string {
  checkScale(scale);
  const maxChars = Math.max(1, Math.floor((maxWidth + scale) / (GLYPH_ADVANCE * scale)));
  return text
    .split('\n')
    .map((line) => {
      const out: string[] = [];
      let cur = '';
      for (const word of line.split(' ')) {
        const next = cur.length === 0 ? word : `${cur} ${word}`;
        if (Array.from(next).length <= maxChars || cur.length === 0) cur = next;
        else {
          out.push(cur);
          cur = word;
        }
      }
      out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}
