/**
 * JSON Schema objects of the API: Fastify validates requests with them, and /openapi.json
 * describes the API with the same objects (one source of truth).
 */
import { COLORMAP_NAMES, FORMULA_TYPES, RULE_NAMES } from '../../lib/index';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Machine-readable reason, e.g. QUEUE_FULL, UNSUPPORTED_MEDIA_TYPE, IMAGE_TOO_LARGE, OPTION' },
        message: { type: 'string' },
      },
    },
  },
} as const;

/** The multipart fields of POST /api/explain (text fields arrive as strings; Fastify coerces numbers). */
export const explainBody = {
  type: 'object',
  required: ['image'],
  additionalProperties: false,
  properties: {
    // no `type`: the file arrives as a Buffer (OpenAPI 3.1 marks binary multipart parts by contentMediaType)
    image: { description: 'The image file (PNG, JPEG, WebP, GIF or TIFF; judged by its content)', contentMediaType: 'application/octet-stream' },
    rule: { type: 'string', enum: [...Object.keys(RULE_NAMES), ...FORMULA_TYPES.map(String)], description: 'Rule name or formula type (GET /api/model lists them)' },
    composite: { type: 'string', maxLength: 64, description: 'A composite from GET /api/model (instead of rule)' },
    epsstab: { type: 'number', minimum: 0, description: 'ε of the epsilon rules' },
    alphabeta_beta: { type: 'number', minimum: 0, description: 'β of the alpha-beta rules (α = 1 + β)' },
    aux: { type: 'integer', minimum: 0, description: 'Layer index up to which the "_n_" rules use their lower rule' },
    target: { type: 'string', pattern: '^(top1|top5|[0-9]{1,9})$', description: "'top1' (default), 'top5' or a class index" },
    colormap: { type: 'string', enum: [...COLORMAP_NAMES] },
    opacity: { type: 'number', minimum: 0, maximum: 1, description: 'Heatmap weight in the overlay PNG (default 0.5)' },
    firstlayerindex: { type: 'integer', minimum: 0 },
    lastlayerindex: { type: 'integer', minimum: -2 },
    relevance: { type: 'string', enum: ['npy'], description: "'npy': also return the raw relevance (C x H x W float32) as a data URL" },
  },
} as const;

const pngUrl = { type: 'object', required: ['png'], properties: { png: { type: 'string', description: 'data:image/png;base64,…' } } } as const;

const parameter = {
  type: 'object',
  properties: {
    name: { type: 'string' }, label: { type: 'string' }, type: { type: 'string', enum: ['number', 'integer'] },
    minimum: { type: 'number' }, default: { type: 'number' }, step: { type: 'number' },
  },
} as const;

export const modelResponse = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    inputShape: { type: 'array', items: { type: 'integer' } },
    classes: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, label: { type: 'string' } } } },
    layers: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, name: { type: 'string' }, type: { type: 'string' } } } },
    rules: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, formulaType: { type: 'integer' }, description: { type: 'string' }, parameters: { type: 'array', items: parameter } } } },
    composites: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, description: { type: 'string' }, parameters: { type: 'array', items: parameter } } } },
    colormaps: { type: 'array', items: { type: 'string' } },
    defaults: { type: 'object', additionalProperties: true },
    limits: { type: 'object', properties: { maxUploadBytes: { type: 'integer' }, maxPixels: { type: 'integer' }, queue: { type: 'integer' }, timeoutMs: { type: 'integer' } } },
  },
} as const;

export const explainResponse = {
  type: 'object',
  required: ['scores', 'top', 'explained', 'image', 'heatmap', 'overlay', 'conservation', 'timings'],
  properties: {
    scores: { type: 'array', items: { type: 'number' }, description: "The scores blob's values" },
    top: { type: 'array', items: { type: 'object', properties: { class: { type: 'integer' }, label: { type: 'string' }, score: { type: 'number' } } }, description: 'The five best classes' },
    explained: { type: 'array', items: { type: 'object', properties: { class: { type: 'integer' }, label: { type: 'string' } } }, description: 'The classes whose relevance the heatmap shows' },
    options: { type: 'object', additionalProperties: true, description: 'The relevance options used' },
    image: pngUrl,
    heatmap: pngUrl,
    overlay: pngUrl,
    relevance: { type: 'object', properties: { npy: { type: 'string', description: 'data:application/octet-stream;base64,… (.npy, float32 C x H x W)' }, shape: { type: 'array', items: { type: 'integer' } } } },
    conservation: {
      type: 'object',
      properties: {
        seeded: { type: 'number', description: 'Relevance put into the start layer' },
        input: { type: 'number', description: 'Relevance arriving at the input (sum of the heatmap)' },
        layers: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, name: { type: 'string' }, type: { type: 'string' }, in: { type: 'number' }, out: { type: 'number' } } } },
      },
    },
    timings: { type: 'object', properties: { queueMs: { type: 'number' }, engineMs: { type: 'number' }, renderMs: { type: 'number' }, totalMs: { type: 'number' } } },
  },
} as const;

export const healthResponse = { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, queue: { type: 'integer' } } } as const;

export { errorSchema };
