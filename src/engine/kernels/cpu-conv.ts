/**
 * Register-tiled JS loops for the cpu backend (plain JS has no SIMD: the gain over the stock
 * kernels comes from keeping a tile of accumulators in registers, fewer loads per multiply-add
 * and no bounds tests in the inner loops, the inputs being padded copies).
 */
import type { Float } from './io.js';

/** A zero-padded NHWC copy: rows [r0, r0 + rn) and cols [c0, c0 + cn) of src, with padding around. */
export function padNHWC(
  src: Float, n: number, h: number, w: number, c: number,
  r0: number, rn: number, c0: number, cn: number,
  top: number, bottom: number, left: number, right: number,
): { data: Float; h: number; w: number } {
  const ph = rn + top + bottom;
  const pw = cn + left + right;
  const data = new Float32Array(n * ph * pw * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < rn; i++) {
      const s = ((b * h + r0 + i) * w + c0) * c;
      data.set(src.subarray(s, s + cn * c), ((b * ph + top + i) * pw + left) * c);
    }
  }
  return { data, h: ph, w: pw };
}

/**
 * Valid stride-1 correlation of a padded input [n, hp, wp, C] with filter [th, tw, C, O] (HWIO),
 * output pixel (i, j) written to out at ((b*H + r0 + sr*i)*W + q0 + sq*j)*O (so a phase of a
 * strided result can be written in place). Output size (hp - th + 1) x (wp - tw + 1).
 */
export function convValid(
  inp: Float, n: number, hp: number, wp: number, C: number,
  f: Float, th: number, tw: number, O: number,
  out: Float, H: number, W: number, r0: number, q0: number, sr: number, sq: number,
): void {
  const oh = hp - th + 1;
  const ow = wp - tw + 1;
  const O4 = O - (O % 4);
  const rowStride = wp * C;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const inRow = (b * hp + i) * rowStride;
      const outRow = (b * H + r0 + sr * i) * W + q0;
      let j = 0;
      // two output pixels at a time
      for (; j + 1 < ow; j += 2) {
        const o0 = (outRow + sq * j) * O;
        const o1 = (outRow + sq * (j + 1)) * O;
        for (let o = 0; o < O4; o += 4) {
          let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
          for (let y = 0; y < th; y++) {
            let p = inRow + y * rowStride + j * C;
            let q = y * tw * C * O + o;
            for (let z = 0; z < tw; z++) {
              for (let c = 0; c < C; c++, p++, q += O) {
                const x0 = inp[p]!;
                const x1 = inp[p + C]!;
                const f0 = f[q]!, f1 = f[q + 1]!, f2 = f[q + 2]!, f3 = f[q + 3]!;
                a00 += x0 * f0; a01 += x0 * f1; a02 += x0 * f2; a03 += x0 * f3;
                a10 += x1 * f0; a11 += x1 * f1; a12 += x1 * f2; a13 += x1 * f3;
              }
            }
          }
          out[o0 + o] = a00; out[o0 + o + 1] = a01; out[o0 + o + 2] = a02; out[o0 + o + 3] = a03;
          out[o1 + o] = a10; out[o1 + o + 1] = a11; out[o1 + o + 2] = a12; out[o1 + o + 3] = a13;
        }
        for (let o = O4; o < O; o++) {
          let a0 = 0, a1 = 0;
          for (let y = 0; y < th; y++) {
            let p = inRow + y * rowStride + j * C;
            let q = y * tw * C * O + o;
            for (let z = 0; z < tw; z++) {
              for (let c = 0; c < C; c++, p++, q += O) {
                a0 += inp[p]! * f[q]!;
                a1 += inp[p + C]! * f[q]!;
              }
            }
          }
          out[o0 + o] = a0;
          out[o1 + o] = a1;
        }
      }
      for (; j < ow; j++) {
        const o0 = (outRow + sq * j) * O;
        for (let o = 0; o < O; o++) {
          let a0 = 0;
          for (let y = 0; y < th; y++) {
            let p = inRow + y * rowStride + j * C;
            let q = y * tw * C * O + o;
            for (let z = 0; z < tw; z++) {
              for (let c = 0; c < C; c++, p++, q += O) a0 += inp[p]! * f[q]!;
            }
          }
          out[o0 + o] = a0;
        }
      }
    }
  }
}

/**
 * Filter gradient: acc[y, z, c, o] += sum over (b, i, j) of xp[b, i*sh + y, j*sw + z, c] * dy[b, i, j, o],
 * xp the padded input [n, hp, wp, C] (padding top/left already applied), dy [n, oh, ow, O].
 * Tiles of 4 input x 4 output channels; the pixels are processed in blocks that stay in cache.
 */
export function filterGrad(
  xp: Float, n: number, hp: number, wp: number, C: number,
  dy: Float, oh: number, ow: number, O: number,
  kh: number, kw: number, sh: number, sw: number, acc: Float64Array,
): void {
  const C4 = C - (C % 4);
  const O4 = O - (O % 4);
  const pixels = n * oh * ow;
  const BLOCK = 256;
  const xoff = new Int32Array(BLOCK);
  for (let m0 = 0; m0 < pixels; m0 += BLOCK) {
    const m1 = Math.min(pixels, m0 + BLOCK);
    // input offset of each pixel's window corner
    for (let m = m0; m < m1; m++) {
      const b = Math.floor(m / (oh * ow));
      const r = m - b * oh * ow;
      const i = Math.floor(r / ow);
      const j = r - i * ow;
      xoff[m - m0] = ((b * hp + i * sh) * wp + j * sw) * C;
    }
    for (let y = 0; y < kh; y++) {
      for (let z = 0; z < kw; z++) {
        const shift = (y * wp + z) * C;
        const tap = (y * kw + z) * C * O;
        for (let c = 0; c < C; c += 4) {
          const cn = Math.min(4, C - c);
          for (let o = 0; o < O; o += 4) {
            const on = Math.min(4, O - o);
            if (c < C4 && o < O4) {
              let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
              let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
              for (let m = m0; m < m1; m++) {
                const p = xoff[m - m0]! + shift + c;
                const d = m * O + o;
                const x0 = xp[p]!, x1 = xp[p + 1]!, x2 = xp[p + 2]!, x3 = xp[p + 3]!;
                const d0 = dy[d]!, d1 = dy[d + 1]!, d2 = dy[d + 2]!, d3 = dy[d + 3]!;
                a00 += x0 * d0; a01 += x0 * d1; a02 += x0 * d2; a03 += x0 * d3;
                a10 += x1 * d0; a11 += x1 * d1; a12 += x1 * d2; a13 += x1 * d3;
                a20 += x2 * d0; a21 += x2 * d1; a22 += x2 * d2; a23 += x2 * d3;
                a30 += x3 * d0; a31 += x3 * d1; a32 += x3 * d2; a33 += x3 * d3;
              }
              const t = tap + c * O + o;
              acc[t]! += a00; acc[t + 1]! += a01; acc[t + 2]! += a02; acc[t + 3]! += a03;
              acc[t + O]! += a10; acc[t + O + 1]! += a11; acc[t + O + 2]! += a12; acc[t + O + 3]! += a13;
              acc[t + 2 * O]! += a20; acc[t + 2 * O + 1]! += a21; acc[t + 2 * O + 2]! += a22; acc[t + 2 * O + 3]! += a23;
              acc[t + 3 * O]! += a30; acc[t + 3 * O + 1]! += a31; acc[t + 3 * O + 2]! += a32; acc[t + 3 * O + 3]! += a33;
            } else {
              for (let cc = 0; cc < cn; cc++) {
                for (let oo = 0; oo < on; oo++) {
                  let a = 0;
                  for (let m = m0; m < m1; m++) a += xp[xoff[m - m0]! + shift + c + cc]! * dy[m * O + o + oo]!;
                  acc[tap + (c + cc) * O + o + oo]! += a;
                }
              }
            }
          }
        }
      }
    }
  }
}
