#!/usr/bin/env node
// The npm package's install script. Uses the prebuilt engine (prebuilds/) when it loads on
// this machine; otherwise builds the engine from the shipped sources with node-gyp
// (binding.gyp), after checking that the compiler, make, python3 and the OpenBLAS headers
// and library are there: when something is missing it names the exact Debian/Ubuntu
// packages and stops. It never installs anything itself.
//
// In the package's own clone (`npm ci` of a developer), nothing is built here: native/setup.js
// builds the development engine with cmake-js.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const log = (msg) => process.stderr.write(`caffe-lrp: ${msg}\n`);

function isOwnClone() {
  const initCwd = process.env.INIT_CWD ? path.resolve(process.env.INIT_CWD) : '';
  return initCwd === root && fs.existsSync(path.join(root, 'native', 'setup.js'));
}

/** The engine node-gyp-build would pick, loaded in a separate process (a bad binary cannot take us down). */
function loadableEngine() {
  const probe =
    `const f = require('node-gyp-build').resolve(${JSON.stringify(root)});` +
    `require(f).blasInfo(); process.stdout.write(f);`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? { file: r.stdout } : { error: (r.stderr || '').trim().split('\n').find((l) => /Error/.test(l)) || r.stderr };
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const HEADERS = [
  '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/aarch64-linux-gnu/openblas-pthread/cblas.h',
];
const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu/openblas-openmp', '/usr/lib/aarch64-linux-gnu/openblas-openmp',
  '/usr/lib/x86_64-linux-gnu/openblas-pthread', '/usr/lib/aarch64-linux-gnu/openblas-pthread',
];

/** Debian/Ubuntu packages the source build needs and this machine lacks. */
function missingPackages() {
  const missing = [];
  if (!has('g++') && !has('c++')) missing.push('g++');
  if (!has('make')) missing.push('make');
  if (!has('python3')) missing.push('python3');
  const library = LIBRARY_DIRS.some((d) => fs.existsSync(path.join(d, 'libopenblas.so')));
  if (!HEADERS.some((h) => fs.existsSync(h)) || !library) missing.push('libopenblas-dev');
  return missing;
}

function buildFromSource() {
  // npm names its bundled node-gyp; outside npm, the one on PATH.
  const nodeGyp = process.env.npm_config_node_gyp;
  const [cmd, args] = nodeGyp ? [process.execPath, [nodeGyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  log('building the native engine from source with node-gyp (a few minutes)');
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`node-gyp rebuild failed with exit status ${r.status}`);
}

function main() {
  if (isOwnClone()) {
    log('development clone: the engine is built by native/setup.js (npm run setup), not here');
    return 0;
  }
  const before = loadableEngine();
  if (before.file) {
    log(`using the native engine ${path.relative(root, before.file)}`);
    return 0;
  }
  log(`no prebuilt engine loads on ${process.platform}-${process.arch} (${before.error}); building from source`);
  const missing = missingPackages();
  if (missing.length) {
    log(`the source build needs system packages that are missing: ${missing.join(' ')}\n` +
      `  Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}\n` +
      `  then: npm rebuild caffe-lrp`);
    return 1;
  }
  buildFromSource();
  const after = loadableEngine();
  if (!after.file) {
    log(`the engine built from source does not load: ${after.error}`);
    return 1;
  }
  log(`using the native engine ${path.relative(root, after.file)}`);
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  log(`install failed: ${e.message}`);
  process.exitCode = 1;
}
