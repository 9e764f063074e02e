#!/usr/bin/env node
// Makes a fresh clone ready to run: installs npm packages, the system packages the native
// engine builds against (Debian/Ubuntu: cmake, g++, libopenblas-dev), builds the native
// addon and compiles the TypeScript. Each step is skipped when its output is up to date,
// so `npm test` and `npm run demo` can call it every time. Only the npm registry and the
// distribution's package archive are used.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const quiet = process.argv.includes('--quiet');
const log = (msg) => { if (!quiet) process.stderr.write(`[setup] ${msg}\n`); };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`'${cmd} ${args.join(' ')}' failed with exit status ${r.status}`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    if (!fs.existsSync(p)) return;
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) if (e !== 'node_modules' && !e.startsWith('.')) visit(path.join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  paths.forEach((p) => visit(path.join(root, p)));
  return newest;
}

function mtime(p) {
  const f = path.join(root, p);
  return fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0;
}

const BLAS_HEADERS = [
  '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/aarch64-linux-gnu/openblas-pthread/cblas.h',
  '/usr/include/openblas/cblas.h',
];

const OPENMP_BLAS_DIRS = ['/usr/lib/x86_64-linux-gnu/openblas-openmp', '/usr/lib/aarch64-linux-gnu/openblas-openmp'];

function ensureSystemPackages() {
  const missing = [];
  if (!has('cmake')) missing.push('cmake');
  if (!has('g++') && !has('c++')) missing.push('g++');
  if (!has('make')) missing.push('make');
  if (!BLAS_HEADERS.some((h) => fs.existsSync(h))) missing.push('libopenblas-dev');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // The OpenMP build of OpenBLAS is faster here (see CMakeLists.txt) but optional: without
  // root we build against whichever OpenBLAS is installed.
  const openmpBlas = OPENMP_BLAS_DIRS.some((d) => fs.existsSync(path.join(d, 'libopenblas.so')));
  if (!openmpBlas && isRoot && has('apt-get')) missing.push('libopenblas-openmp-dev');
  if (missing.length === 0) return;
  const required = missing.filter((p) => p !== 'libopenblas-openmp-dev');
  if ((!isRoot || !has('apt-get')) && required.length > 0) {
    throw new Error(`missing system packages: ${missing.join(' ')}.\n` +
      `Install them first, e.g.: sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function ensureNodeModules() {
  const stamp = 'node_modules/.package-lock.json';
  if (mtime(stamp) >= mtime('package-lock.json') && fs.existsSync(path.join(root, 'node_modules/node-addon-api'))) return;
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureNativeBuild() {
  const out = 'build-cmake/Release/caffe_lrp.node';
  const sources = newestMtime(['native', 'CMakeLists.txt']);
  if (mtime(out) >= sources) return;
  log('building the native engine (cmake-js)');
  run(process.execPath, [require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), 'compile', '--out', 'build-cmake']);
}

function ensureTypeScriptBuild() {
  const stamp = 'dist/.build-stamp';
  const sources = newestMtime(['lib', 'demonstrator', 'test', 'proto', 'tsconfig.json']);
  if (mtime(stamp) >= sources) return;
  log('compiling TypeScript');
  run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json']);
  run(process.execPath, [path.join(root, 'demonstrator', 'serve', 'build-page.js')]); // the serve page (esbuild)
  fs.writeFileSync(path.join(root, stamp), new Date().toISOString() + '\n');
}

try {
  ensureSystemPackages();
  ensureNodeModules();
  ensureNativeBuild();
  if (!process.argv.includes('--no-ts')) ensureTypeScriptBuild();
} catch (e) {
  process.stderr.write(`caffe-lrp setup failed: ${e.message}\n`);
  process.exit(1);
}
