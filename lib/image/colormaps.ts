/**
 * Colour maps for the heatmap PNG. A relevance map is first reduced to one value per pixel
 * (the mean over channels, as the original demonstrator does, behaviour spec §5.12), then
 * coloured.
 *
 * - 'blue-black-yellow' is the original demonstrator's map: positive values black→yellow,
 *   negative black→blue, normalised by the largest POSITIVE value (as the original).
 *   Contract §2 departures: colours are clamped to [0,1] (the original let strong negative
 *   values exceed 1, which wrapped around in the 16-bit PNG), and a map without positive
 *   evidence is normalised by max|v| instead of coming out all black.
 * - 'gray-red' and 'black-firered' are the LRP Toolbox's python maps of the same names;
 *   'seismic', 'bwr', 'jet', 'afmhot' are matplotlib's. All of these are normalised by
 *   max|v| so that v/max|v| lies in [-1, 1] (the toolbox's gray-red used max(v), which breaks
 *   for maps without positive values; one normaliser for every symmetric map is simpler).
 *   The matplotlib maps then see (t + 1) / 2 in [0, 1] and, like matplotlib, look the colour
 *   up in a 256-entry table.
 */
import { Heatmap } from '../heatmap';

export const COLORMAP_NAMES = ['blue-black-yellow', 'gray-red', 'black-firered', 'seismic', 'bwr', 'jet', 'afmhot'] as const;
export type ColormapName = (typeof COLORMAP_NAMES)[number];

/** Mean over channels per pixel, as the original demonstrator (§5.12). Float64 to keep the sum exact-ish. */
export function channelMean(hm: Heatmap): Float64Array {
  const plane = hm.height * hm.width;
  const out = new Float64Array(plane);
  for (let c = 0; c < hm.channels; c++) {
    const off = c * plane;
    for (let p = 0; p < plane; p++) out[p] += hm.data[off + p];
  }
  for (let p = 0; p < plane; p++) out[p] /= hm.channels;
  return out;
}

/** Colours for every pixel: height*width*3 interleaved RGB in [0, 1]. */
export function colorize(hm: Heatmap, name: ColormapName = 'blue-black-yellow'): Float64Array {
  const v = channelMean(hm);
  if (name === 'blue-black-yellow') return blueBlackYellow(v);
  let maxAbs = 0;
  for (const x of v) if (Math.abs(x) > maxAbs) maxAbs = Math.abs(x);
  // NaN relevance: maxAbs stays as the finite maximum; NaN pixels end up at t = 0 below.
  const scale = maxAbs > 0 && Number.isFinite(maxAbs) ? 1 / maxAbs : 0;
  const out = new Float64Array(v.length * 3);
  const color: (t: number, rgb: Float64Array, at: number) => void =
    name === 'gray-red' ? grayRed : name === 'black-firered' ? blackFirered : matplotlib(name);
  for (let p = 0; p < v.length; p++) {
    const t = Number.isNaN(v[p]) ? 0 : clamp(v[p] * scale, -1, 1);
    color(t, out, 3 * p);
  }
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function blueBlackYellow(v: Float64Array): Float64Array {
  let maxPos = 0;
  let maxAbs = 0;
  for (const x of v) {
    if (x > maxPos) maxPos = x;
    if (Math.abs(x) > maxAbs) maxAbs = Math.abs(x);
  }
  const m = maxPos > 0 ? maxPos : maxAbs; // contract §2: fall back to max|v| without positive evidence
  const out = new Float64Array(v.length * 3);
  if (!(m > 0) || !Number.isFinite(m)) return out; // all zero (or non-finite): black
  for (let p = 0; p < v.length; p++) {
    const x = v[p] / m;
    if (x >= 0) {
      const y = clamp(x, 0, 1);
      out[3 * p] = y;
      out[3 * p + 1] = y;
    } else if (x < 0) {
      out[3 * p + 2] = clamp(-x, 0, 1);
    } // NaN: black
  }
  return out;
}

/** LRP Toolbox 'gray-red': grey 0.8 background, towards red for t > 0 and towards blue for t < 0. */
function grayRed(t: number, rgb: Float64Array, at: number): void {
  const g = 0.8;
  if (t < 0) {
    rgb[at] = g + t * g;
    rgb[at + 1] = g + t * g;
    rgb[at + 2] = g - t * (1 - g);
  } else {
    rgb[at] = g + t * (1 - g);
    rgb[at + 1] = g - t * g;
    rgb[at + 2] = g - t * g;
  }
}

/** LRP Toolbox 'black-firered': black → red → yellow → white for t > 0, black → blue → cyan → white for t < 0. */
function blackFirered(t: number, rgb: Float64Array, at: number): void {
  const ramp = (x: number, start: number, width: number) => clamp(x - start, 0, width) / width;
  rgb[at] = ramp(t, 0, 0.25) + ramp(-t, 0.5, 0.5);
  rgb[at + 1] = ramp(t, 0.25, 0.25) + ramp(-t, 0.25, 0.25);
  rgb[at + 2] = ramp(t, 0.5, 0.5) + ramp(-t, 0, 0.25);
}

/** Piecewise-linear channel: [x, y] anchor points with x ascending from 0 to 1. */
type Segments = [number, number][];

/**
 * matplotlib's segment data (anchor positions and values, channel by channel). seismic and
 * bwr are matplotlib's evenly spaced colour lists; afmhot is its functional map
 * (2x, 2x - 0.5, 2x - 1, clipped), exactly piecewise linear, so written as anchors too.
 */
const MPL: Record<'seismic' | 'bwr' | 'jet' | 'afmhot', [Segments, Segments, Segments]> = {
  jet: [
    [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
    [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
    [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
  ],
  seismic: [
    [[0, 0], [0.25, 0], [0.5, 1], [0.75, 1], [1, 0.5]],
    [[0, 0], [0.25, 0], [0.5, 1], [0.75, 0], [1, 0]],
    [[0, 0.3], [0.25, 1], [0.5, 1], [0.75, 0], [1, 0]],
  ],
  bwr: [
    [[0, 0], [0.5, 1], [1, 1]],
    [[0, 0], [0.5, 1], [1, 0]],
    [[0, 1], [0.5, 1], [1, 0]],
  ],
  afmhot: [
    [[0, 0], [0.5, 1], [1, 1]],
    [[0, 0], [0.25, 0], [0.75, 1], [1, 1]],
    [[0, 0], [0.5, 0], [1, 1]],
  ],
};

const LUT_SIZE = 256; // matplotlib's default colormap resolution
const lutCache = new Map<string, Float64Array>();

function interp(seg: Segments, x: number): number {
  for (let i = 1; i < seg.length; i++) {
    const [x1, y1] = seg[i];
    if (x <= x1) {
      const [x0, y0] = seg[i - 1];
      return x1 === x0 ? y1 : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return seg[seg.length - 1][1];
}

function lut(name: keyof typeof MPL): Float64Array {
  let table = lutCache.get(name);
  if (!table) {
    table = new Float64Array(LUT_SIZE * 3);
    for (let i = 0; i < LUT_SIZE; i++) {
      const x = i / (LUT_SIZE - 1);
      for (let c = 0; c < 3; c++) table[3 * i + c] = clamp(interp(MPL[name][c], x), 0, 1);
    }
    lutCache.set(name, table);
  }
  return table;
}

function matplotlib(name: string): (t: number, rgb: Float64Array, at: number) => void {
  const table = lut(name as keyof typeof MPL);
  return (t, rgb, at) => {
    // matplotlib: x in [0,1] → entry floor(x * N), with x == 1 mapped to the last entry.
    const x = (t + 1) / 2;
    const i = Math.min(LUT_SIZE - 1, Math.max(0, Math.floor(x * LUT_SIZE)));
    rgb[at] = table[3 * i];
    rgb[at + 1] = table[3 * i + 1];
    rgb[at + 2] = table[3 * i + 2];
  };
}
