#!/usr/bin/env node
// `npm run test:asan`: builds the engine with AddressSanitizer + UndefinedBehaviorSanitizer
// into build-asan/ and runs the tests that drive the native code against that build.
// Node itself is not instrumented, so the sanitizer runtime is preloaded; leak checking
// is left to the RSS test (LeakSanitizer would report Node's own allocations at exit).
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
};

run(process.execPath, [path.join(__dirname, 'setup.js'), '--no-ts']);
run(process.execPath, [require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), 'compile', '--out', 'build-asan', '--CDCAFFE_LRP_ASAN=ON']);
const runtime = execFileSync('g++', ['-print-file-name=libasan.so']).toString().trim();
const ubsan = execFileSync('g++', ['-print-file-name=libubsan.so']).toString().trim();
// `node native/asan.js <test paths>` runs those instead (e.g. test/hostile/corpus.test.ts, which then
// runs its native-reaching cases only)
const chosen = process.argv.slice(2);
const tests = chosen.length ? chosen : ['test/engine', 'test/relevance', 'test/api', 'test/toolbox', 'test/demonstrator/rawhm-native', 'test/hostile', 'test/onnx/lowering', 'test/onnx/fuzz', 'test/onnx/ultraface', 'test/zennit'];
run(process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), '--runInBand', ...tests], {
  CAFFE_LRP_NATIVE: path.join(root, 'build-asan', 'Release', 'caffe_lrp.node'),
  LD_PRELOAD: `${runtime} ${ubsan}`,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  CAFFE_LRP_SANITIZED: '1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
});
