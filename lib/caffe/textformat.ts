/**
 * Protobuf text format ("prototxt") for protobufjs message types. protobufjs only knows
 * the binary and JSON encodings, so this file implements the text format that Caffe's
 * .prototxt files use: a tokenizer, a schema-aware recursive-descent parser, and a printer.
 *
 * The parse result has the shape of protobufjs `type.toObject(msg, { enums: String,
 * longs: Number, defaults: false })` with keepCase field names: only the fields present in
 * the text, repeated fields as arrays, nested messages as plain objects, enums as names.
 *
 * Decisions worth knowing:
 * - A non-repeated field given more than once: the last occurrence wins (for message fields
 *   too: the later message replaces the earlier one, it is not merged). Caffe's C++ parser
 *   would reject such a file; we accept it, consistently.
 * - `float` fields are rounded to float32 (Math.fround), because that is the value Caffe
 *   stores and the value a decoded .caffemodel carries; `double` fields keep full precision.
 * - 64-bit integers become JS numbers, so they must lie within ±Number.MAX_SAFE_INTEGER;
 *   larger values are rejected rather than silently rounded.
 * - `required` fields are not enforced here (the result lists what the text says; the
 *   consumers apply defaults and validate).
 * - Message nesting is limited to MAX_NESTING_DEPTH levels so hostile input cannot blow
 *   the stack; everything else is a single left-to-right pass (linear time).
 */
import * as protobuf from 'protobufjs';
import { CaffeLrpError, CaffeLrpErrorCode } from '../errors';

/** Non-enumerable property on every parsed message: 1-based line where the message starts. */
export const SOURCE_LINE: unique symbol = Symbol('caffe-lrp.sourceLine');

/** Deepest message nesting the parser (and printer) accept. Caffe nets need about 4. */
export const MAX_NESTING_DEPTH = 100;

/** The line recorded by parseTextFormat for a parsed message (undefined for other objects). */
export function sourceLineOf(obj: object): number | undefined {
  return (obj as { [SOURCE_LINE]?: number })[SOURCE_LINE];
}

// ---------------------------------------------------------------------------------------
// Schema view: per-type field tables, computed once per protobufjs Type.
// ---------------------------------------------------------------------------------------

type FieldKind = 'int' | 'float' | 'double' | 'bool' | 'string' | 'bytes' | 'enum' | 'message' | 'map';

interface FieldInfo {
  name: string;
  kind: FieldKind;
  repeated: boolean;
  /** Schema type name for messages ('uint32', 'caffe.BlobShape', ...). */
  typeName: string;
  /** Inclusive range for integer kinds. */
  min: number;
  max: number;
  enumType?: protobuf.Enum;
  messageType?: protobuf.Type;
}

interface TypeInfo {
  fullName: string;
  fields: Map<string, FieldInfo>;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-0x80000000, 0x7fffffff],
  sint32: [-0x80000000, 0x7fffffff],
  sfixed32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  fixed32: [0, 0xffffffff],
  // 64-bit values must stay exact as JS numbers.
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

const typeInfoCache = new WeakMap<protobuf.Type, TypeInfo>();

function displayName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

function typeInfo(type: protobuf.Type): TypeInfo {
  let info = typeInfoCache.get(type);
  if (!info) {
    const fields = new Map<string, FieldInfo>();
    for (const field of type.fieldsArray) fields.set(field.name, fieldInfo(field));
    info = { fullName: displayName(type), fields };
    typeInfoCache.set(type, info);
  }
  return info;
}

function fieldInfo(field: protobuf.Field): FieldInfo {
  field.resolve(); // idempotent; makes resolvedType available even for unresolved roots
  const base = { name: field.name, repeated: field.repeated, typeName: field.type, min: 0, max: 0 };
  if (field.map) return { ...base, kind: 'map' };
  const range = INT_RANGES[field.type];
  if (range) return { ...base, kind: 'int', min: range[0], max: range[1] };
  switch (field.type) {
    case 'float':
    case 'double':
    case 'bool':
    case 'string':
    case 'bytes':
      return { ...base, kind: field.type };
  }
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    return { ...base, kind: 'enum', typeName: displayName(resolved), enumType: resolved };
  }
  if (resolved instanceof protobuf.Type) {
    return { ...base, kind: 'message', typeName: displayName(resolved), messageType: resolved };
  }
  throw new CaffeLrpError('SCHEMA', `field '${field.name}' has unresolvable type '${field.type}'`);
}

function enumNames(e: protobuf.Enum): string[] {
  return Object.keys(e.values);
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

// ---------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------

type TokenKind = 'ident' | 'number' | 'string' | 'symbol' | 'eof';

/**
 * Decoded content of a string literal: runs of source characters and raw bytes from
 * \x / octal escapes. Bytes are kept apart because text-format strings are byte strings
 * (`"\xc3\xa9"` is 'é' in a string field), while the source text is already Unicode.
 */
type StringPiece = string | number;

interface Token {
  kind: TokenKind;
  /** Source text of the token (a string literal includes its quotes). */
  text: string;
  line: number;
  column: number;
  pieces?: StringPiece[];
}

const SYMBOLS = '{}<>[]:,;-+';

// Literal shapes, all anchored and free of nested quantifiers (linear matching).
const DEC_INT = /^(?:0|[1-9][0-9]*)$/;
const HEX_INT = /^0[xX][0-9a-fA-F]+$/;
const OCT_INT = /^0[0-7]+$/;
const FLOAT = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?$/;

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v',
  '\\': '\\', "'": "'", '"': '"', '?': '?',
};

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isOctal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}
function isHex(ch: string | undefined): boolean {
  return ch !== undefined && /^[0-9a-fA-F]$/.test(ch);
}

/** A character as an error message shows it. */
function showChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code >= 0x20 && code < 0x7f ? `'${ch}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A token as an error message shows it (long tokens are shortened). */
function describe(tok: Token): string {
  if (tok.kind === 'eof') return 'end of file';
  const text = tok.text.length > 40 ? `${tok.text.slice(0, 37)}...` : tok.text;
  return tok.kind === 'string' ? text : `'${text}'`;
}

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private ahead: Token | null = null;

  constructor(private readonly src: string, private readonly file: string) {
    if (src.charCodeAt(0) === 0xfeff) this.pos = this.lineStart = 1; // skip a UTF-8 BOM
  }

  peek(): Token {
    if (!this.ahead) this.ahead = this.scan();
    return this.ahead;
  }

  next(): Token {
    const tok = this.peek();
    this.ahead = null;
    return tok;
  }

  fail(message: string, line: number, column: number): never {
    throw new CaffeLrpError('PARSE', message, { file: this.file, line, column });
  }

  private column(pos: number): number {
    return pos - this.lineStart + 1;
  }

  private skipSpaceAndComments(): void {
    const src = this.src;
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) {
        this.pos++;
      } else if (c === 35) {
        // '#' comment to the end of the line; the newline itself is handled above.
        const nl = src.indexOf('\n', this.pos);
        this.pos = nl < 0 ? src.length : nl;
      } else {
        return;
      }
    }
  }

  private scan(): Token {
    this.skipSpaceAndComments();
    const { src, pos, line } = this;
    const column = this.column(pos);
    if (pos >= src.length) return { kind: 'eof', text: '', line, column };
    const c = src.charCodeAt(pos);
    if (isIdentStart(c)) return this.scanWhile(isIdentPart, 'ident');
    if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(pos + 1)))) return this.scanNumber();
    if (c === 34 || c === 39) return this.scanString();
    const ch = src[pos];
    if (SYMBOLS.includes(ch)) {
      this.pos++;
      return { kind: 'symbol', text: ch, line, column };
    }
    return this.fail(`unexpected character ${showChar(String.fromCodePoint(src.codePointAt(pos)!))}`, line, column);
  }

  private scanWhile(pred: (c: number) => boolean, kind: TokenKind): Token {
    const start = this.pos;
    const column = this.column(start);
    let p = start + 1;
    while (p < this.src.length && pred(this.src.charCodeAt(p))) p++;
    this.pos = p;
    return { kind, text: this.src.slice(start, p), line: this.line, column };
  }

  /**
   * A number is the maximal run of letters, digits, '_' and '.', plus a sign right after a
   * decimal exponent's 'e'. Taking the whole run and then checking its shape means that
   * `5abc` or `1.2.3` is one bad token with a clear message, not two surprising tokens.
   */
  private scanNumber(): Token {
    const src = this.src;
    const start = this.pos;
    const hex = src[start] === '0' && (src[start + 1] === 'x' || src[start + 1] === 'X');
    let p = start + 1;
    while (p < src.length) {
      const c = src.charCodeAt(p);
      const prev = src[p - 1];
      const exponentSign = (c === 43 || c === 45) && !hex && (prev === 'e' || prev === 'E');
      if (!(isIdentPart(c) || c === 46 || exponentSign)) break;
      p++;
    }
    const text = src.slice(start, p);
    const column = this.column(start);
    if (!(DEC_INT.test(text) || HEX_INT.test(text) || OCT_INT.test(text) || FLOAT.test(text))) {
      this.fail(`invalid number '${text.length > 40 ? text.slice(0, 37) + '...' : text}'`, this.line, column);
    }
    this.pos = p;
    return { kind: 'number', text, line: this.line, column };
  }

  /** A quoted literal on one line, with C escapes decoded into pieces. */
  private scanString(): Token {
    const src = this.src;
    const start = this.pos;
    const quote = src[start];
    const line = this.line;
    const column = this.column(start);
    const pieces: StringPiece[] = [];
    let runStart = start + 1;
    let p = start + 1;
    for (;;) {
      const ch = src[p];
      if (ch === undefined || ch === '\n') {
        const excerpt = src.slice(start, Math.min(p, start + 20)).replace(/\r$/, '') + (p > start + 20 ? '...' : '');
        const where = ch === undefined ? 'file' : 'line';
        this.fail(`unterminated string literal ${excerpt} (missing closing ${quote} before end of ${where})`, line, column);
      }
      if (ch === quote) break;
      if (ch !== '\\') {
        p++;
        continue;
      }
      if (p > runStart) pieces.push(src.slice(runStart, p));
      p = this.scanEscape(p, pieces);
      runStart = p;
    }
    if (p > runStart) pieces.push(src.slice(runStart, p));
    this.pos = p + 1;
    return { kind: 'string', text: src.slice(start, p + 1), line, column, pieces };
  }

  /** Decodes the escape sequence at `p` (a backslash) into pieces; returns the position after it. */
  private scanEscape(p: number, pieces: StringPiece[]): number {
    const src = this.src;
    const ch = src[p + 1];
    const bad = (what: string): never => this.fail(what, this.line, this.column(p));
    if (ch === undefined || ch === '\n') return bad('unterminated string literal (backslash at end of line)');
    if (hasOwn(SIMPLE_ESCAPES, ch)) {
      pieces.push(SIMPLE_ESCAPES[ch]);
      return p + 2;
    }
    if (isOctal(ch)) {
      let end = p + 2;
      while (end < p + 4 && isOctal(src[end])) end++;
      const value = parseInt(src.slice(p + 1, end), 8);
      if (value > 255) bad(`octal escape '${src.slice(p, end)}' is larger than \\377`);
      pieces.push(value);
      return end;
    }
    if (ch === 'x' || ch === 'X') {
      let end = p + 2;
      while (end < p + 4 && isHex(src[end])) end++;
      if (end === p + 2) bad(`escape '\\${ch}' must be followed by hex digits`);
      pieces.push(parseInt(src.slice(p + 2, end), 16));
      return end;
    }
    if (ch === 'u' || ch === 'U') {
      const digits = ch === 'u' ? 4 : 8;
      const hex = src.slice(p + 2, p + 2 + digits);
      const code = hex.length === digits && /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : -1;
      if (code < 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        bad(`escape '\\${ch}' must be followed by ${digits} hex digits of a Unicode code point`);
      }
      pieces.push(String.fromCodePoint(code));
      return p + 2 + digits;
    }
    return bad(`invalid escape sequence '\\${ch}' in string literal`);
  }
}

// ---------------------------------------------------------------------------------------
// String literal values
// ---------------------------------------------------------------------------------------

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Joins literal pieces into a JS string; escape bytes must form valid UTF-8. Null if not. */
function piecesToText(pieces: StringPiece[]): string | null {
  let out = '';
  let bytes: number[] = [];
  const flush = (): boolean => {
    if (bytes.length === 0) return true;
    try {
      out += utf8Decoder.decode(Uint8Array.from(bytes));
    } catch {
      return false;
    }
    bytes = [];
    return true;
  };
  for (const piece of pieces) {
    if (typeof piece === 'number') {
      bytes.push(piece);
    } else {
      if (!flush()) return null;
      out += piece;
    }
  }
  return flush() ? out : null;
}

function piecesToBytes(pieces: StringPiece[]): Uint8Array {
  const chunks: number[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'number') chunks.push(piece);
    else for (const b of utf8Encoder.encode(piece)) chunks.push(b);
  }
  return Buffer.from(chunks);
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

/** The still-open message whose closing delimiter we expect. */
interface OpenMessage {
  field: string;
  close: '}' | '>';
  line: number;
}

function newMessage(line: number): Record<string, any> {
  const obj: Record<string, any> = {};
  Object.defineProperty(obj, SOURCE_LINE, { value: line, enumerable: false, writable: true, configurable: true });
  return obj;
}

function isSymbol(tok: Token, text: string): boolean {
  return tok.kind === 'symbol' && tok.text === text;
}

/** Parses protobuf text format into a plain object of the given message type. */
export function parseTextFormat(text: string, type: protobuf.Type, file: string): Record<string, any> {
  if (typeof text !== 'string') throw new CaffeLrpError('PARSE', 'prototxt text must be a string', { file });
  const parser = new Parser(new Lexer(text, file), file);
  const obj = newMessage(1);
  parser.parseBody(obj, typeInfo(type), null, 0);
  return obj;
}

class Parser {
  constructor(private readonly lx: Lexer, private readonly file: string) {}

  private fail(code: CaffeLrpErrorCode, message: string, tok: Token): never {
    throw new CaffeLrpError(code, message, { file: this.file, line: tok.line, column: tok.column });
  }

  /** Fields up to the closing delimiter of `open`, or to the end of the file at the top level. */
  parseBody(obj: Record<string, any>, info: TypeInfo, open: OpenMessage | null, depth: number): void {
    for (;;) {
      const tok = this.lx.next();
      if (tok.kind === 'eof') {
        if (open) {
          this.fail('PARSE', `unexpected end of file: '${open.field}' opened at line ${open.line} is missing its closing '${open.close}'`, tok);
        }
        return;
      }
      if (isSymbol(tok, '}') || isSymbol(tok, '>')) {
        if (open && tok.text === open.close) return;
        if (!open) this.fail('PARSE', `unexpected '${tok.text}' with no open message to close`, tok);
        this.fail('PARSE', `expected '${open.close}' to close '${open.field}' (opened at line ${open.line}), got '${tok.text}'`, tok);
      }
      if (tok.kind !== 'ident') this.fail('PARSE', `expected a field name, got ${describe(tok)}`, tok);
      this.parseField(obj, info, tok, depth);
      const sep = this.lx.peek();
      if (isSymbol(sep, ',') || isSymbol(sep, ';')) this.lx.next();
    }
  }

  private parseField(obj: Record<string, any>, info: TypeInfo, nameTok: Token, depth: number): void {
    const field = info.fields.get(nameTok.text) ?? this.unknownField(info, nameTok);
    if (field.kind === 'map') this.fail('SCHEMA', `map field '${field.name}' is not supported in text format`, nameTok);
    if (field.kind === 'message') this.parseMessageField(obj, field, nameTok, depth);
    else this.parseScalarField(obj, field, nameTok);
  }

  private unknownField(info: TypeInfo, nameTok: Token): never {
    const hint = closestName(nameTok.text, [...info.fields.keys()]);
    const suffix = hint ? `; did you mean '${hint}'?` : '';
    return this.fail('SCHEMA', `unknown field '${nameTok.text}' in ${info.fullName}${suffix}`, nameTok);
  }

  /** `name { ... }`, `name: { ... }`, `name < ... >` or `name: [ {...}, {...} ]`. */
  private parseMessageField(obj: Record<string, any>, field: FieldInfo, nameTok: Token, depth: number): void {
    let tok = this.lx.peek();
    const colon = isSymbol(tok, ':');
    if (colon) {
      this.lx.next();
      tok = this.lx.peek();
    }
    if (colon && isSymbol(tok, '[')) {
      this.parseList(obj, field, tok, () => this.parseMessageValue(field, this.lx.peek().line, depth));
      return;
    }
    if (!isSymbol(tok, '{') && !isSymbol(tok, '<')) {
      const what = tok.kind === 'eof' || tok.kind === 'symbol' ? 'PARSE' : 'SCHEMA';
      this.fail(what, `field '${field.name}' is a message (${field.typeName}) and needs '{', got ${describe(tok)}`, tok);
    }
    store(obj, field, this.parseMessageValue(field, nameTok.line, depth));
  }

  private parseMessageValue(field: FieldInfo, line: number, depth: number): Record<string, any> {
    const open = this.lx.next();
    if (!isSymbol(open, '{') && !isSymbol(open, '<')) {
      this.fail('PARSE', `expected '{' to start a ${field.typeName} message, got ${describe(open)}`, open);
    }
    if (depth + 1 > MAX_NESTING_DEPTH) {
      this.fail('PARSE', `messages nested deeper than ${MAX_NESTING_DEPTH} levels (at '${field.name}')`, open);
    }
    const value = newMessage(line);
    const close = open.text === '{' ? '}' : '>';
    this.parseBody(value, typeInfo(field.messageType!), { field: field.name, close, line: open.line }, depth + 1);
    return value;
  }

  /** `name: value` or `name: [v1, v2]`. */
  private parseScalarField(obj: Record<string, any>, field: FieldInfo, nameTok: Token): void {
    const colon = this.lx.next();
    if (!isSymbol(colon, ':')) {
      if (isSymbol(colon, '{') || isSymbol(colon, '<')) {
        this.fail('SCHEMA', `field '${field.name}' is a ${field.typeName}, not a message; write '${field.name}: value'`, colon);
      }
      this.fail('PARSE', `expected ':' after field name '${field.name}', got ${describe(colon)}`, colon);
    }
    const tok = this.lx.peek();
    if (isSymbol(tok, '[')) this.parseList(obj, field, tok, () => this.parseScalar(field));
    else store(obj, field, this.parseScalar(field));
  }

  /** `[a, b, c]` (possibly empty) for a repeated field; each element comes from `element`. */
  private parseList(obj: Record<string, any>, field: FieldInfo, openTok: Token, element: () => unknown): void {
    if (!field.repeated) {
      this.fail('SCHEMA', `field '${field.name}' is not repeated, so it cannot take a [list]`, openTok);
    }
    this.lx.next(); // '['
    if (isSymbol(this.lx.peek(), ']')) {
      this.lx.next();
      return;
    }
    for (;;) {
      store(obj, field, element());
      const tok = this.lx.next();
      if (isSymbol(tok, ']')) return;
      if (!isSymbol(tok, ',')) this.fail('PARSE', `expected ',' or ']' in the list of '${field.name}', got ${describe(tok)}`, tok);
    }
  }

  private parseScalar(field: FieldInfo): unknown {
    switch (field.kind) {
      case 'string':
      case 'bytes':
        return this.parseStringValue(field);
      case 'bool':
        return this.parseBool(field);
      case 'enum':
        return this.parseEnum(field);
      case 'int':
        return this.parseInteger(field);
      default:
        return this.parseFloat(field);
    }
  }

  /** The next token, which must be able to start a value (not a delimiter, not EOF). */
  private valueToken(field: FieldInfo): Token {
    const tok = this.lx.next();
    if (tok.kind === 'eof' || (tok.kind === 'symbol' && tok.text !== '-' && tok.text !== '+')) {
      this.fail('PARSE', `expected a value for field '${field.name}', got ${describe(tok)}`, tok);
    }
    return tok;
  }

  private mismatch(field: FieldInfo, expected: string, tok: Token, text = describe(tok)): never {
    return this.fail('SCHEMA', `field '${field.name}' (${field.typeName}) expects ${expected}, got ${text}`, tok);
  }

  /** One string literal, or several adjacent ones, which concatenate. */
  private parseStringValue(field: FieldInfo): string | Uint8Array {
    const first = this.valueToken(field);
    if (first.kind !== 'string') this.mismatch(field, 'a quoted string', first);
    let pieces = first.pieces!;
    if (this.lx.peek().kind === 'string') {
      pieces = pieces.slice();
      while (this.lx.peek().kind === 'string') {
        for (const piece of this.lx.next().pieces!) pieces.push(piece); // no spread: pieces can be huge
      }
    }
    if (field.kind === 'bytes') return piecesToBytes(pieces);
    const text = piecesToText(pieces);
    if (text === null) this.fail('SCHEMA', `string for field '${field.name}' has escape bytes that are not valid UTF-8`, first);
    return text;
  }

  private parseBool(field: FieldInfo): boolean {
    const tok = this.valueToken(field);
    switch (tok.kind === 'ident' || tok.kind === 'number' ? tok.text : '') {
      case 'true': case 'True': case 't': case '1':
        return true;
      case 'false': case 'False': case 'f': case '0':
        return false;
    }
    return this.mismatch(field, 'true or false', tok);
  }

  /** An optional sign followed by the token it applies to. */
  private signed(field: FieldInfo): { sign: string; tok: Token; start: Token } {
    const start = this.valueToken(field);
    if (start.kind !== 'symbol') return { sign: '', tok: start, start };
    const tok = this.lx.next();
    if (tok.kind !== 'number' && tok.kind !== 'ident') {
      this.fail('PARSE', `expected a number after '${start.text}' for field '${field.name}', got ${describe(tok)}`, tok);
    }
    return { sign: start.text, tok, start };
  }

  private parseEnum(field: FieldInfo): string {
    const e = field.enumType!;
    const { sign, tok, start } = this.signed(field);
    if (tok.kind === 'ident' && sign === '') {
      if (hasOwn(e.values, tok.text)) return tok.text;
      return this.fail('SCHEMA', `unknown value '${tok.text}' for enum ${field.typeName} of field '${field.name}'; allowed: ${enumNames(e).join(', ')}`, tok);
    }
    const n = tok.kind === 'number' ? integerValue(tok.text) : null;
    if (n === null) this.mismatch(field, `one of ${enumNames(e).join(', ')}`, start, shownValue(sign, tok));
    const value = sign === '-' ? -n : n;
    const name = e.valuesById[value];
    if (name === undefined) {
      this.fail('SCHEMA', `enum ${field.typeName} of field '${field.name}' has no value ${value}; allowed: ${enumNames(e).join(', ')}`, start);
    }
    return name;
  }

  private parseInteger(field: FieldInfo): number {
    const { sign, tok, start } = this.signed(field);
    const shown = shownValue(sign, tok);
    const n = tok.kind === 'number' ? integerValue(tok.text) : null;
    if (n === null) return this.mismatch(field, 'an integer', start, shown);
    const value = sign === '-' ? 0 - n : n; // `0 - n` avoids -0
    if (value < field.min || value > field.max) {
      this.fail('SCHEMA', `value ${shown} is out of range for ${field.typeName} field '${field.name}' (${field.min}..${field.max})`, start);
    }
    return value;
  }

  private parseFloat(field: FieldInfo): number {
    const { sign, tok, start } = this.signed(field);
    const n = floatValue(tok);
    if (n === null) {
      return this.mismatch(field, 'a number', start, shownValue(sign, tok));
    }
    const value = sign === '-' ? -n : n;
    return field.kind === 'float' ? Math.fround(value) : value;
  }
}

/** A value as error messages show it, sign included. */
function shownValue(sign: string, tok: Token): string {
  return tok.kind === 'string' ? describe(tok) : `'${sign}${tok.text.length > 40 ? tok.text.slice(0, 37) + '...' : tok.text}'`;
}

function store(obj: Record<string, any>, field: FieldInfo, value: unknown): void {
  if (!field.repeated) {
    obj[field.name] = value; // last occurrence wins
  } else if (hasOwn(obj, field.name)) {
    obj[field.name].push(value);
  } else {
    obj[field.name] = [value];
  }
}

/** Value of a decimal, hex or octal integer literal; null for other literals. */
function integerValue(text: string): number | null {
  // Beyond 2^53 these are approximate, but then they are also out of every allowed range.
  if (DEC_INT.test(text)) return Number(text);
  if (HEX_INT.test(text)) return parseInt(text.slice(2), 16);
  if (OCT_INT.test(text)) return parseInt(text.slice(1), 8);
  return null;
}

function floatValue(tok: Token): number | null {
  if (tok.kind === 'ident') {
    const word = tok.text.toLowerCase();
    if (word === 'inf' || word === 'infinity') return Infinity;
    if (word === 'nan') return NaN;
    return null;
  }
  if (tok.kind !== 'number') return null;
  const n = integerValue(tok.text);
  if (n !== null) return n;
  return FLOAT.test(tok.text) ? Number(tok.text.replace(/[fF]$/, '')) : null;
}

// ---------------------------------------------------------------------------------------
// "Did you mean" hints
// ---------------------------------------------------------------------------------------

/** The candidate closest to `name` if it is close enough to be a plausible typo. */
function closestName(name: string, candidates: string[]): string | undefined {
  if (name.length > 64) return undefined; // keeps the hint cheap for absurd input
  const squash = (s: string) => s.toLowerCase().replace(/_/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = squash(candidate) === squash(name) ? 0 : editDistance(name.toLowerCase(), candidate.toLowerCase());
    const allowed = Math.max(1, Math.floor(candidate.length / 3));
    if (d <= allowed && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------
// Printer
// ---------------------------------------------------------------------------------------

/**
 * Writes `obj` (shaped like parseTextFormat's result) as text format: fields in the
 * object's key order, two spaces per nesting level, starting `indent` spaces in.
 * Undefined and null values are skipped. parseTextFormat(printTextFormat(x)) deep-equals x
 * for every x whose float fields hold float32 values (all parsed objects do).
 */
export function printTextFormat(obj: Record<string, any>, type: protobuf.Type, indent = 0): string {
  const out: string[] = [];
  printFields(out, obj, typeInfo(type), ' '.repeat(Math.max(0, indent)), 0);
  return out.join('');
}

function printError(message: string): never {
  throw new CaffeLrpError('SCHEMA', message);
}

function printFields(out: string[], obj: Record<string, any>, info: TypeInfo, pad: string, depth: number): void {
  if (depth > MAX_NESTING_DEPTH) printError(`cannot print messages nested deeper than ${MAX_NESTING_DEPTH} levels (cyclic object?)`);
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    const field = info.fields.get(key);
    if (!field) printError(`cannot print unknown field '${key}' of ${info.fullName}`);
    if (field.kind === 'map') printError(`cannot print map field '${key}' of ${info.fullName}`);
    if (!field.repeated) {
      printValue(out, field, value, pad, depth);
    } else if (Array.isArray(value) || ArrayBuffer.isView(value)) {
      const items = value as ArrayLike<unknown>; // an array or a typed array (e.g. Float32Array data)
      for (let i = 0; i < items.length; i++) printValue(out, field, items[i], pad, depth);
    } else {
      printError(`repeated field '${key}' of ${info.fullName} must be an array`);
    }
  }
}

function printValue(out: string[], field: FieldInfo, value: any, pad: string, depth: number): void {
  if (field.kind !== 'message') {
    out.push(`${pad}${field.name}: ${formatScalar(field, value)}\n`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    printError(`field '${field.name}' (${field.typeName}) must be an object`);
  }
  out.push(`${pad}${field.name} {\n`);
  printFields(out, value, typeInfo(field.messageType!), pad + '  ', depth + 1);
  out.push(`${pad}}\n`);
}

function formatScalar(field: FieldInfo, value: any): string {
  const wrong = (): never => printError(`field '${field.name}' (${field.typeName}) cannot hold ${describeValue(value)}`);
  switch (field.kind) {
    case 'string':
      return typeof value === 'string' ? quoteString(value) : wrong();
    case 'bytes':
      return value instanceof Uint8Array ? quoteBytes(value) : wrong();
    case 'bool':
      return typeof value === 'boolean' ? String(value) : wrong();
    case 'enum':
      return formatEnum(field, value) ?? wrong();
    case 'int':
      return formatInteger(field, value) ?? wrong();
    case 'float':
      return typeof value === 'number' ? formatFloat32(value) : wrong();
    default:
      return typeof value === 'number' ? formatDouble(value) : wrong();
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value)}`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

function formatEnum(field: FieldInfo, value: unknown): string | null {
  const e = field.enumType!;
  if (typeof value === 'string') return hasOwn(e.values, value) ? value : null;
  if (typeof value === 'number') return e.valuesById[value] ?? null;
  return null;
}

function formatInteger(field: FieldInfo, value: unknown): string | null {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'object' && value !== null && typeof (value as any).toNumber === 'function') n = (value as any).toNumber(); // a Long
  else return null;
  if (!Number.isInteger(n) || n < field.min || n > field.max) return null;
  return String(n === 0 ? 0 : n);
}

function formatSpecial(v: number): string | null {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return null;
}

/** Shortest decimal that reads back (through Math.fround) as the same float32. */
export function formatFloat32(value: number): string {
  const f = Math.fround(value);
  const special = formatSpecial(f);
  if (special !== null) return special;
  for (let digits = 1; digits < 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return String(d);
  }
  return String(Number(f.toPrecision(9))); // 9 significant digits always identify a float32
}

function formatDouble(value: number): string {
  return formatSpecial(value) ?? String(value); // String() is JS's shortest round-trip form
}

const STRING_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function octalEscape(code: number): string {
  return '\\' + code.toString(8).padStart(3, '0');
}

function quoteString(s: string): string {
  const body = s.replace(/[\\"\x00-\x1f\x7f]/g, (ch) => STRING_ESCAPES[ch] ?? octalEscape(ch.charCodeAt(0)));
  return `"${body}"`;
}

function quoteBytes(bytes: Uint8Array): string {
  let body = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    body += STRING_ESCAPES[ch] ?? (b >= 0x20 && b < 0x7f ? ch : octalEscape(b));
  }
  return `"${body}"`;
}
