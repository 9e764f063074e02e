'use strict';
/**
 * Builds the heatmap page (demonstrator/serve/page) into dist/serve-page: main.ts bundled by
 * esbuild into one app.js, next to index.html and style.css. Run by native/setup.js after
 * the TypeScript build, or by hand: node demonstrator/serve/build-page.js
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const src = path.join(__dirname, 'page');

function buildPage(outDir = path.join(root, 'dist', 'serve-page')) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [path.join(src, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: ['es2020'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    outfile: path.join(outDir, 'app.js'),
    logLevel: 'error',
  });
  for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(src, f), path.join(outDir, f));
  return outDir;
}

module.exports = { buildPage };

if (require.main === module) {
  try {
    buildPage(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  } catch (e) {
    process.stderr.write(`build-page: ${e.message}\n`);
    process.exit(1);
  }
}
