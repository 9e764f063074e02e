/**
 * A minimal bounds-checked protobuf wire-format walker. We walk .caffemodel files
 * ourselves (instead of letting protobufjs decode everything) so that packed float blob
 * data never becomes a JS number array, and so that truncated or corrupt input always
 * ends in a CaffeLrpError('DECODE') naming the byte offset instead of a RangeError.
 */
import { CaffeLrpError } from '../errors';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_FIXED32 = 5;

/** What an error message should name besides the byte offset. */
export interface WireContext {
  file: string;
  layer?: string;
}

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    readonly ctx: WireContext,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string, offset = this.pos): never {
    throw new CaffeLrpError('DECODE', `${message} at byte offset ${offset}`, {
      file: this.ctx.file,
      layer: this.ctx.layer,
    });
  }

  /**
   * Reads a varint as a JS number. Values above 2^53 lose precision, which is fine:
   * every caller treats such values as out of range anyway.
   */
  varint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return this.fail('malformed varint (more than 10 bytes)', start);
  }

  /** A varint that must fit a non-negative int32 (legacy blob dims, lengths). */
  smallUint(what: string): number {
    const start = this.pos;
    const v = this.varint();
    if (v > 0x7fffffff) this.fail(`${what} out of range (${v})`, start);
    return v;
  }

  /** Reads a field key; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const start = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0 || field > 536870911) this.fail(`invalid field number ${field}`, start);
    return [field, wire];
  }

  /** Reads a length prefix and returns the [start, end) range of the payload. */
  lengthDelimited(): [number, number] {
    const at = this.pos;
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) {
      this.fail(`length ${len} runs past the end of the enclosing data (${this.end - start} bytes left)`, at);
    }
    this.pos = start + len;
    return [start, start + len];
  }

  /** Skips one field value of the given wire type. Groups are not used by Caffe. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
  }

  advance(n: number): number {
    const start = this.pos;
    if (n > this.end - start) this.fail(`truncated value (${n} bytes needed, ${this.end - start} left)`);
    this.pos += n;
    return start;
  }
}

/** Size of v encoded as a varint (v is a non-negative safe integer). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes v as a varint at pos; returns the new position. */
export function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 128) {
    out[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}
