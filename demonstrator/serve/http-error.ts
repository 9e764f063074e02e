/**
 * Errors the service sends to clients: `{ error: { code, message } }` with an HTTP status.
 * Library errors (CaffeLrpError) map to 4xx by their code; anything unexpected becomes a
 * plain 500 whose details stay in the server log (never a stack trace to the client).
 */
import { CaffeLrpError } from '../../lib/index';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Status per library error code: bad options and undecodable images are the client's, the rest ours. */
const LIBRARY_STATUS: Record<string, number> = {
  OPTION: 400,
  DECODE: 422,
  SHAPE: 422,
  UNSUPPORTED: 422,
  PARSE: 422,
  SCHEMA: 422,
  IO: 500,
  STATE: 500,
};

/** Fastify's and its plugins' own client errors, by their code, to ours. */
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_VALIDATION: 'VALIDATION',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'TOO_MANY_FILES',
  FST_FIELDS_LIMIT: 'TOO_MANY_FIELDS',
  FST_PARTS_LIMIT: 'TOO_MANY_PARTS',
  FST_PROTO_VIOLATION: 'BAD_REQUEST',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

const BUSBOY_MESSAGES = /^(Unexpected end of (form|file|multipart data)|Malformed (part header|urlencoded form)|Multipart: Boundary not found|Unsupported content type)/;

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** True when the error is ours (5xx): log it with its stack. */
  internal: boolean;
}

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) return { status: err.statusCode, body: body(err.code, err.message), headers: err.headers, internal: err.statusCode >= 500 && err.code === 'INTERNAL' };
  if (err instanceof CaffeLrpError) {
    const status = LIBRARY_STATUS[err.code] ?? 500;
    return status >= 500
      ? { status, body: body('INTERNAL', 'internal error'), headers: {}, internal: true }
      : { status, body: body(err.code, err.message), headers: {}, internal: false };
  }
  const e = err as { statusCode?: number; code?: string; message?: string; name?: string };
  // busboy (under @fastify/multipart) rejects a broken form with plain Errors: the client's fault
  if (e?.statusCode === undefined && BUSBOY_MESSAGES.test(String(e?.message)))
    return { status: 400, body: body('MALFORMED_MULTIPART', `malformed multipart body: ${e.message}`), headers: {}, internal: false };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    // busboy's malformed-form errors carry no code; they are still the client's fault
    const code = (e.code && FRAMEWORK_CODES[e.code]) ?? (status === 413 ? 'UPLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 403 ? 'FORBIDDEN' : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST');
    return { status, body: body(code, String(e.message ?? 'bad request')), headers: {}, internal: false };
  }
  return { status: 500, body: body('INTERNAL', 'internal error'), headers: {}, internal: true };
}

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
