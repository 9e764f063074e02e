'use strict';
/**
 * Jest transform for the few dependencies that ship ES modules only (cookie 2 under
 * fastify's light-my-request, content-disposition 3 under @fastify/static). Node >= 20.19
 * loads them through require(esm); jest 29's module system cannot, so they are turned into
 * CommonJS here, with esbuild (already a devDependency for the serve page).
 */
const esbuild = require('esbuild');

module.exports = {
  process(source, filename) {
    const out = esbuild.transformSync(source, { loader: 'js', format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: 'inline' });
    return { code: out.code };
  },
};
