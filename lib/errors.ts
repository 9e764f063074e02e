/**
 * The one error type caffe-lrp throws for bad input: malformed files, shape mismatches,
 * unsupported layers, invalid options. It always names where the problem is (file, line,
 * column, layer) so a user can fix the input without reading our source.
 */
export type CaffeLrpErrorCode =
  | 'PARSE' // text syntax (prototxt, config, file list, toolbox text model)
  | 'SCHEMA' // well-formed text or binary that does not fit the Caffe schema
  | 'DECODE' // binary protobuf that cannot be decoded (truncated, corrupt)
  | 'SHAPE' // blob or layer shapes that do not fit together
  | 'UNSUPPORTED' // a layer type or feature this engine does not implement
  | 'OPTION' // an invalid option value
  | 'IO' // a file that cannot be read or written
  | 'STATE' // an API call in the wrong state (disposed net, no forward pass)
  | 'MEMORY' // a request that would need more memory than the process may use (lib/memory-budget.ts)
  | 'NONFINITE' // NaN or Inf where a number must be finite (weights, a layer's output, a relevance map)
  | 'NATIVE'; // the native engine is missing or cannot be loaded (the message has the loader's error and the fix)

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  layer?: string;
}

export class CaffeLrpError extends Error {
  readonly code: CaffeLrpErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly layer?: string;

  constructor(code: CaffeLrpErrorCode, message: string, where: ErrorLocation = {}) {
    super(formatMessage(message, where));
    this.name = 'CaffeLrpError';
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.layer = where.layer;
  }
}

function formatMessage(message: string, where: ErrorLocation): string {
  let place = '';
  if (where.file !== undefined) {
    place = where.file;
    if (where.line !== undefined) {
      place += `:${where.line}`;
      if (where.column !== undefined) place += `:${where.column}`;
    }
  }
  if (where.layer !== undefined) {
    place += place ? ` (layer '${where.layer}')` : `layer '${where.layer}'`;
  }
  return place ? `${place}: ${message}` : message;
}
