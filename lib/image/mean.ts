/**
 * How a mean image is read and indexed for preprocessing, as the original demonstrator does
 * it (behaviour spec §5.6, contract §2). Parsing itself is lib/caffe/mean.ts; this module
 * decides the channel order and the row/column lookup, including the original's quirks that
 * `compat` (the config's `caffe_lrp_compat 1`) restores.
 */
import { CaffeLrpError } from '../errors';
import { MeanImage, parseMean } from '../caffe/mean';
import { readInputFileSync } from '../io/read-file';

/** use_mean_file_asbinaryprotoblob: 0 text mean, 1 binaryproto (BGR as Caffe stores it), 2 binaryproto stored RGB. */
export type MeanMode = 0 | 1 | 2;

export interface InputMean {
  image: MeanImage;
  /** 0 text, 1 binaryproto (BGR as Caffe stores it), 2 binaryproto stored RGB. */
  mode: MeanMode;
  /** Name for messages (the path, or '<mean>' for bytes). */
  file: string;
}

/**
 * Reads a mean file. Mode 0 is text, 1 and 2 binaryproto; without a mode the content decides
 * (text → 0, else 1), so a config may leave `use_mean_file_asbinaryprotoblob` out.
 */
export function loadInputMean(file: string, mode?: MeanMode): InputMean {
  return parseInputMean(readInputFileSync(file, 'the mean file'), file, mode);
}

/** As loadInputMean, from the file's bytes. */
export function parseInputMean(buf: Buffer, file: string, mode?: MeanMode): InputMean {
  if (mode !== undefined && mode !== 0 && mode !== 1 && mode !== 2)
    throw new CaffeLrpError('OPTION', `option 'meanMode' (use_mean_file_asbinaryprotoblob) must be 0 (text), 1 (binaryproto) or 2 (binaryproto stored RGB), got ${String(mode)}`);
  const format = mode === undefined ? undefined : mode === 0 ? 'text' : 'binaryproto';
  const image = parseMean(buf, file, format);
  const resolved: MeanMode = mode ?? (looksBinary(buf) ? 1 : 0);
  return { image, mode: resolved, file };
}

function looksBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 4096);
  for (let i = 0; i < n; i++) if (!/[0-9eE+\-.\s]/.test(String.fromCharCode(buf[i]))) return true;
  return buf.length === 0;
}

/**
 * Where the mean value of blob channel c (BGR for 3-channel nets) at mean-image row r, column
 * col is: `data[channelStart[c] + r * rowStride + col * colStride]`. Strides, not a function,
 * so that preprocessing's per-pixel loop walks the mean as plain array reads.
 */
export interface MeanLookup {
  data: Float32Array | Float64Array | number[];
  channelStart: number[];
  rowStride: number;
  colStride: number;
}

/**
 * Checks the mean against the net input (channels, at least S×S — the original's check was
 * dead code, so a small mean read out of bounds) and returns its lookup.
 *
 * Channel order: blob channel c takes mean channel c (modes 0, 1: the file is BGR like the
 * blob) or mean channel C-1-c (mode 2: the file is RGB).
 * Position: by default the stored image as it is (row-major). With compat, a binaryproto
 * mean is indexed as the original did: its row-major plane read as if column-major
 * (`r + c·H`), which transposes a square mean (behaviour §5.6 / quirk 14). Text means are
 * read correctly by the original, so compat changes nothing for them.
 */
export function meanLookup(mean: InputMean, netChannels: number, size: number, compat: boolean): MeanLookup {
  const { channels, height, width, data } = mean.image;
  if (channels !== netChannels) {
    throw new CaffeLrpError('SHAPE', `the mean has ${channels} channel(s) but the net input has ${netChannels}`, { file: mean.file });
  }
  if (height < size || width < size) {
    throw new CaffeLrpError('SHAPE', `the mean is ${height}x${width}, smaller than the ${size}x${size} net input`, { file: mean.file });
  }
  const plane = height * width;
  const reversed = mean.mode === 2;
  const channelStart = Array.from({ length: channels }, (_, c) => (reversed ? channels - 1 - c : c) * plane);
  if (compat && mean.mode !== 0) return { data, channelStart, rowStride: 1, colStride: height };
  return { data, channelStart, rowStride: width, colStride: 1 };
}
