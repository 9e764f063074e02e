/**
 * `caffe-lrp serve`: parses the flags, builds the server and listens until SIGINT/SIGTERM.
 * The argument parsing is a pure function (parseServeArgs) so that tests check it without a
 * socket.
 */
import { parseArgs } from 'util';
import { CaffeLrpError } from '../../lib/index';
import { buildServer, DEFAULT_LIMITS, type ServeOptions } from './server';
import type { ModelSource } from './model';

export const USAGE = `usage: caffe-lrp serve [options]

Serves a heatmap web page and JSON API for one Caffe classifier (default: the bundled
Fashion-MNIST model).

Options:
  --config <file>       a demonstrator config file (param_file, model_file, synsetfile, mean_file, rules)
  --model <files>       prototxt,caffemodel[,labels] (comma-separated, or --model given 2-3 times)
  --host <host>         address to listen on (default 127.0.0.1)
  --port <port>         port (default 8080; 0 = any free port)
  --max-upload <size>   largest upload, e.g. 10MB, 512KB (default 10MB)
  --max-pixels <n>      largest image by width x height (default ${DEFAULT_LIMITS.maxPixels})
  --queue <n>           explanations that may wait for the engine (default ${DEFAULT_LIMITS.queue}); more get 503
  --timeout <ms>        time a request may wait and run (default ${DEFAULT_LIMITS.timeoutMs})
  --cors <origin>       allow this origin (default: no CORS headers)
  -h, --help            this text
`;

export class UsageError extends Error {}

export interface ServeArgs {
  help: boolean;
  host: string;
  port: number;
  options: ServeOptions;
}

function positiveInt(flag: string, v: string, min = 1): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > 2 ** 31) throw new UsageError(`${flag} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** '10MB', '512k', '1048576' → bytes (powers of 1024). */
export function parseSize(flag: string, v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`${flag} must be a size like 10MB, 512KB or a number of bytes, got '${v}'`);
  const n = Math.floor(Number(m[1]) * 1024 ** ' kmg'.indexOf(m[2].toLowerCase() || ' '));
  if (n < 1 || n > 2 ** 31) throw new UsageError(`${flag} must be from 1 byte to 2 GB, got '${v}'`);
  return n;
}

export function parseServeArgs(argv: string[]): ServeArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        config: { type: 'string' }, model: { type: 'string', multiple: true }, host: { type: 'string' }, port: { type: 'string' },
        'max-upload': { type: 'string' }, 'max-pixels': { type: 'string' }, queue: { type: 'string' }, timeout: { type: 'string' },
        cors: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const options: ServeOptions = {};
  if (v.config !== undefined && v.model !== undefined) throw new UsageError('give --config or --model, not both');
  if (v.config !== undefined) options.model = { kind: 'config', file: v.config };
  if (v.model !== undefined) {
    const files = v.model.flatMap((m) => m.split(',')).map((s) => s.trim()).filter(Boolean);
    if (files.length < 2 || files.length > 3) throw new UsageError(`--model needs prototxt,caffemodel[,labels], got ${files.length} file(s)`);
    const source: ModelSource = { kind: 'files', prototxt: files[0], caffemodel: files[1], labels: files[2] };
    options.model = source;
  }
  if (v['max-upload'] !== undefined) options.maxUploadBytes = parseSize('--max-upload', v['max-upload']);
  if (v['max-pixels'] !== undefined) options.maxPixels = positiveInt('--max-pixels', v['max-pixels']);
  if (v.queue !== undefined) options.queue = positiveInt('--queue', v.queue, 0);
  if (v.timeout !== undefined) options.timeoutMs = positiveInt('--timeout', v.timeout);
  if (v.cors !== undefined) {
    if (!/^https?:\/\/[^\s/]+$/.test(v.cors)) throw new UsageError(`--cors must be an origin like http://localhost:3000, got '${v.cors}'`);
    options.cors = v.cors;
  }
  const port = v.port === undefined ? 8080 : positiveInt('--port', v.port, 0);
  if (port > 65535) throw new UsageError(`--port must be from 0 to 65535, got ${port}`);
  return { help: v.help === true, host: v.host ?? '127.0.0.1', port, options };
}

/** Runs `caffe-lrp <argv>`; resolves to an exit status while serving keeps the process alive. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    process.stdout.write(`usage: caffe-lrp serve [options]   (caffe-lrp serve --help for the options)\n`);
    return sub === undefined ? 1 : 0;
  }
  if (sub !== 'serve') {
    process.stderr.write(`caffe-lrp: unknown command '${sub}' (commands: serve)\n`);
    return 1;
  }
  let args: ServeArgs;
  try {
    args = parseServeArgs(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`caffe-lrp serve: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const app = await buildServer({ ...args.options, logger: { level: 'warn' } });
    const stop = () => void app.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const address = await app.listen({ host: args.host, port: args.port });
    process.stdout.write(`caffe-lrp serve: ${address} (model '${(await app.inject('/api/model')).json().name}')\n`);
    return 0;
  } catch (e) {
    const msg = e instanceof CaffeLrpError || e instanceof Error ? e.message : String(e);
    process.stderr.write(`caffe-lrp serve: error: ${msg.replace(/\s*[\r\n]+\s*/g, '; ')}\n`);
    return 1;
  }
}

/** Entry of demonstrator/bin/caffe-lrp.js (through launch.js). */
export function runCommand(_command: string): void {
  main(process.argv.slice(2)).then(
    (code) => { if (code !== 0) process.exit(code); },
    (e) => { process.stderr.write(`caffe-lrp: internal error: ${(e as Error).stack ?? e}\n`); process.exit(70); },
  );
}
