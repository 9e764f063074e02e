/**
 * Mean images: Caffe's .binaryproto (a BlobProto with legacy dims or a shape, float or
 * double data) and the LRP demonstrator's plain-text mean format (behaviour spec §5.6).
 * Both come back as one row-major C×H×W Float32Array in the file's channel order; how a
 * mean is applied (channel order, the original's transposition quirk) is the caller's
 * business.
 */
import { CaffeLrpError } from '../errors';
import { decodeBlobProtoFile } from './caffemodel';

export interface MeanImage {
  channels: number;
  height: number;
  width: number;
  /** Row-major C×H×W: data[(c * height + h) * width + w]. */
  data: Float32Array;
}

export type MeanFormat = 'binaryproto' | 'text';

/** A BlobProto mean: N must be 1 (or absent), dims (1,)C,H,W. */
export function parseBinaryprotoMean(buf: Uint8Array, file = '<mean.binaryproto>'): MeanImage {
  let blob;
  try {
    blob = decodeBlobProtoFile(buf, file);
  } catch (e) {
    // A text mean read as binaryproto fails deep in the wire format; say what it is instead.
    if (e instanceof CaffeLrpError && looksLikeText(buf)) {
      throw new CaffeLrpError(
        'DECODE',
        'this looks like a text mean (numbers and spaces), not a binaryproto: read it as text ' +
          "(config: use_mean_file_asbinaryprotoblob 0; API: meanFormat 'text')",
        { file },
      );
    }
    throw e;
  }
  const s = blob.shape;
  const dims = s.length === 4 ? s : s.length === 3 ? [1, ...s] : undefined;
  if (!dims) {
    throw new CaffeLrpError('SHAPE', `a mean blob must be 3-D (C, H, W) or 4-D (1, C, H, W), got shape [${s.join(', ')}]`, { file });
  }
  const [n, channels, height, width] = dims;
  if (n !== 1) throw new CaffeLrpError('SHAPE', `a mean blob must hold one image, got ${n} (shape [${s.join(', ')}])`, { file });
  if (channels < 1 || height < 1 || width < 1) {
    throw new CaffeLrpError('SHAPE', `the mean blob is empty (shape [${s.join(', ')}])`, { file });
  }
  checkFiniteMean(blob.data, channels, height, width, file);
  return { channels, height, width, data: blob.data };
}

/** A NaN or Inf in a mean would make every input non-finite: name the first one. */
function checkFiniteMean(data: Float32Array, channels: number, height: number, width: number, file: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const c = Math.floor(i / (height * width));
      const h = Math.floor(i / width) % height;
      throw new CaffeLrpError('NONFINITE', `the mean has ${data[i]} at channel ${c}, row ${h}, column ${i % width} (of ${channels}x${height}x${width})`, { file });
    }
  }
}

/**
 * The original's text mean: whitespace-separated C, H, W, then for each channel, for each
 * column w, for each row h, one value (column-major per channel). Converted to row-major.
 */
export function parseTextMean(text: string, file = '<mean.txt>'): MeanImage {
  const tokens = tokenize(text);
  const header = tokens.slice(0, 3).map((t) => dimension(t, file));
  if (header.length < 3) {
    throw new CaffeLrpError('PARSE', `a text mean starts with three positive integers C H W, found ${header.length}`, { file, line: lastLine(tokens) });
  }
  const [channels, height, width] = header;
  const needed = channels * height * width;
  const values = tokens.slice(3);
  if (values.length !== needed) {
    const at = values.length > needed ? values[needed] : tokens[tokens.length - 1];
    throw new CaffeLrpError(
      'PARSE',
      `a ${channels}x${height}x${width} text mean needs ${needed} values after the header, found ${values.length}`,
      { file, line: at.line, column: at.column },
    );
  }
  const data = new Float32Array(needed);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let w = 0; w < width; w++) {
      for (let h = 0; h < height; h++) data[(c * height + h) * width + w] = value(values[k++], file);
    }
  }
  return { channels, height, width, data };
}

/**
 * Parses a mean file. Without a format, text is recognised by its content (only digits,
 * signs, dots, exponents and whitespace), anything else is decoded as binaryproto.
 */
export function parseMean(buf: Uint8Array, file: string, format?: MeanFormat): MeanImage {
  const f = format ?? (looksLikeText(buf) ? 'text' : 'binaryproto');
  return f === 'text' ? parseTextMean(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'), file) : parseBinaryprotoMean(buf, file);
}

function looksLikeText(buf: Uint8Array): boolean {
  if (!buf.length) return false;
  const n = Math.min(buf.length, 4096);
  for (let i = 0; i < n; i++) {
    const ch = String.fromCharCode(buf[i]);
    if (!/[0-9eE+\-.\s]/.test(ch)) return false;
  }
  return true;
}

interface Token {
  text: string;
  line: number;
  column: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  text.split(/\r?\n|\r/).forEach((lineText, i) => {
    for (const m of lineText.matchAll(/\S+/g)) tokens.push({ text: m[0], line: i + 1, column: (m.index ?? 0) + 1 });
  });
  return tokens;
}

function lastLine(tokens: Token[]): number | undefined {
  return tokens.length ? tokens[tokens.length - 1].line : undefined;
}

function dimension(t: Token, file: string): number {
  const v = Number(t.text);
  if (!Number.isInteger(v) || v < 1) {
    throw new CaffeLrpError('PARSE', `expected a positive integer dimension, found '${t.text}'`, { file, line: t.line, column: t.column });
  }
  return v;
}

function value(t: Token, file: string): number {
  const v = Number(t.text);
  if (t.text === '' || Number.isNaN(v)) {
    throw new CaffeLrpError('PARSE', `expected a number, found '${t.text}'`, { file, line: t.line, column: t.column });
  }
  if (!Number.isFinite(Math.fround(v))) {
    throw new CaffeLrpError('NONFINITE', `the mean value '${t.text}' is not a finite float32 number`, { file, line: t.line, column: t.column });
  }
  return v;
}
