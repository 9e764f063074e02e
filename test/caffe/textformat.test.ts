/**
 * Tests for the protobuf text-format parser and printer (lib/caffe/textformat.ts):
 * every syntax form, every error with its exact position, printing, round trips, the real
 * model files under ../shared/models, and linear-time behaviour on large or hostile input.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import {
  parseTextFormat,
  printTextFormat,
  formatFloat32,
  sourceLineOf,
  SOURCE_LINE,
  MAX_NESTING_DEPTH,
} from '../../lib/caffe/textformat';
import { caffeType } from '../../lib/caffe/schema';
import { CaffeLrpError } from '../../lib/errors';
import { expectLinearGrowth } from '../helpers/growth';
import { describeShared, sharedPath } from '../helpers/shared-data';

const Net = caffeType('NetParameter');
const Layer = caffeType('LayerParameter');
const Conv = caffeType('ConvolutionParameter');
const Blob = caffeType('BlobProto');
const FILE = 'net.prototxt';

/** A schema with the scalar kinds Caffe's lacks (double, bytes, int64, negative enums, maps, recursion). */
const testRoot = protobuf.parse(
  `syntax = "proto2";
  package t;
  message Scalars {
    optional double d = 1;
    optional float f = 2;
    optional int32 i32 = 3;
    optional uint32 u32 = 4;
    optional int64 i64 = 5;
    optional uint64 u64 = 6;
    optional sint32 s32 = 7;
    optional bool b = 8;
    optional string s = 9;
    optional bytes by = 10;
    repeated double ds = 11;
    repeated float fs = 12;
    repeated string ss = 13;
    enum Color { RED = 0; GREEN = 1; BLUE = -2; }
    optional Color c = 14;
    repeated Color cs = 15;
    repeated bytes bys = 16;
    map<string, int32> m = 17;
  }
  message Node {
    optional int32 v = 1;
    optional Node child = 2;
    repeated Node kids = 3;
  }`,
  { keepCase: true },
).root;
testRoot.resolveAll();
const Scalars = testRoot.lookupType('t.Scalars');
const Node = testRoot.lookupType('t.Node');

function parse(text: string, type: protobuf.Type = Net): Record<string, any> {
  return parseTextFormat(text, type, FILE);
}

function catchError(fn: () => unknown): CaffeLrpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    return e as CaffeLrpError;
  }
  throw new Error('expected a CaffeLrpError, but nothing was thrown');
}

/** Asserts code, file, exact line/column, the message prefix and message fragments. */
function expectError(
  text: string,
  type: protobuf.Type,
  code: 'PARSE' | 'SCHEMA',
  line: number,
  column: number,
  ...fragments: string[]
): CaffeLrpError {
  const e = catchError(() => parseTextFormat(text, type, FILE));
  expect({ code: e.code, file: e.file, line: e.line, column: e.column }).toEqual({ code, file: FILE, line, column });
  expect(e.message.startsWith(`${FILE}:${line}:${column}: `)).toBe(true);
  for (const fragment of fragments) expect(e.message).toContain(fragment);
  return e;
}

/** Parses a single scalar field of t.Scalars. */
function scalar(field: string, text: string): unknown {
  return parse(`${field}: ${text}`, Scalars)[field];
}

describe('parseTextFormat: syntax', () => {
  test('fields, repeated fields and nested messages', () => {
    const net = parse(
      [
        'name: "LeNet"',
        'input: "data"',
        'input_dim: 1',
        'input_dim: 3',
        'layer {',
        '  name: "conv1"',
        '  type: "Convolution"',
        '  convolution_param { num_output: 20 kernel_size: 5 }',
        '}',
      ].join('\n'),
    );
    expect(net).toEqual({
      name: 'LeNet',
      input: ['data'],
      input_dim: [1, 3],
      layer: [{ name: 'conv1', type: 'Convolution', convolution_param: { num_output: 20, kernel_size: [5] } }],
    });
  });

  test('message forms: { }, : { }, < >, : < > and mixtures', () => {
    const net = parse('layer { name: "a" } layer: { name: "b" } layer < name: "c" > layer: < name: "d" convolution_param { group: 2 } >');
    expect(net.layer).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd', convolution_param: { group: 2 } }]);
  });

  test('empty messages and empty input', () => {
    expect(parse('layer {} layer <>').layer).toEqual([{}, {}]);
    expect(parse('')).toEqual({});
    expect(parse('  \n\t\n # only a comment\n')).toEqual({});
  });

  test('optional , and ; separators between fields', () => {
    const net = parse('name: "a", input: "x"; input: "y",\nlayer { name: "l"; top: "t", bottom: "b"; };');
    expect(net).toEqual({ name: 'a', input: ['x', 'y'], layer: [{ name: 'l', top: ['t'], bottom: ['b'] }] });
  });

  test('no whitespace needed between tokens', () => {
    expect(parse('name:"a"input:"b"layer{name:"c"top:"d"}input_dim:1')).toEqual({
      name: 'a',
      input: ['b'],
      layer: [{ name: 'c', top: ['d'] }],
      input_dim: [1],
    });
  });

  test('# comments to end of line, but not inside strings', () => {
    const net = parse('# header\nname: "a" # trailing comment\n# layer { name: "x" }\ninput: "x#y" #\ninput: \'#\'');
    expect(net).toEqual({ name: 'a', input: ['x#y', '#'] });
  });

  test('CRLF line endings, tabs and a byte-order mark', () => {
    const net = parse('\uFEFFname: "a"\r\n\tinput: \'x\'\r\nlayer {\r\n\tname: "l"\r\n}\r\n');
    expect(net).toEqual({ name: 'a', input: ['x'], layer: [{ name: 'l' }] });
    expect(net.layer[0][SOURCE_LINE]).toBe(3);
    expectError('name: "a"\r\n\tbogus: 1\r\n', Net, 'SCHEMA', 2, 2, "unknown field 'bogus'");
    expectError('\uFEFFbogus: 1', Net, 'SCHEMA', 1, 1, "'bogus'");
  });

  test('repeated fields: several lines append, [a, b] lists append too, [] adds nothing', () => {
    expect(parse('input_dim: 1 input_dim: [2, 3] input_dim: [] input_dim: 4').input_dim).toEqual([1, 2, 3, 4]);
    expect(parse('input: []')).toEqual({});
    expect(parse('input: ["a", \'b\' "c"]').input).toEqual(['a', 'bc']);
    expect(parse('layer { propagate_down: [true, f, 1] }').layer[0].propagate_down).toEqual([true, false, true]);
  });

  test('lists of messages', () => {
    const net = parse('layer: [\n  { name: "a" },\n  < name: "b" >\n]\nlayer { name: "c" }');
    expect(net.layer).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    expect(net.layer.map((l: object) => sourceLineOf(l))).toEqual([2, 3, 5]);
  });

  test('a non-repeated field given twice: the last one wins, messages are replaced (not merged)', () => {
    expect(parse('name: "a" name: "b"').name).toBe('b');
    expect(parse('state { level: 1 stage: "x" } state { phase: TRAIN }').state).toEqual({ phase: 'TRAIN' });
  });
});

describe('parseTextFormat: strings', () => {
  test('double and single quotes with C escapes', () => {
    expect(scalar('s', String.raw`"a\n\t\\\"\'b"`)).toBe('a\n\t\\"\'b');
    expect(scalar('s', String.raw`'it\'s "quoted"'`)).toBe('it\'s "quoted"');
    expect(scalar('s', String.raw`"\a\b\f\v\r\?"`)).toBe('\x07\b\f\v\r?');
    expect(scalar('s', '""')).toBe('');
  });

  test('hex, octal and unicode escapes; escape bytes are UTF-8', () => {
    expect(scalar('s', String.raw`"\x41\101\x4\0"`)).toBe('AA\x04\0');
    expect(scalar('s', String.raw`"\xc3\xa9\303\251"`)).toBe('éé');
    expect(scalar('s', String.raw`"\u00e9\U0001F600"`)).toBe('é\u{1F600}');
    expect(scalar('s', String.raw`"\1234"`)).toBe('S4'); // octal takes at most 3 digits
    expect(scalar('s', '"日本語 ok"')).toBe('日本語 ok');
  });

  test('adjacent literals concatenate, also across lines and quote styles (bytes too)', () => {
    expect(scalar('s', `"ab" 'cd'\n  "ef" # comment\n "g"`)).toBe('abcdefg');
    expect(scalar('s', String.raw`"\xc3" "\xa9"`)).toBe('é'); // one UTF-8 sequence split over two literals
    expect(parse('ss: "a" "b" ss: "c"', Scalars).ss).toEqual(['ab', 'c']);
  });

  test('bytes fields hold the raw bytes', () => {
    expect(scalar('by', String.raw`"\xff\000a" "é"`)).toEqual(Buffer.from([0xff, 0, 0x61, 0xc3, 0xa9]));
  });
});

describe('parseTextFormat: numbers, bools and enums', () => {
  test.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['+2.5', 2.5],
    ['.5', 0.5],
    ['-.5', -0.5],
    ['5.', 5],
    ['1e-5', 1e-5],
    ['1E+3', 1000],
    ['-1.25e2', -125],
    ['2.5f', 2.5],
    ['2.5F', 2.5],
    ['1f', 1],
    ['1e3f', 1000],
    ['0x10', 16],
    ['017', 15],
    ['inf', Infinity],
    ['-inf', -Infinity],
    ['Infinity', Infinity],
    ['-INF', -Infinity],
    ['+infinity', Infinity],
    ['nan', NaN],
    ['NaN', NaN],
    ['-nan', NaN],
    ['0', 0],
    ['-0', -0],
    ['0.1', 0.1],
    ['1e400', Infinity],
  ])('double %s', (text, expected) => {
    expect(scalar('d', text)).toBe(expected);
  });

  test('float fields are rounded to float32', () => {
    expect(scalar('f', '0.1')).toBe(Math.fround(0.1));
    expect(scalar('f', '1e-4')).toBe(Math.fround(1e-4));
    expect(scalar('f', '1e39')).toBe(Infinity);
    expect(scalar('f', '-nan')).toBe(NaN);
    expect(parse('fs: [1.5, .25, -2e1]', Scalars).fs).toEqual([1.5, 0.25, -20]);
    expect(parse('layer { lrn_param { alpha: 0.0001 beta: 0.75 } }').layer[0].lrn_param).toEqual({
      alpha: Math.fround(0.0001),
      beta: 0.75,
    });
  });

  test.each([
    ['i32', '-2147483648', -2147483648],
    ['i32', '2147483647', 2147483647],
    ['i32', '+7', 7],
    ['i32', '0x1F', 31],
    ['i32', '-0x10', -16],
    ['i32', '017', 15],
    ['u32', '4294967295', 4294967295],
    ['u32', '0xFFFFFFFF', 4294967295],
    ['i64', '9007199254740991', 9007199254740991],
    ['i64', '-9007199254740991', -9007199254740991],
    ['u64', '0', 0],
    ['s32', '-5', -5],
  ])('integer %s: %s', (field, text, expected) => {
    expect(scalar(field, text)).toBe(expected);
  });

  test('-0 in an integer field is plain 0', () => {
    expect(Object.is(scalar('i32', '-0'), 0)).toBe(true);
  });

  test.each([
    ['true', true],
    ['True', true],
    ['t', true],
    ['1', true],
    ['false', false],
    ['False', false],
    ['f', false],
    ['0', false],
  ])('bool %s', (text, expected) => {
    expect(scalar('b', text)).toBe(expected);
  });

  test('enums by name or by number, also negative numbers and in lists', () => {
    expect(scalar('c', 'GREEN')).toBe('GREEN');
    expect(scalar('c', '1')).toBe('GREEN');
    expect(scalar('c', '-2')).toBe('BLUE');
    expect(parse('cs: [RED, 1] cs: BLUE', Scalars).cs).toEqual(['RED', 'GREEN', 'BLUE']);
    expect(parse('layer { phase: 1 pooling_param { pool: AVE } }').layer[0]).toEqual({
      phase: 'TEST',
      pooling_param: { pool: 'AVE' },
    });
    expect(parse('layers { type: CONVOLUTION }').layers[0].type).toBe('CONVOLUTION');
  });
});

describe('parseTextFormat: SOURCE_LINE', () => {
  const text = 'name: "n"\n\nlayer {\n  name: "a"\n  convolution_param {\n    num_output: 1\n  }\n}\nlayer\n{\n}\n';

  test('every message records the line where it starts', () => {
    const net = parse(text);
    expect((net as any)[SOURCE_LINE]).toBe(1);
    expect(net.layer[0][SOURCE_LINE]).toBe(3);
    expect(net.layer[0].convolution_param[SOURCE_LINE]).toBe(5);
    expect(net.layer[1][SOURCE_LINE]).toBe(9); // the field name's line, not the brace's
    expect(sourceLineOf(net.layer[0])).toBe(3);
    expect(sourceLineOf({})).toBeUndefined();
  });

  test('is non-enumerable, so it stays out of keys, JSON and deep equality', () => {
    const net = parse(text);
    expect(Object.getOwnPropertyDescriptor(net, SOURCE_LINE)?.enumerable).toBe(false);
    expect(Object.keys(net.layer[0])).toEqual(['name', 'convolution_param']);
    expect(JSON.stringify(net.layer[1])).toBe('{}');
    expect(net.layer[1]).toEqual({});
  });
});

describe('parseTextFormat: PARSE errors name the token and its position', () => {
  test('unterminated strings', () => {
    expectError('name: "abc', Net, 'PARSE', 1, 7, 'unterminated string literal "abc (missing closing " before end of file)');
    expectError('layer {\r\n  name: \'abc\r\n}', Net, 'PARSE', 2, 9, "unterminated string literal 'abc (missing closing ' before end of line)");
    expectError(`name: "${'x'.repeat(50)}`, Net, 'PARSE', 1, 7, `unterminated string literal "${'x'.repeat(19)}... (missing`);
    expectError('name: "abc\\', Net, 'PARSE', 1, 11, 'unterminated string literal');
  });

  test('bad escapes', () => {
    expectError(String.raw`name: "ab\qc"`, Net, 'PARSE', 1, 10, String.raw`invalid escape sequence '\q'`);
    expectError(String.raw`name: "\xg"`, Net, 'PARSE', 1, 8, String.raw`'\x' must be followed by hex digits`);
    expectError(String.raw`name: "\777"`, Net, 'PARSE', 1, 8, String.raw`'\777'`);
    expectError(String.raw`name: "\u12"`, Net, 'PARSE', 1, 8, String.raw`'\u'`);
    expectError(String.raw`name: "\ud800"`, Net, 'PARSE', 1, 8, 'code point');
  });

  test('malformed numbers', () => {
    expectError('input_dim: 5abc', Net, 'PARSE', 1, 12, "invalid number '5abc'");
    expectError('\n  input_dim: 1.2.3', Net, 'PARSE', 2, 14, "invalid number '1.2.3'");
    expectError('input_dim: 1e', Net, 'PARSE', 1, 12, "invalid number '1e'");
    expectError('input_dim: 0x', Net, 'PARSE', 1, 12, "invalid number '0x'");
  });

  test('unexpected characters', () => {
    expectError('name: "a"\n@', Net, 'PARSE', 2, 1, "unexpected character '@'");
    expectError('layer { \u00e4: 1 }', Net, 'PARSE', 1, 9, 'unexpected character U+00E4');
    expectError('name: "a"\u0000', Net, 'PARSE', 1, 10, 'unexpected character U+0000');
    expectError('name: "a" // comment', Net, 'PARSE', 1, 11, "unexpected character '/'");
    expectError('[ext.field] { }', Net, 'PARSE', 1, 1, "expected a field name, got '['");
  });

  test('stray and mismatched closing braces', () => {
    expectError('name: "a"\n}', Net, 'PARSE', 2, 1, "unexpected '}'");
    expectError('>', Net, 'PARSE', 1, 1, "unexpected '>'");
    expectError('layer {\n  name: "a"\n>', Net, 'PARSE', 3, 1, "expected '}' to close 'layer' (opened at line 1), got '>'");
    expectError('layer < name: "a" }', Net, 'PARSE', 1, 19, "expected '>' to close 'layer'");
  });

  test('end of file in the middle', () => {
    expectError('layer {\n  name: "a"\n', Net, 'PARSE', 3, 1, 'unexpected end of file', "'layer' opened at line 1", "closing '}'");
    expectError('layer { convolution_param <', Net, 'PARSE', 1, 28, "'convolution_param'", "closing '>'");
    expectError('name:', Net, 'PARSE', 1, 6, "expected a value for field 'name', got end of file");
    expectError('name', Net, 'PARSE', 1, 5, "expected ':' after field name 'name', got end of file");
    expectError('layer', Net, 'PARSE', 1, 6, "needs '{', got end of file");
    expectError('input_dim: [1,', Net, 'PARSE', 1, 15, 'expected a value');
    expectError('input_dim: -', Net, 'PARSE', 1, 13, "expected a number after '-'");
  });

  test('missing or misplaced punctuation', () => {
    expectError('name "a"', Net, 'PARSE', 1, 6, "expected ':' after field name 'name', got \"a\"");
    expectError('layer { name: }', Net, 'PARSE', 1, 15, "expected a value for field 'name', got '}'");
    expectError('5: 3', Net, 'PARSE', 1, 1, "expected a field name, got '5'");
    expectError('"name": 3', Net, 'PARSE', 1, 1, 'expected a field name, got "name"');
    expectError('input_dim: [1 2]', Net, 'PARSE', 1, 15, "expected ',' or ']' in the list of 'input_dim', got '2'");
    expectError('input_dim: [1,]', Net, 'PARSE', 1, 15, "expected a value for field 'input_dim', got ']'");
    expectError('layer: [ name: "a" ]', Net, 'PARSE', 1, 10, "expected '{' to start a caffe.LayerParameter message, got 'name'");
    expectError('input_dim: - "x"', Net, 'PARSE', 1, 14, "expected a number after '-'");
    expectError('name: "a",, input: "b"', Net, 'PARSE', 1, 11, "expected a field name, got ','");
  });

  test('nesting depth is limited', () => {
    const ok = 'child { '.repeat(MAX_NESTING_DEPTH) + 'v: 1' + ' }'.repeat(MAX_NESTING_DEPTH);
    let node = parse(ok, Node);
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) node = node.child;
    expect(node).toEqual({ v: 1 });
    const tooDeep = 'child { '.repeat(MAX_NESTING_DEPTH + 1);
    expectError(tooDeep, Node, 'PARSE', 1, MAX_NESTING_DEPTH * 8 + 7, `nested deeper than ${MAX_NESTING_DEPTH} levels`);
    // Far deeper input fails the same way, quickly and without a stack overflow.
    expectError('kids < '.repeat(200000), Node, 'PARSE', 1, MAX_NESTING_DEPTH * 7 + 6, 'nested deeper');
  });
});

describe('parseTextFormat: SCHEMA errors', () => {
  test('unknown field names the field and the message type, with a hint when one is close', () => {
    const e = expectError('kernal_size: 3', Conv, 'SCHEMA', 1, 1);
    expect(e.message).toBe(
      `${FILE}:1:1: unknown field 'kernal_size' in caffe.ConvolutionParameter; did you mean 'kernel_size'?`,
    );
    expectError('layer {\n  convolution_param {\n    kernal_size: 3\n  }\n}', Net, 'SCHEMA', 3, 5, "did you mean 'kernel_size'?");
    expectError('layer { convolutionParam { } }', Net, 'SCHEMA', 1, 9, "did you mean 'convolution_param'?");
    expectError('layer { Name: "x" }', Net, 'SCHEMA', 1, 9, "did you mean 'name'?");
    const noHint = expectError('\n\nfoo: 1', Net, 'SCHEMA', 3, 1, "unknown field 'foo' in caffe.NetParameter");
    expect(noHint.message).not.toContain('did you mean');
  });

  test('unknown enum names and numbers list the allowed values', () => {
    expectError(
      'layer {\n  pooling_param { pool: MAXX }\n}',
      Net,
      'SCHEMA',
      2,
      25,
      "unknown value 'MAXX' for enum caffe.PoolingParameter.PoolMethod of field 'pool'; allowed: MAX, AVE, STOCHASTIC",
    );
    expectError('layer { phase: 7 }', Net, 'SCHEMA', 1, 16, "enum caffe.Phase of field 'phase' has no value 7; allowed: TRAIN, TEST");
    expectError('layer { phase: "TEST" }', Net, 'SCHEMA', 1, 16, "field 'phase' (caffe.Phase) expects one of TRAIN, TEST, got \"TEST\"");
    expectError('layer { phase: 1.5 }', Net, 'SCHEMA', 1, 16, "got '1.5'");
    expectError('c: -RED', Scalars, 'SCHEMA', 1, 4, "got '-RED'");
  });

  test('integers: range and integer-ness', () => {
    const conv = 'convolution_param';
    expectError(`layer { ${conv} { num_output: -1 } }`, Net, 'SCHEMA', 1, 41, "value '-1' is out of range for uint32 field 'num_output' (0..4294967295)");
    expectError('u32: 4294967296', Scalars, 'SCHEMA', 1, 6, "value '4294967296' is out of range for uint32");
    expectError('u32: 0x100000000', Scalars, 'SCHEMA', 1, 6, 'out of range');
    expectError('i32: 2147483648', Scalars, 'SCHEMA', 1, 6, 'out of range for int32');
    expectError('i32: -2147483649', Scalars, 'SCHEMA', 1, 6, 'out of range for int32');
    expectError('i64: 9007199254740992', Scalars, 'SCHEMA', 1, 6, 'out of range for int64');
    expectError('u64: -1', Scalars, 'SCHEMA', 1, 6, 'out of range for uint64');
    expectError('i32: 99999999999999999999999999999', Scalars, 'SCHEMA', 1, 6, 'out of range');
    expectError('i32: 1.5', Scalars, 'SCHEMA', 1, 6, "field 'i32' (int32) expects an integer, got '1.5'");
    expectError('i32: 1e3', Scalars, 'SCHEMA', 1, 6, "expects an integer, got '1e3'");
    expectError('i32: -inf', Scalars, 'SCHEMA', 1, 6, "expects an integer, got '-inf'");
    expectError('i32: "5"', Scalars, 'SCHEMA', 1, 6, 'expects an integer, got "5"');
    expectError('input_dim: [1, x]', Net, 'SCHEMA', 1, 16, "expects an integer, got 'x'");
  });

  test('floats, bools, strings', () => {
    expectError('f: "1.0"', Scalars, 'SCHEMA', 1, 4, "field 'f' (float) expects a number, got \"1.0\"");
    expectError('d: infinite', Scalars, 'SCHEMA', 1, 4, "expects a number, got 'infinite'");
    expectError('b: yes', Scalars, 'SCHEMA', 1, 4, "field 'b' (bool) expects true or false, got 'yes'");
    expectError('b: 2', Scalars, 'SCHEMA', 1, 4, "got '2'");
    expectError('b: TRUE', Scalars, 'SCHEMA', 1, 4, "got 'TRUE'");
    expectError('name: 5', Net, 'SCHEMA', 1, 7, "field 'name' (string) expects a quoted string, got '5'");
    expectError('layer { name: conv1 }', Net, 'SCHEMA', 1, 15, "expects a quoted string, got 'conv1'");
    expectError(String.raw`name: "ok" "\xff"`, Net, 'SCHEMA', 1, 7, "string for field 'name' has escape bytes that are not valid UTF-8");
  });

  test('messages versus scalars, lists on non-repeated fields, maps', () => {
    expectError('name { }', Net, 'SCHEMA', 1, 6, "field 'name' is a string, not a message");
    expectError('layer: 5', Net, 'SCHEMA', 1, 8, "field 'layer' is a message (caffe.LayerParameter) and needs '{', got '5'");
    expectError('layer }', Net, 'PARSE', 1, 7, "needs '{', got '}'");
    expectError('name: ["a"]', Net, 'SCHEMA', 1, 7, "field 'name' is not repeated, so it cannot take a [list]");
    expectError('state: [ { } ]', Net, 'SCHEMA', 1, 8, "field 'state' is not repeated");
    expectError('m { key: "a" value: 1 }', Scalars, 'SCHEMA', 1, 1, "map field 'm' is not supported");
  });
});

describe('printTextFormat', () => {
  test('writes two-space indented text in key order', () => {
    const net = {
      name: 'LeNet',
      input: ['data'],
      input_dim: [1, 3],
      layer: [
        {
          name: 'conv1',
          type: 'Convolution',
          convolution_param: { num_output: 20, kernel_size: [5, 3], bias_term: false, weight_filler: { type: 'xavier', std: Math.fround(0.1) } },
        },
        { name: 'pool', pooling_param: { pool: 'MAX' }, phase: 1 },
      ],
    };
    expect(printTextFormat(net, Net)).toBe(
      [
        'name: "LeNet"',
        'input: "data"',
        'input_dim: 1',
        'input_dim: 3',
        'layer {',
        '  name: "conv1"',
        '  type: "Convolution"',
        '  convolution_param {',
        '    num_output: 20',
        '    kernel_size: 5',
        '    kernel_size: 3',
        '    bias_term: false',
        '    weight_filler {',
        '      type: "xavier"',
        '      std: 0.1',
        '    }',
        '  }',
        '}',
        'layer {',
        '  name: "pool"',
        '  pooling_param {',
        '    pool: MAX',
        '  }',
        '  phase: TEST',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('indent, empty objects and skipped undefined/null values', () => {
    expect(printTextFormat({ num_output: 1, kernel_size: [3], group: undefined, pad: null }, Conv, 4)).toBe(
      '    num_output: 1\n    kernel_size: 3\n',
    );
    expect(printTextFormat({}, Net)).toBe('');
    expect(printTextFormat({ layer: [{}] }, Net)).toBe('layer {\n}\n');
    expect(printTextFormat({ input: [] }, Net)).toBe('');
  });

  test.each([
    [0.1, '0.1'],
    [Math.fround(0.1), '0.1'],
    [1, '1'],
    [100, '100'],
    [16777216, '16777216'],
    [-2.5, '-2.5'],
    [0.0001, '0.0001'],
    [5e-5, '0.00005'],
    [1e-7, '1e-7'],
    [Math.fround(1 / 3), '0.33333334'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [1.401298464324817e-45, '1e-45'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [-0, '-0'],
    [0, '0'],
  ])('formatFloat32(%p) = %s', (value, text) => {
    expect(formatFloat32(value)).toBe(text);
  });

  test('every float32 bit pattern tried round-trips through print and parse', () => {
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    let seed = 12345;
    for (let i = 0; i < 20000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      bits[0] = (seed ^ (seed << 13)) >>> 0;
      const value = f32[0];
      const text = printTextFormat({ f: value }, Scalars);
      expect(Object.is(parse(text, Scalars).f, value)).toBe(true);
    }
  });

  test('doubles print their shortest exact form', () => {
    expect(printTextFormat({ d: 0.1, ds: [1 / 3, 1e300, -0, NaN] }, Scalars)).toBe(
      'd: 0.1\nds: 0.3333333333333333\nds: 1e+300\nds: -0\nds: nan\n',
    );
  });

  test('strings and bytes are quoted and escaped', () => {
    const s = 'a"b\\c\nd\te\x01f\x7fé\'日本\u{1F600}';
    expect(printTextFormat({ s }, Scalars)).toBe('s: "a\\"b\\\\c\\nd\\te\\001f\\177é\'日本\u{1F600}"\n');
    expect(parse(printTextFormat({ s }, Scalars), Scalars).s).toBe(s);
    const by = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(parse(printTextFormat({ by }, Scalars), Scalars).by).toEqual(by);
  });

  test('enums by name (numbers are mapped), typed arrays for repeated fields, 64-bit forms', () => {
    expect(printTextFormat({ c: -2, cs: ['RED', 1] }, Scalars)).toBe('c: BLUE\ncs: RED\ncs: GREEN\n');
    expect(printTextFormat({ data: new Float32Array([0.5, Math.fround(0.1)]) }, Blob)).toBe('data: 0.5\ndata: 0.1\n');
    expect(printTextFormat({ i64: BigInt(-5), u64: 9007199254740991 }, Scalars)).toBe('i64: -5\nu64: 9007199254740991\n');
  });

  test('values that do not fit the schema are SCHEMA errors', () => {
    const bad: [Record<string, any>, protobuf.Type, string][] = [
      [{ nmae: 'x' }, Net, "cannot print unknown field 'nmae' of caffe.NetParameter"],
      [{ num_output: '5' }, Conv, "field 'num_output' (uint32) cannot hold the string \"5\""],
      [{ num_output: 1.5 }, Conv, 'cannot hold number 1.5'],
      [{ num_output: -1 }, Conv, 'cannot hold number -1'],
      [{ kernel_size: 3 }, Conv, "repeated field 'kernel_size' of caffe.ConvolutionParameter must be an array"],
      [{ engine: 'FAST' }, Conv, "field 'engine' (caffe.ConvolutionParameter.Engine) cannot hold the string \"FAST\""],
      [{ engine: 7 }, Conv, 'cannot hold number 7'],
      [{ bias_term: 1 }, Conv, 'cannot hold number 1'],
      [{ weight_filler: 'xavier' }, Conv, "field 'weight_filler' (caffe.FillerParameter) must be an object"],
      [{ by: 'abc' }, Scalars, 'cannot hold'],
      [{ f: '1' }, Scalars, 'cannot hold'],
      [{ m: { a: 1 } }, Scalars, "cannot print map field 'm'"],
    ];
    for (const [obj, type, message] of bad) {
      const e = catchError(() => printTextFormat(obj, type));
      expect(e.code).toBe('SCHEMA');
      expect(e.message).toContain(message);
    }
    const cyclic: Record<string, any> = { v: 1 };
    cyclic.child = cyclic;
    expect(catchError(() => printTextFormat(cyclic, Node)).message).toContain('nested deeper than');
  });
});

describe('round trips: parseTextFormat(printTextFormat(x)) deep-equals x', () => {
  function roundTrip(obj: Record<string, any>, type: protobuf.Type): void {
    const text = printTextFormat(obj, type);
    const back = parseTextFormat(text, type, 'printed.prototxt');
    expect(back).toEqual(obj);
    expect(printTextFormat(back, type)).toBe(text);
  }

  test('every scalar kind, including special values', () => {
    roundTrip(
      {
        d: -1.2345678901234567e-300,
        f: Math.fround(3.14159),
        i32: -2147483648,
        u32: 4294967295,
        i64: -9007199254740991,
        u64: 9007199254740991,
        s32: -1,
        b: false,
        s: 'tab\there "quoted" \\ \'single\' \x00 \u00e9',
        by: Buffer.from([0, 1, 127, 128, 255]),
        ds: [NaN, Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE],
        fs: [NaN, Infinity, -Infinity, -0, Math.fround(1e-40), Math.fround(1e-7), 1e6, 123456792],
        ss: ['', '#not a comment', '}'],
        c: 'BLUE',
        cs: ['RED', 'GREEN', 'BLUE'],
        bys: [Buffer.alloc(0), Buffer.from('x')],
      },
      Scalars,
    );
  });

  test('nested Caffe messages', () => {
    roundTrip(
      {
        name: 'net',
        input_shape: [{ dim: [1, 3, 224, 224] }],
        state: { phase: 'TEST', stage: ['deploy'] },
        layer: [
          { name: 'data', type: 'Input', top: ['data'], input_param: { shape: [{ dim: [1, 3, 8, 8] }] } },
          {
            name: 'conv',
            type: 'Convolution',
            bottom: ['data'],
            top: ['conv'],
            param: [{ lr_mult: 1, decay_mult: 1 }, { lr_mult: 2, decay_mult: 0 }],
            convolution_param: { num_output: 4, kernel_size: [3], pad: [1], weight_filler: { type: 'gaussian', std: Math.fround(0.01) } },
            include: [{ phase: 'TEST', not_stage: ['train'] }],
          },
          { name: 'r', type: 'Reshape', reshape_param: { shape: { dim: [0, -1] } } },
        ],
        layers: [{ name: 'old', type: 'INNER_PRODUCT', blobs_lr: [1, 2], blobs: [{ data: [Math.fround(0.3), -1], shape: { dim: [2] } }] }],
      },
      Net,
    );
  });
});

/** Real Caffe model definitions from the shared reference folder. */
const MODELS = sharedPath('models');

/** Every .prototxt under the models folder, except solver definitions (a SolverParameter, not a net). */
function findPrototxts(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findPrototxts(full));
    else if (entry.name.endsWith('.prototxt') && !entry.name.startsWith('solver')) found.push(full);
  }
  return found.sort();
}

describeShared('real model prototxts', 'models', () => {
  const files = findPrototxts(MODELS);
  const load = (rel: string): Record<string, any> => {
    const file = path.join(MODELS, rel);
    return parseTextFormat(fs.readFileSync(file, 'utf8'), Net, file);
  };
  const layersOf = (net: Record<string, any>): Record<string, any>[] => net.layer ?? net.layers;
  const byName = (net: Record<string, any>, name: string): any => layersOf(net).find((l) => l.name === name);

  test('there are at least the 17 expected net files', () => {
    expect(files.length).toBeGreaterThanOrEqual(17);
  });

  test.each(files.map((f) => [path.relative(MODELS, f), f]))('%s parses and round-trips', (_rel, file) => {
    const text = fs.readFileSync(file, 'utf8');
    const net = parseTextFormat(text, Net, file);
    expect(layersOf(net).length).toBeGreaterThan(0);
    const printed = printTextFormat(net, Net);
    expect(parseTextFormat(printed, Net, 'printed')).toEqual(net);
  });

  test('lenet-mnist: V2 layers with an Input layer', () => {
    const net = load('lenet-mnist/lenet.prototxt');
    expect(net.name).toBe('LeNet');
    expect(layersOf(net).map((l) => l.type)).toEqual([
      'Input', 'Convolution', 'Pooling', 'Convolution', 'Pooling', 'InnerProduct', 'ReLU', 'InnerProduct', 'Softmax',
    ]);
    expect(net.layer[0].input_param.shape[0].dim).toEqual([64, 1, 28, 28]);
    expect(byName(net, 'conv1').convolution_param).toMatchObject({ num_output: 20, kernel_size: [5], stride: [1] });
    expect(byName(net, 'conv1').param).toEqual([{ lr_mult: 1 }, { lr_mult: 2 }]);
  });

  test('lenet-mnist-v1: V1 `layers` with enum types and input_dim', () => {
    const deploy = load('lenet-mnist-v1/lenet.prototxt');
    expect(deploy.input).toEqual(['data']);
    expect(deploy.input_dim).toEqual([64, 1, 28, 28]);
    expect(deploy.layer).toBeUndefined();
    expect(layersOf(deploy)).toHaveLength(8);
    expect(deploy.layers[0]).toMatchObject({ name: 'conv1', type: 'CONVOLUTION', blobs_lr: [1, 2] });
    const train = load('lenet-mnist-v1/lenet_train_test.prototxt');
    expect(train.layers).toHaveLength(11);
    expect(train.layers[0]).toMatchObject({
      type: 'DATA',
      data_param: { backend: 'LMDB', batch_size: 64 },
      transform_param: { scale: 0.00390625 },
      include: [{ phase: 'TRAIN' }],
    });
  });

  test('cifar10 V1 nets: LRN WITHIN_CHANNEL, AVE pooling, include: { } syntax', () => {
    const full = load('cifar10-full-v1/cifar10_full.prototxt');
    expect(full.layers).toHaveLength(13);
    expect(full.input_dim).toEqual([1, 3, 32, 32]);
    expect(byName(full, 'norm1').lrn_param).toEqual({
      norm_region: 'WITHIN_CHANNEL',
      local_size: 3,
      alpha: Math.fround(5e-5),
      beta: 0.75,
    });
    expect(byName(full, 'pool2').pooling_param).toEqual({ pool: 'AVE', kernel_size: 3, stride: 2 });
    const quick = load('cifar10-quick-v1/cifar10_quick_train_test.prototxt');
    expect(quick.layers).toHaveLength(15);
    expect(quick.layers.map((l: any) => l.include?.[0]?.phase)).toContain('TEST');
    expect(load('cifar10-quick-v1/cifar10_quick.prototxt').layers).toHaveLength(12);
    expect(load('cifar10-full-v1/cifar10_full_train_test.prototxt').layers).toHaveLength(16);
  });

  test('resnet20: BatchNorm, Scale, Eltwise', () => {
    const net = load('resnet20-cifar10/res20_cifar_train_test.prototxt');
    expect(net.layer).toHaveLength(97);
    expect(net.layer.filter((l: any) => l.type === 'BatchNorm')).toHaveLength(21); // 19 convolutions plus 2 projection shortcuts
    expect(byName(net, 'Scale1').scale_param).toEqual({ bias_term: true });
    expect(byName(net, 'Eltwise1')).toMatchObject({ bottom: ['Convolution1', 'Convolution3'], eltwise_param: { operation: 'SUM' } });
    expect(byName(net, 'Convolution1').convolution_param.weight_filler).toEqual({ type: 'gaussian', std: Math.fround(0.118) });
  });

  test('mtcnn: PReLU, Slice, Concat', () => {
    const names = ['det1', 'det2', 'det3', 'det4'];
    const nets = names.map((n) => load(`mtcnn/${n}.prototxt`));
    expect(nets.map((n) => n.name)).toEqual(['PNet', 'RNet', 'ONet', 'LNet']);
    expect(nets.map((n) => n.layer.length)).toEqual([10, 13, 18, 59]);
    expect(nets[0].input_dim).toEqual([1, 3, 12, 12]);
    expect(byName(nets[3], 'slicer_data').slice_param).toEqual({ axis: 1, slice_point: [3, 6, 9, 12] });
    expect(byName(nets[3], 'concat')).toMatchObject({ type: 'Concat', concat_param: { axis: 1 } });
    expect(byName(nets[0], 'PReLU1').type).toBe('PReLU');
  });

  test('ultraface RFB-320: depthwise conv, Permute with permute_param, Reshape', () => {
    const net = load('ultraface-rfb320/RFB-320.prototxt');
    expect(net.layer).toHaveLength(111);
    expect(net.layer[0].input_param.shape[0].dim).toEqual([1, 3, 240, 320]);
    expect(byName(net, '248').convolution_param).toMatchObject({ group: 16, kernel_h: 3, pad_w: 1, dilation: [1] });
    const permutes = net.layer.filter((l: any) => l.type === 'Permute');
    expect(permutes).toHaveLength(8);
    expect(permutes[0].permute_param).toEqual({ order: [0, 2, 3, 1] });
    expect(byName(net, '328').reshape_param.shape.dim).toEqual([1, -1, 2]);
  });

  test('prototxt-only: CaffeNet, GoogLeNet, SqueezeNet deploy files', () => {
    const caffenet = load('prototxt-only/lrp-toolbox-caffenet/deploy.prototxt');
    expect(caffenet.name).toBe('CaffeNet');
    expect(caffenet.input_shape).toEqual([{ dim: [10, 3, 227, 227] }]);
    expect(caffenet.layer).toHaveLength(23);
    expect(byName(caffenet, 'norm1').lrn_param).toEqual({ local_size: 5, alpha: Math.fround(1e-4), beta: 0.75 });
    expect(byName(caffenet, 'conv2').convolution_param).toEqual({ num_output: 256, pad: [2], kernel_size: [5], group: 2 });
    const sequential = load('prototxt-only/lrp-toolbox-caffenet/deploy_sequential.prototxt');
    expect(sequential.input_shape).toEqual([{ dim: [1, 3, 227, 227] }]);

    const googlenet = load('prototxt-only/lrp-toolbox-googlenet/deploy.prototxt');
    expect(googlenet.layer).toHaveLength(142);
    expect(googlenet.layer.filter((l: any) => l.type === 'Concat')).toHaveLength(9);
    expect(byName(googlenet, 'loss3/classifier').inner_product_param.num_output).toBe(1000);

    const squeezenet = load('prototxt-only/squeezenet-v1.1/deploy.prototxt');
    expect(squeezenet.name).toBeUndefined();
    expect(squeezenet.layer).toHaveLength(67);
    expect(squeezenet.layer[0].input_param.shape).toEqual([{ dim: [10, 3, 227, 227] }]); // `shape: { dim: 10 dim: 3 ... }`
    expect(byName(squeezenet, 'pool10').pooling_param).toEqual({ pool: 'AVE', global_pooling: true });
    expect(sourceLineOf(byName(squeezenet, 'data'))).toBe(9);
  });

  test('a solver file is not a net: clean SCHEMA error at its first field', () => {
    const file = path.join(MODELS, 'resnet20-cifar10/solver.prototxt');
    const e = catchError(() => parseTextFormat(fs.readFileSync(file, 'utf8'), Net, file));
    expect({ code: e.code, line: e.line, column: e.column }).toEqual({ code: 'SCHEMA', line: 2, column: 1 });
    expect(e.message).toContain("unknown field 'net' in caffe.NetParameter");
  });
});

describe('fixture files', () => {
  const dir = path.join(__dirname, '..', 'fixtures', 'prototxt');

  test('syntax-zoo.prototxt (every syntax form, CRLF line endings) parses as expected', () => {
    const file = path.join(dir, 'syntax-zoo.prototxt');
    const net = parseTextFormat(fs.readFileSync(file, 'utf8'), Net, file);
    expect(net).toEqual(parse(fs.readFileSync(path.join(dir, 'syntax-zoo.expected.prototxt'), 'utf8')));
    expect(net.layer.map((l: object) => sourceLineOf(l))).toEqual([9, 18, 23, 28]);
  });
});

describe('performance: linear time on large and hostile input', () => {
  // No absolute speed limits here (speed is the bench's business): the 100k-line prototxt
  // must grow linearly (4x the layers at most 10x the time; quadratic work gives 16x), and
  // each hostile input must finish within a hang bound of 20x the time the slowest of them
  // takes on a busy 2-core machine (about 0.5 s); quadratic work on these megabyte inputs
  // would take hours, not seconds.
  const HANG_BOUND_MS = 10000;

  function bigNet(layers: number): string {
    const parts = ['name: "big"  # 10 lines per layer\n'];
    for (let i = 0; i < layers; i++) {
      parts.push(
        `layer {\n  name: "conv${i}"\n  type: "Convolution"\n  bottom: "x${i}"\n  top: "x${i + 1}"\n` +
          `  param { lr_mult: 1 decay_mult: 0.5 }\n  convolution_param {\n    num_output: ${i % 512} kernel_size: 3 pad: [1, 1]\n` +
          `    weight_filler { type: 'xavier' std: 1e-2 } }\n}\n`,
      );
    }
    return parts.join('');
  }

  test('a 100k-line prototxt parses and prints in linear time', () => {
    const text = bigNet(10000);
    expect(text.split('\n').length).toBeGreaterThanOrEqual(100000);
    const net = parse(text);
    expect(net.layer).toHaveLength(10000);
    expect(net.layer[9999][SOURCE_LINE]).toBe(2 + 9999 * 10);
    expectLinearGrowth('parsing', bigNet, (t) => parse(t), 2500, { k: 4, bound: 10 });
    expectLinearGrowth('printing', (n) => parse(bigNet(n)), (parsed) => printTextFormat(parsed, Net), 2500, { k: 4, bound: 10 });
  });

  test.each<[string, () => string, protobuf.Type]>([
    ['2 MB comment', () => '#' + 'x'.repeat(2e6), Net],
    ['2 MB string', () => 'name: "' + 'ab'.repeat(1e6) + '"', Net],
    ['1 MB of escapes', () => 'name: "' + '\\x41\\101\\n'.repeat(1e5) + '"', Net],
    ['unterminated 2 MB string', () => 'name: "' + 'a'.repeat(2e6), Net],
    ['1 MB number', () => 'input_dim: ' + '9'.repeat(1e6), Net],
    ['1 MB identifier', () => 'a'.repeat(1e6) + ': 1', Net],
    ['200k-element list', () => 'input_dim: [' + Array(2e5).fill('7').join(', ') + ']', Net],
    ['100k adjacent literals', () => 'name: ' + '"a" '.repeat(1e5), Net],
    ['1M opening braces', () => 'layer ' + '{'.repeat(1e6), Net],
    ['1M stray closing braces', () => '}'.repeat(1e6), Net],
    ['500k signs', () => 'input_dim: ' + '-'.repeat(5e5), Net],
    ['deep recursion attempt', () => 'child { '.repeat(2e5), Node],
  ])('%s: parsed or rejected with our error, within the hang bound', (_name, make, type) => {
    const text = make();
    const start = process.hrtime.bigint();
    try {
      parseTextFormat(text, type, FILE);
    } catch (e) {
      expect(e).toBeInstanceOf(CaffeLrpError);
    }
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(HANG_BOUND_MS);
  });
});
