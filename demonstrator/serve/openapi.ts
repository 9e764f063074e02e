/** The OpenAPI 3.1 description served at /openapi.json, built from the schemas Fastify validates with. */
import { errorSchema, explainBody, explainResponse, healthResponse, modelResponse } from './schemas';

const errors = (codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: STATUS[c], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));

const STATUS: Record<number, string> = {
  400: 'Bad request: a missing or invalid field, an empty file, a class out of range',
  413: 'Upload larger than the size limit, or an image with more pixels than the limit',
  415: 'Not an image type the decoder accepts (judged by content; SVG refused)',
  422: 'The image cannot be decoded (e.g. truncated)',
  500: 'Internal error',
  503: 'The engine queue is full or the request timed out (see Retry-After)',
};

export function openApiDocument(version: string): object {
  return {
    openapi: '3.1.0',
    info: { title: 'caffe-lrp heatmap service', version, description: 'Layer-wise Relevance Propagation heatmaps for one Caffe image classifier.' },
    paths: {
      '/api/model': { get: { summary: 'The served model: classes, layers, rules, colour maps, limits', responses: { 200: { description: 'The model', content: { 'application/json': { schema: modelResponse } } } } } },
      '/api/explain': {
        post: {
          summary: 'Explain one image',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: explainBody } } },
          responses: { 200: { description: 'Scores, heatmap and overlay', content: { 'application/json': { schema: explainResponse } } }, ...errors([400, 413, 415, 422, 500, 503]) },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'Alive', content: { 'application/json': { schema: healthResponse } } } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
    components: { schemas: { Error: errorSchema } },
  };
}
