/**
 * The JSON API through fastify.inject: every endpoint, its answers checked against the
 * library called directly (net.explainImage, renderHeatmap, overlayHeatmap), and every
 * error status the service promises.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import {
  COLORMAP_NAMES, RULE_NAMES, demoModel, loadLabels, overlayHeatmap, parseNpy, rankClasses, renderHeatmap,
  type ExplainOptions,
} from '../../lib/index';
import { buildServer } from '../../demonstrator/serve/server';
import { explainBody } from '../../demonstrator/serve/schemas';
import type { ServedModel } from '../../demonstrator/serve/model';
import { bundledImage, bundledModel, disposeModel, form, pngWithHeader } from './helpers';

let served: ServedModel;
let app: FastifyInstance;
let pageDir: string;

beforeAll(async () => {
  served = await bundledModel();
  // a stand-in page folder (the real bundle is built and tested by browser.test.ts)
  pageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-serve-page-'));
  fs.writeFileSync(path.join(pageDir, 'index.html'), '<!doctype html><title>page</title>');
  fs.writeFileSync(path.join(pageDir, '.secret'), 'hidden');
  app = await buildServer({ served, pageDir });
});

afterAll(async () => {
  await app.close();
  await disposeModel();
  fs.rmSync(pageDir, { recursive: true, force: true });
});

const explain = (body: FormData, server = app) => server.inject({ method: 'POST', url: '/api/explain', body });

function dataUrlBytes(url: string, mime: string): Buffer {
  const prefix = `data:${mime};base64,`;
  expect(url.startsWith(prefix)).toBe(true);
  return Buffer.from(url.slice(prefix.length), 'base64');
}

function expectError(res: { statusCode: number; json: () => any; body: string }, status: number, code: string): void {
  expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
  expect(typeof res.json().error.message).toBe('string');
  expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
}

describe('GET /api/model', () => {
  test('names the model, its classes with labels, layers, rules, composites and colour maps', async () => {
    const res = await app.inject('/api/model');
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m.name).toBe('FashionMNIST_LeNet_LRN');
    expect(m.inputShape).toEqual(served.net.inputShape);
    const labels = await loadLabels(demoModel.labels);
    expect(m.classes).toEqual(labels.map((label, index) => ({ index, label })));
    expect(m.layers.map((l: { name: string }) => l.name)).toEqual(served.net.layers.map((l) => l.name));
    expect(m.rules.map((r: { name: string }) => r.name)).toEqual(Object.keys(RULE_NAMES));
    expect(m.rules.map((r: { formulaType: number }) => r.formulaType)).toEqual(Object.values(RULE_NAMES));
    expect(m.rules.find((r: { name: string }) => r.name === 'epsilon').parameters.map((p: { name: string }) => p.name)).toEqual(['epsstab']);
    expect(m.composites).toEqual([]);
    expect(m.colormaps).toEqual([...COLORMAP_NAMES]);
    expect(m.limits).toEqual({ maxUploadBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, queue: 8, timeoutMs: 30_000 });
  });
});

describe('POST /api/explain gives what the library gives', () => {
  async function compare(fields: Record<string, string>, options: ExplainOptions, image = 0, colormap: (typeof COLORMAP_NAMES)[number] = 'blue-black-yellow') {
    const res = await explain(form(bundledImage(image), { ...fields, relevance: 'npy' }));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const direct = await served.net.explainImage(demoModel.images[image], options);
    expect(body.scores).toEqual(Array.from(direct.scores));
    expect(body.explained.map((e: { class: number }) => e.class)).toEqual(direct.classes);
    expect(body.explained.map((e: { label: string }) => e.label)).toEqual(direct.labels);
    const top5 = rankClasses(direct.scores).slice(0, 5);
    expect(body.top).toEqual(top5.map((c) => ({ class: c, label: served.net.labels![c], score: direct.scores[c] })));
    expect(dataUrlBytes(body.heatmap.png, 'image/png').equals(await renderHeatmap(direct.heatmap, { colormap }))).toBe(true);
    expect(dataUrlBytes(body.overlay.png, 'image/png').equals(await overlayHeatmap(direct.heatmap, direct.asInputted, { colormap, opacity: Number(fields.opacity ?? 0.5) }))).toBe(true);
    const shown = await sharp(dataUrlBytes(body.image.png, 'image/png')).raw().toBuffer();
    expect(shown.equals(Buffer.from(direct.asInputted.data))).toBe(true);
    const npy = parseNpy(dataUrlBytes(body.relevance.npy, 'application/octet-stream'));
    expect(npy.shape).toEqual([direct.heatmap.channels, direct.heatmap.height, direct.heatmap.width]);
    expect(Array.from(npy.data as Float32Array)).toEqual(Array.from(direct.heatmap.data));
    let sum = 0;
    for (const v of direct.heatmap.data) sum += v;
    expect(body.conservation.input).toBeCloseTo(sum, 10);
    expect(body.conservation.layers.length).toBeGreaterThan(0);
    expect(Object.keys(body.timings).sort()).toEqual(['engineMs', 'queueMs', 'renderMs', 'totalMs']);
    return body;
  }

  test('no fields: the default rule (layer_dep) on the top-1 class', async () => {
    const body = await compare({}, {});
    expect(body.options.rule ?? body.options.relpropformulatype).toBe('layer_dep');
  });

  test('epsilon with its parameter, a chosen class, another colour map and opacity', async () => {
    const body = await compare({ rule: 'epsilon', epsstab: '0.01', target: '6', colormap: 'jet', opacity: '0.8' }, { rule: 'epsilon', epsstab: 0.01, targets: 6 }, 3, 'jet');
    expect(body.explained).toEqual([{ class: 6, label: served.net.labels![6] }]);
  });

  test('a rule by formula type number, top-5 target, a layer range', async () => {
    const body = await compare({ rule: '2', alphabeta_beta: '0.5', target: 'top5', lastlayerindex: '10', firstlayerindex: '4' },
      { rule: 'alphabeta', alphabeta_beta: 0.5, targets: 'top5', lastlayerindex: 10, firstlayerindex: 4 }, 5);
    expect(body.explained).toHaveLength(5);
  });

  test('a rule that needs the aux layer index gets its listed default (0)', async () => {
    await compare({ rule: 'eps_n_flat', epsstab: '0.1' }, { rule: 'eps_n_flat', epsstab: 0.1, auxiliaryvariable_maxlayerindexforflatdistinconv: 0 }, 2);
  });

  test('the heatmap depends on the class (the comparison can fail)', async () => {
    const a = (await explain(form(bundledImage(0), { target: '0' }))).json();
    const b = (await explain(form(bundledImage(0), { target: '1' }))).json();
    expect(a.heatmap.png).not.toBe(b.heatmap.png);
  });
});

describe('POST /api/explain refuses bad requests with JSON errors', () => {
  test('empty body (no content type)', async () => {
    expectError(await app.inject({ method: 'POST', url: '/api/explain' }), 400, 'VALIDATION');
  });
  test('empty multipart body', async () => {
    expectError(await app.inject({ method: 'POST', url: '/api/explain', payload: '--x--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 400, 'VALIDATION');
  });
  test('malformed multipart (cut off inside a part)', async () => {
    const payload = '--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG';
    expectError(await app.inject({ method: 'POST', url: '/api/explain', payload, headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 400, 'MALFORMED_MULTIPART');
  });
  test('a JSON body instead of a form', async () => {
    expectError(await app.inject({ method: 'POST', url: '/api/explain', payload: { image: 'x' }, headers: { 'content-type': 'application/json' } }), 400, 'BAD_FIELD');
  });
  test('an unknown content type', async () => {
    expectError(await app.inject({ method: 'POST', url: '/api/explain', payload: '<a/>', headers: { 'content-type': 'application/xml' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  test('image sent as a text field', async () => {
    const f = new FormData();
    f.append('image', 'not a file');
    expectError(await explain(f), 400, 'BAD_FIELD');
  });
  test('zero bytes', async () => {
    expectError(await explain(form(Buffer.alloc(0))), 400, 'EMPTY_UPLOAD');
  });
  test('truncated PNG (header intact, pixel data cut)', async () => {
    const png = bundledImage(0);
    expectError(await explain(form(png.subarray(0, Math.floor(png.length / 2)))), 422, 'DECODE');
  });
  test('PNG with a garbled header', async () => {
    const png = Buffer.from(bundledImage(0));
    png.fill(0xff, 8, 40);
    expectError(await explain(form(png)), 422, 'DECODE');
  });
  test('a 60000x60000 PNG header: refused before decoding', async () => {
    const res = await explain(form(pngWithHeader(60000, 60000)));
    expectError(res, 413, 'IMAGE_TOO_LARGE');
    expect(res.json().error.message).toContain('60000x60000');
  });
  test('the pixel limit is the configured one', async () => {
    const small = await buildServer({ served, maxPixels: 28 * 28 - 1, pageDir });
    try {
      expectError(await explain(form(bundledImage(0)), small), 413, 'IMAGE_TOO_LARGE');
    } finally {
      await small.close();
    }
  });
  test('SVG (even named .png)', async () => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>');
    const res = await explain(form(svg, {}, 'picture.png'));
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(res.json().error.message).toContain('SVG');
  });
  test('bytes that are no image format', async () => {
    expectError(await explain(form(Buffer.from('GIF88a hello world, not really a gif'))), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  test('50 MB upload (limit 10 MiB)', async () => {
    const big = Buffer.concat([bundledImage(0), Buffer.alloc(50 * 1024 * 1024)]);
    expectError(await explain(form(big)), 413, 'UPLOAD_TOO_LARGE');
  });
  test('two files', async () => {
    const f = form(bundledImage(0));
    f.append('image2', new Blob([new Uint8Array(bundledImage(1))]), 'b.png');
    expectError(await explain(f), 413, 'TOO_MANY_FILES');
  });
  test('unknown rule', async () => {
    const res = await explain(form(bundledImage(0), { rule: 'magic' }));
    expectError(res, 400, 'VALIDATION');
    expect(res.json().error.message).toContain('rule');
  });
  test('unknown composite', async () => {
    expectError(await explain(form(bundledImage(0), { composite: 'EpsilonPlusFlat' })), 400, 'UNKNOWN_COMPOSITE');
  });
  test('class out of range', async () => {
    const res = await explain(form(bundledImage(0), { target: '10' }));
    expectError(res, 400, 'CLASS_OUT_OF_RANGE');
    expect(res.json().error.message).toContain('10 classes');
  });
  test('a target that is no class', async () => {
    expectError(await explain(form(bundledImage(0), { target: '-1' })), 400, 'VALIDATION');
  });
  test('parameter out of range, unknown colour map, unknown field, repeated field', async () => {
    expectError(await explain(form(bundledImage(0), { rule: 'epsilon', epsstab: '-1' })), 400, 'VALIDATION');
    expectError(await explain(form(bundledImage(0), { epsstab: 'abc' })), 400, 'VALIDATION');
    expectError(await explain(form(bundledImage(0), { colormap: 'rainbow' })), 400, 'VALIDATION');
    expectError(await explain(form(bundledImage(0), { path: '/etc/passwd' })), 400, 'VALIDATION');
    const f = form(bundledImage(0), { target: '1' });
    f.append('target', '2');
    expectError(await explain(f), 400, 'VALIDATION'); // a repeated field arrives as an array: the schema says string
  });
  test('options the library refuses (a first layer above the start layer) are 400 OPTION', async () => {
    expectError(await explain(form(bundledImage(0), { firstlayerindex: '12', lastlayerindex: '10' })), 400, 'OPTION');
  });
  test('an internal failure is a bare 500 without details', async () => {
    const broken = Object.create(served.net, { explain: { value: async () => { throw new TypeError('secret internal detail at /work/x.ts:1'); } } });
    const server = await buildServer({ served: { ...served, net: broken }, pageDir });
    try {
      const res = await explain(form(bundledImage(0)), server);
      expectError(res, 500, 'INTERNAL');
      expect(res.body).not.toContain('secret');
    } finally {
      await server.close();
    }
  });
});

describe('queue and timeouts', () => {
  /** The bundled net, held in preprocess until `release()` (the engine is busy meanwhile). */
  function gatedNet() {
    let release!: () => void;
    let entered!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inside = new Promise<void>((r) => (entered = r));
    const net = Object.create(served.net, {
      preprocess: { value: async (img: Buffer) => { entered(); await gate; return served.net.preprocess(img); } },
    });
    return { net, release, inside };
  }

  async function until(server: FastifyInstance, depth: number): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if ((await server.inject('/healthz')).json().queue === depth) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`queue never reached depth ${depth}`);
  }

  test('a full queue answers 503 with Retry-After; the waiting ones still finish', async () => {
    const g = gatedNet();
    const server = await buildServer({ served: { ...served, net: g.net }, queue: 1, pageDir });
    try {
      const running = explain(form(bundledImage(0)), server);
      await g.inside; // the first request holds the engine
      const waiting = explain(form(bundledImage(1)), server);
      await until(server, 1);
      const refused = await explain(form(bundledImage(2)), server);
      expectError(refused, 503, 'QUEUE_FULL');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const metrics = (await server.inject('/metrics')).body;
      expect(metrics).toMatch(/^caffe_lrp_queue_depth 1$/m);
      expect(metrics).toMatch(/^caffe_lrp_engine_busy 1$/m);
      g.release();
      expect((await running).statusCode).toBe(200);
      expect((await waiting).statusCode).toBe(200);
      const after = (await server.inject('/metrics')).body;
      expect(after).toMatch(/^caffe_lrp_queue_rejected_total 1$/m);
      expect(after).toMatch(/^caffe_lrp_engine_tasks_total 2$/m);
      expect(after).toMatch(/^caffe_lrp_http_requests_total\{route="\/api\/explain",method="POST",status="503"\} 1$/m);
    } finally {
      g.release();
      await server.close();
    }
  });

  test('a request that outlives its time limit gets 503 TIMEOUT; a waiting one leaves the line unrun', async () => {
    const g = gatedNet();
    const server = await buildServer({ served: { ...served, net: g.net }, queue: 4, timeoutMs: 50, pageDir });
    try {
      const [a, b] = await Promise.all([explain(form(bundledImage(0)), server), explain(form(bundledImage(1)), server)]);
      expectError(a, 503, 'TIMEOUT');
      expectError(b, 503, 'TIMEOUT');
      expect(a.headers['retry-after']).toBeDefined();
      g.release();
      await until(server, 0);
      const metrics = (await server.inject('/metrics')).body;
      expect(metrics).toMatch(/^caffe_lrp_queue_timeouts_total 2$/m);
      expect(metrics).toMatch(/^caffe_lrp_engine_tasks_total 1$/m); // the one that waited never ran
    } finally {
      g.release();
      await server.close();
    }
  });
});

describe('the other endpoints', () => {
  test('GET /healthz', async () => {
    const res = await app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', queue: 0 });
  });

  test('GET /metrics: Prometheus text with requests by route and status, latency histogram, queue and engine figures', async () => {
    await app.inject('/healthz');
    await app.inject('/no/such/route/123');
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
    const text = res.body;
    expect(text).toMatch(/^caffe_lrp_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+$/m);
    expect(text).toMatch(/^caffe_lrp_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    expect(text).not.toContain('/no/such/route');
    expect(text).toMatch(/^caffe_lrp_http_request_duration_seconds_bucket\{route="\/api\/explain",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^caffe_lrp_engine_seconds_total [0-9.e-]+$/m);
    expect(text).toMatch(/^caffe_lrp_queue_depth 0$/m);
    // every sample line is `name{labels} value` or `name value`; buckets are cumulative
    for (const line of text.trim().split('\n')) if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
    const buckets = [...text.matchAll(/^caffe_lrp_http_request_duration_seconds_bucket\{route="\/api\/explain",le="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(buckets.length).toBe(13);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
  });

  test('GET /openapi.json: OpenAPI 3.1 with the schema Fastify validates with', async () => {
    const res = await app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/explain', '/api/model', '/healthz', '/metrics', '/openapi.json']);
    expect(doc.paths['/api/explain'].post.requestBody.content['multipart/form-data'].schema).toEqual(JSON.parse(JSON.stringify(explainBody)));
    expect(Object.keys(doc.paths['/api/explain'].post.responses).sort()).toEqual(['200', '400', '413', '415', '422', '500', '503']);
  });

  test('the page folder is served; nothing outside it, no dotfiles', async () => {
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    for (const url of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/.secret', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
      const res = await app.inject(url);
      expect({ url, refused: res.statusCode === 404 || res.statusCode === 403 }).toEqual({ url, refused: true });
      expect(res.json().error.code).toMatch(/^(NOT_FOUND|FORBIDDEN)$/);
      expect(res.body).not.toContain('caffe-lrp');
      expect(res.body).not.toContain('hidden');
    }
  });

  test('without a built page, / says how to build it (JSON 503)', async () => {
    const server = await buildServer({ served, pageDir: path.join(pageDir, 'missing') });
    try {
      expectError(await server.inject('/'), 503, 'PAGE_NOT_BUILT');
    } finally {
      await server.close();
    }
  });

  test('CORS: no headers by default; only the configured origin with --cors', async () => {
    const plain = await app.inject({ url: '/api/model', headers: { origin: 'http://evil.test' } });
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    const server = await buildServer({ served, cors: 'http://app.test', pageDir });
    try {
      const ok = await server.inject({ url: '/api/model', headers: { origin: 'http://app.test' } });
      expect(ok.headers['access-control-allow-origin']).toBe('http://app.test');
      const other = await server.inject({ url: '/api/model', headers: { origin: 'http://evil.test' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      const pre = await server.inject({ method: 'OPTIONS', url: '/api/explain', headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' } });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-methods']).toContain('POST');
    } finally {
      await server.close();
    }
  });
});
