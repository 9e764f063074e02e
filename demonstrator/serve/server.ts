/**
 * buildServer(options): the heatmap service as a Fastify instance, not yet listening (the
 * CLI listens; tests use fastify.inject). One model, one engine queue, the page from a
 * fixed folder, the JSON API, /healthz, /metrics, /openapi.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { CaffeLrpError, COLORMAP_NAMES } from '../../lib/index';
import { EngineQueue } from './engine-queue';
import { HttpError, mapError } from './http-error';
import { Metrics } from './metrics';
import { explainRequest, classCount, labelOf, renderResult, runEngine, type ExplainFields } from './explain';
import { loadServedModel, type ModelSource, type ServedModel } from './model';
import { openApiDocument } from './openapi';
import { COMPOSITES, RULES } from './rules';
import { explainBody } from './schemas';
import { checkUpload } from './upload';

export interface ServeOptions {
  model?: ModelSource;
  /** An already loaded model (tests share one); the server does not dispose it. */
  served?: ServedModel;
  /** Largest upload in bytes (default 10 MiB). */
  maxUploadBytes?: number;
  /** Largest image by its header's width x height (default 40 megapixels). */
  maxPixels?: number;
  /** Explanations that may wait for the engine (default 8); more get 503. */
  queue?: number;
  /** Time a request may wait and run, in ms (default 30 s); then 503 TIMEOUT. */
  timeoutMs?: number;
  /** Allowed CORS origin; none (default): no CORS headers at all. */
  cors?: string;
  /** Folder with the built page (default: dist/serve-page of the package). */
  pageDir?: string;
  /** Fastify's logger option (default off; the CLI logs warnings and errors). */
  logger?: boolean | { level: string };
}

export const DEFAULT_LIMITS = { maxUploadBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, queue: 8, timeoutMs: 30_000 } as const;

/** The package root: the nearest folder above this file with our package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'caffe-lrp') return dir;
    } catch {
      // keep looking
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('caffe-lrp serve: cannot find the package root');
    dir = up;
  }
}

export function defaultPageDir(): string {
  return path.join(packageRoot(), 'dist', 'serve-page');
}

function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
}

/** A route's label in /metrics: its pattern, never the raw URL (no unbounded label values). */
function routeLabel(req: FastifyRequest): string {
  return req.routeOptions?.url ?? 'unmatched';
}

export async function buildServer(options: ServeOptions = {}): Promise<FastifyInstance> {
  const limits = {
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_LIMITS.maxUploadBytes,
    maxPixels: options.maxPixels ?? DEFAULT_LIMITS.maxPixels,
    queue: options.queue ?? DEFAULT_LIMITS.queue,
    timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
  };
  for (const [k, v] of Object.entries(limits))
    if (!Number.isInteger(v) || v < (k === 'queue' ? 0 : 1)) throw new CaffeLrpError('OPTION', `buildServer: option '${k}' must be an integer >= ${k === 'queue' ? 0 : 1}, got ${v}`);
  const owned = options.served === undefined;
  const model = options.served ?? (await loadServedModel(options.model));
  const net = model.net;
  const queue = new EngineQueue(limits.queue);
  const metrics = new Metrics();
  const pageDir = options.pageDir ?? defaultPageDir();

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024, // non-multipart bodies; the API takes none
    requestTimeout: limits.timeoutMs + 5000, // node's bound on receiving a whole request
    connectionTimeout: limits.timeoutMs + 10_000,
    // unknown fields are errors, not silently dropped; text fields become numbers where the schema says so
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });

  app.addHook('onRequest', async (req, reply) => {
    (req as { startedAt?: bigint }).startedAt = process.hrtime.bigint();
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    // the page loads only its own files; results are data: URLs; no third-party hosts, so it works offline
    reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    if (options.cors !== undefined && req.headers.origin === options.cors) {
      reply.header('Access-Control-Allow-Origin', options.cors);
      reply.header('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        reply.header('Access-Control-Allow-Methods', 'GET, POST');
        reply.header('Access-Control-Allow-Headers', 'Content-Type');
        reply.header('Access-Control-Max-Age', '600');
        return reply.code(204).send();
      }
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const started = (req as { startedAt?: bigint }).startedAt ?? process.hrtime.bigint();
    metrics.record(routeLabel(req), req.method, reply.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
  });
  app.setErrorHandler((err, req, reply) => {
    const m = mapError(err);
    if (m.internal) req.log.error({ err }, 'internal error');
    reply.headers(m.headers).code(m.status).type('application/json').send(m.body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` } });
  });
  if (owned) app.addHook('onClose', async () => net.dispose());

  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fileSize: limits.maxUploadBytes, files: 1, fields: 16, fieldSize: 1024, parts: 17, headerPairs: 100 },
    throwFileSizeLimit: true,
  });

  const modelInfo = () => {
    const numClasses = classCount(model);
    return {
      name: model.name,
      inputShape: net.inputShape,
      classes: Array.from({ length: numClasses }, (_, i) => ({ index: i, label: labelOf(net, i) })),
      layers: net.layers.map((l) => ({ index: l.index, name: l.name, type: l.type })),
      rules: RULES,
      composites: COMPOSITES,
      colormaps: [...COLORMAP_NAMES],
      defaults: { ...model.defaults, colormap: model.colormap, target: 'top1', opacity: 0.5 },
      limits,
    };
  };

  app.get('/api/model', async () => modelInfo());

  app.post('/api/explain', { schema: { body: explainBody } }, async (req, reply) => {
    const fields = (req.body ?? {}) as ExplainFields;
    if (!Buffer.isBuffer(fields.image)) throw new HttpError(400, 'BAD_FIELD', "field 'image' must be a file part of a multipart/form-data body");
    const t0 = performance.now();
    const request = explainRequest(fields, model);
    await checkUpload(fields.image, limits.maxPixels);
    const image = fields.image;
    let queuedAt = 0;
    const engine = await queue.run(async () => {
      queuedAt = performance.now();
      return runEngine(net, image, request.options);
    }, limits.timeoutMs);
    const t1 = performance.now();
    const body = await renderResult(net, classCount(model), engine, request);
    const t2 = performance.now();
    body.timings = {
      queueMs: queuedAt - t0,
      engineMs: engine.engineMs,
      renderMs: t2 - t1,
      totalMs: t2 - t0,
    };
    reply.header('Cache-Control', 'no-store');
    return body;
  });

  app.get('/healthz', async () => ({ status: 'ok', queue: queue.depth }));

  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return metrics.render(queue);
  });

  const openapi = openApiDocument(packageVersion());
  app.get('/openapi.json', async () => openapi);

  if (fs.existsSync(path.join(pageDir, 'index.html'))) {
    // a fixed folder; @fastify/static refuses paths that leave it and dotfiles
    await app.register(fastifyStatic, { root: pageDir, prefix: '/', index: ['index.html'], dotfiles: 'deny', wildcard: true, cacheControl: true, maxAge: 0 });
  } else {
    app.get('/', async () => {
      throw new HttpError(503, 'PAGE_NOT_BUILT', 'the web page is not built; run `npm run setup` (the API works without it)');
    });
  }
  return app;
}
