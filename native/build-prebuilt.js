#!/usr/bin/env node
// `npm run build:prebuilt` (and `prepack`): builds the engine that ships in the npm package,
// prebuilds/linux-x64/caffe-lrp.glibc.node (prebuildify's name, which node-gyp-build finds), from the sources with prebuildify + node-gyp
// (binding.gyp's static variant), and checks that it runs without a system OpenBLAS.
//
// - OpenBLAS: Debian's static libopenblas.a (OpenMP build, DYNAMIC_ARCH: it picks its
//   kernels on the user's CPU when it loads) is linked in, its symbols hidden.
// - libgomp: linked dynamically and shipped next to the addon (found through an $ORIGIN
//   run path). GCC supports libgomp only as a shared library inside shared objects, and one
//   libgomp per process means one OpenMP thread pool shared with anything else that uses it
//   (a second, static copy would start a second pool competing for the same cores).
// - The result may need nothing but glibc, libstdc++, libgcc_s, libm and that libgomp:
//   anything else fails the build.
// Never run by `npm install`: users get the prebuilt from the tarball (or the source build
// of native/install.js). Development builds stay with cmake-js (native/setup.js).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'prebuilds', 'linux-x64');
const ARCHIVES = ['/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a'];
// Libraries the prebuilt may need at run time: glibc's, the C++ runtime and the bundled libgomp.
const ALLOWED = /^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libgomp\.so\.1)$/;

function fail(message) {
  process.stderr.write(`build:prebuilt: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`'${cmd} ${args.join(' ')}' failed with exit status ${r.status}\n${r.stderr || ''}`);
  return r.stdout || '';
}

function findArchive() {
  const archive = ARCHIVES.find((a) => fs.existsSync(a));
  if (!archive) fail(`no static OpenBLAS (looked for ${ARCHIVES.join(', ')}): apt-get install libopenblas-openmp-dev`);
  // A DYNAMIC_ARCH build holds one kernel table per CPU family (gotoblas_HASWELL, ...).
  const families = new Set(run('nm', ['-A', archive], { maxBuffer: 1 << 28 }).match(/ gotoblas_[A-Z0-9_]+$/gm) || []);
  families.delete(' gotoblas_initialized');
  if (families.size < 2) fail(`${archive} is not a DYNAMIC_ARCH build (its kernels would be fixed to the build machine's CPU)`);
  return { archive, families: families.size };
}

/** The shared libgomp the compiler links against (the one to ship). */
function findLibgomp() {
  const lib = fs.realpathSync(run('g++', ['-print-file-name=libgomp.so.1']).trim());
  if (!fs.existsSync(lib)) fail('libgomp.so.1 not found (g++ -print-file-name=libgomp.so.1)');
  return lib;
}

/** node-gyp's headers: the running node's own when they are installed (no download). */
function nodedirEnv() {
  if (process.env.npm_config_nodedir) return {};
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: prefix } : {};
}

function checkDependencies(addon) {
  const ldd = run('ldd', [addon]);
  const libs = ldd.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => ({ name: l.split(/\s+/)[0].replace(/^.*\//, ''), line: l }));
  const foreign = libs.filter((l) => !ALLOWED.test(l.name));
  if (foreign.length) fail(`the prebuilt needs libraries it may not need:\n  ${foreign.map((l) => l.line).join('\n  ')}`);
  const gomp = libs.find((l) => l.name === 'libgomp.so.1');
  if (gomp && !gomp.line.includes(outDir)) fail(`libgomp.so.1 does not resolve to the bundled copy: ${gomp.line}`);
  const undefinedSyms = run('nm', ['-D', '--undefined-only', addon]);
  const fortran = undefinedSyms.match(/_gfortran_\w+|quadmath\w*/g);
  if (fortran) fail(`the prebuilt refers to Fortran runtime symbols: ${[...new Set(fortran)].join(', ')}`);
  return ldd;
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`prebuilt engines are made on linux-x64 only (this is ${process.platform}-${process.arch})`);
  const { archive, families } = findArchive();
  const libgomp = findLibgomp();
  process.stderr.write(`build:prebuilt: static OpenBLAS ${archive} (DYNAMIC_ARCH, ${families} CPU families), libgomp ${libgomp}\n`);
  fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  const env = {
    ...process.env,
    ...nodedirEnv(),
    GYP_DEFINES: `caffe_lrp_static_blas=1 caffe_lrp_openblas_archive=${archive}`,
  };
  // npm's own node-gyp (`npm run` puts it on PATH and names it in npm_config_node_gyp).
  const npmNodeGyp = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (!env.PREBUILD_NODE_GYP) env.PREBUILD_NODE_GYP = process.env.npm_config_node_gyp || (fs.existsSync(npmNodeGyp) ? npmNodeGyp : 'node-gyp');
  const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
  const r = spawnSync(process.execPath, [prebuildify, '--napi', '--tag-libc', '--strip', `--target=${process.versions.node}`], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail(`prebuildify failed (exit status ${r.status})`);
  const built = fs.existsSync(outDir) ? fs.readdirSync(outDir).filter((f) => f.endsWith('.node')) : [];
  if (built.length !== 1) fail(`prebuildify should have written one .node file to ${outDir} (found: ${built.join(', ') || 'none'})`);
  const addon = path.join(outDir, built[0]);
  fs.copyFileSync(libgomp, path.join(outDir, 'libgomp.so.1'));
  const ldd = checkDependencies(addon);
  // It must load and run in a fresh process, and say which kernels it picked.
  const probe = `const n = require(${JSON.stringify(addon)}); console.log(JSON.stringify(n.blasInfo()))`;
  const info = run(process.execPath, ['-e', probe]).trim();
  process.stderr.write(`build:prebuilt: ${path.relative(root, addon)} (${fs.statSync(addon).size} bytes), blasInfo ${info}\n${ldd}`);
}

main();
