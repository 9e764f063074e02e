/**
 * Plain-text matrices as the LRP Toolbox's data_io reads and writes them (numpy
 * loadtxt/savetxt style): one row per line, values separated by whitespace; empty lines and
 * '#' comments are skipped. Numbers use Python's float() syntax. Errors name the line.
 */
import * as fs from 'fs';
import { CaffeLrpError } from '../errors';
import { formatPyFloat, parsePyFloat } from './pyfloat';
import { readInputFile } from './read-file';

export interface TextMatrix {
  /** [rows, columns] */
  shape: [number, number];
  /** rows x columns values, row-major. */
  data: Float64Array;
}

export function parseTextMatrix(text: string, file = '<text>'): TextMatrix {
  const rows: number[][] = [];
  let columns = -1;
  let firstLine = 0;
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const tokens: { text: string; column: number }[] = [];
    const re = /\S+/g;
    for (let m = re.exec(line); m; m = re.exec(line)) tokens.push({ text: m[0], column: raw.indexOf(line) + m.index + 1 });
    if (columns < 0) {
      columns = tokens.length;
      firstLine = i + 1;
    } else if (tokens.length !== columns) {
      throw new CaffeLrpError('PARSE', `row has ${tokens.length} values, but the row on line ${firstLine} has ${columns}`, { file, line: i + 1 });
    }
    rows.push(tokens.map((t) => {
      const v = parsePyFloat(t.text);
      if (v === undefined) throw new CaffeLrpError('PARSE', `'${t.text}' is not a number`, { file, line: i + 1, column: t.column });
      return v;
    }));
  });
  if (rows.length === 0) throw new CaffeLrpError('PARSE', 'the file holds no values', { file });
  const data = new Float64Array(rows.length * columns);
  rows.forEach((r, i) => data.set(r, i * columns));
  return { shape: [rows.length, columns], data };
}

export async function readTextMatrix(file: string): Promise<TextMatrix> {
  return parseTextMatrix((await readInputFile(file)).toString('latin1'), file);
}

/** One row per line, shortest round-trip numbers (float32 arrays: float32-shortest). */
export function formatTextMatrix(data: ArrayLike<number>, shape: [number, number] | [number]): string {
  const [rows, columns = 1] = shape;
  if (rows * columns !== data.length)
    throw new CaffeLrpError('SHAPE', `text matrix: shape ${shape.join('x')} does not hold ${data.length} values`);
  const float32 = data instanceof Float32Array;
  const lines: string[] = [];
  for (let r = 0; r < rows; ++r) {
    const parts: string[] = [];
    for (let c = 0; c < columns; ++c) parts.push(formatPyFloat(data[r * columns + c], float32));
    lines.push(parts.join(' '));
  }
  return lines.join('\n') + '\n';
}

export async function writeTextMatrix(file: string, data: ArrayLike<number>, shape: [number, number] | [number]): Promise<void> {
  const text = formatTextMatrix(data, shape);
  try {
    await fs.promises.writeFile(file, text, 'latin1');
  } catch (e) {
    throw new CaffeLrpError('IO', `cannot write: ${(e as Error).message}`, { file });
  }
}
