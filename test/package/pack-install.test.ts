/**
 * The npm package as a user gets it: `npm pack` (prepack builds the prebuilt engine and
 * dist/), then `npm install <tarball>` into fresh projects, offline. Checks the tarball's
 * contents, the README example as ESM / CommonJS / strict TypeScript (same classes and
 * heatmaps, and the same as this clone's development engine), the demonstrator through npx,
 * the prebuilt with the system OpenBLAS hidden (root only: a private mount namespace),
 * --ignore-scripts, the install script, and the source fallback when no prebuilt loads.
 *
 * Slow (a full native build at pack time and one for the fallback): runs with
 * `npm run test:package` (CAFFE_LRP_PACKAGE_TEST=1), which .ci/run calls after `npm test`.
 */
import { spawnSync, type SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CONSUMER_TSCONFIG, RECORDER, type Recorded, readmeExamples, recordDistance, root, toCommonJs, writeConsumer } from './consumer';

const enabled = process.env.CAFFE_LRP_PACKAGE_TEST === '1';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['-m', 'true']).status === 0;
const devEngine = path.join(root, 'build-cmake', 'Release', 'caffe_lrp.node');
const LIBDIR = '/usr/lib/x86_64-linux-gnu';
const BLAS_DIRS = [`${LIBDIR}/openblas-openmp`, `${LIBDIR}/openblas-pthread`];
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const MINUTE = 60_000;

if (!canUnshare && enabled) console.log(`test/package: the hidden-OpenBLAS check is skipped: it needs root and unshare -m (root: ${isRoot})`);
if (!enabled) console.log('test/package skipped: set CAFFE_LRP_PACKAGE_TEST=1 or run `npm run test:package` (packs and installs the package: several minutes)');

interface Run { status: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`'${cmd} ${args.join(' ')}' exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

// npm without the clone's own environment (npm run sets INIT_CWD, npm_package_* ...).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$)/.test(k))) as NodeJS.ProcessEnv;
const npm = (cwd: string, args: string[]): Run => ok('npm', args, { cwd, env: cleanEnv });

let work = '';
let tarball = '';
let files: string[] = [];
const consumer = (name: string) => path.join(work, name);
const record = (dir: string, name: string): Recorded => JSON.parse(fs.readFileSync(path.join(dir, `${name}.record.json`), 'utf8')) as Recorded;

/** Runs one form of the example in `dir` under the recorder; returns its stdout and record. */
function runExample(dir: string, file: string, name: string, extraEnv: NodeJS.ProcessEnv = {}): { stdout: string; rec: Recorded } {
  const r = ok(process.execPath, ['--require', './record.cjs', file], { cwd: dir, env: { ...cleanEnv, CAFFE_LRP_RECORD: path.join(dir, `${name}.record.json`), ...extraEnv } });
  return { stdout: r.stdout, rec: record(dir, name) };
}

function writeExamples(dir: string): void {
  const [esm] = readmeExamples();
  fs.writeFileSync(path.join(dir, 'record.cjs'), RECORDER);
  fs.writeFileSync(path.join(dir, 'example.mjs'), esm);
  fs.writeFileSync(path.join(dir, 'example.cjs'), toCommonJs(esm));
  fs.writeFileSync(path.join(dir, 'example.mts'), esm);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG, null, 2));
}

function install(name: string, extra: string[] = [], allowScripts = false): Run {
  const dir = consumer(name);
  writeConsumer(dir, tarball, allowScripts);
  writeExamples(dir);
  return npm(dir, ['install', '--offline', '--no-audit', '--no-fund', ...extra, tarball]);
}

const installedPrebuilt = (dir: string) => path.join(dir, 'node_modules', 'caffe-lrp', 'prebuilds', 'linux-x64');
const prebuiltAddon = (dir: string) => path.join(installedPrebuilt(dir), fs.readdirSync(installedPrebuilt(dir)).find((f) => f.endsWith('.node'))!);

(enabled ? describe : describe.skip)(`npm pack -> npm install <tarball>${enabled ? '' : ' [skipped: slow, run by `npm run test:package` (CAFFE_LRP_PACKAGE_TEST=1)]'}`, () => {
  const results: Record<string, { stdout: string; rec: Recorded }> = {};

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-package-'));
    if (process.env.CAFFE_LRP_PACKAGE_TARBALL) {
      // Iterating on this test: reuse a tarball made by `npm pack` (CI always packs afresh).
      tarball = path.join(work, path.basename(process.env.CAFFE_LRP_PACKAGE_TARBALL));
      fs.copyFileSync(process.env.CAFFE_LRP_PACKAGE_TARBALL, tarball);
    } else {
      const packed = npm(root, ['pack', '--pack-destination', work]);
      tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
    }
    files = ok('tar', ['-tzf', tarball]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    install('consumer');
  }, 40 * MINUTE);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball has the built package and nothing of the development tree', () => {
    const has = (f: string) => files.includes(f);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'lib/esm/index.mjs',
      'binding.gyp', 'CMakeLists.txt', 'native/sources.txt', 'native/install.js', 'proto/caffe.proto', 'prebuilds/linux-x64/libgomp.so.1',
      'demonstrator/demo-config.txt', 'demonstrator/demo-model/deploy.prototxt', 'demonstrator/demo-model/fashion-mnist.caffemodel', 'demonstrator/demo-model/labels.txt',
      'dist/serve-page/index.html', 'dist/serve-page/app.js', 'dist/demonstrator/demo-model/fashion-mnist.js'])
      expect([f, has(f)]).toEqual([f, true]);
    expect(files.filter((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f))).toHaveLength(1);
    // Everything the source fallback compiles, every bin and every bundled image.
    const sources = fs.readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8').split('\n').filter((l) => /^[^#].*\.cc$/.test(l));
    const headers = ok('git', ['ls-files', 'native/*.h', 'native/*.inc'], { cwd: root }).stdout.split('\n').filter(Boolean);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const images = fs.readFileSync(path.join(root, 'demonstrator/demo-images/filelist.txt'), 'utf8').split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean).map((n) => `demonstrator/demo-images/${n}`);
    for (const f of [...sources, ...headers, ...Object.values(manifest.bin), ...images, 'demonstrator/bin/launch.js']) expect([f, has(f)]).toEqual([f, true]);
    // No tests, CI, build folders, source maps or development scripts (setup.js runs apt-get).
    const unwanted = files.filter((f) => /^(test|dist\/test|\.ci|build|build-cmake|node_modules|lrp_output)\//.test(f) || /\.map$|\.tgz$/.test(f) ||
      ['native/setup.js', 'native/asan.js', 'native/build-prebuilt.js', 'demonstrator/demo-model/train.sh'].includes(f) ||
      (f.startsWith('dist/demonstrator/demo-model/') && !/^dist\/demonstrator\/demo-model\/fashion-mnist\.(js|d\.ts)$/.test(f)));
    expect(unwanted).toEqual([]);
    // No shipped script starts apt-get (the install script only names the packages).
    const extracted = path.join(work, 'consumer', 'node_modules', 'caffe-lrp');
    const spawnsApt = files.filter((f) => /\.(js|mjs|cjs)$/.test(f)).filter((f) => /\(\s*['"`](sudo|apt-get|apt)['"`]/.test(fs.readFileSync(path.join(extracted, f), 'utf8')));
    expect(spawnsApt).toEqual([]);
  });

  test('the README example runs as ESM, as CommonJS and as strict TypeScript with the same results as the development engine', () => {
    const dir = consumer('consumer');
    results.esm = runExample(dir, 'example.mjs', 'esm');
    results.cjs = runExample(dir, 'example.cjs', 'cjs');
    const strict = run(process.execPath, [tsc, '--strict', '--noEmit', '-p', 'tsconfig.json'], { cwd: dir });
    expect(strict.stdout + strict.stderr).toBe('');
    expect(strict.status).toBe(0);
    ok(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir });
    results.ts = runExample(dir, path.join('ts-out', 'example.mjs'), 'ts');

    expect(results.esm.rec.calls.length).toBeGreaterThan(0);
    expect(results.esm.stdout.length).toBeGreaterThan(0);
    for (const form of ['cjs', 'ts']) {
      expect(results[form].stdout).toBe(results.esm.stdout);
      expect(recordDistance(results[form].rec, results.esm.rec)).toBeLessThanOrEqual(1e-6);
    }
    // The installed package runs its prebuilt (no system OpenBLAS mapped, libgomp the bundled one).
    const libs = results.esm.rec.libs;
    expect(libs.filter((l) => /openblas/i.test(l))).toEqual([]);
    expect(libs).toContain(fs.realpathSync(prebuiltAddon(dir)));
    expect(libs.filter((l) => /libgomp/.test(l))).toEqual([fs.realpathSync(path.join(installedPrebuilt(dir), 'libgomp.so.1'))]);

    // Oracle: the same example against this clone's development engine (cmake-js, system OpenBLAS).
    const dev = path.join(work, 'dev');
    fs.mkdirSync(path.join(dev, 'node_modules'), { recursive: true });
    fs.symlinkSync(root, path.join(dev, 'node_modules', 'caffe-lrp'));
    fs.symlinkSync(path.join(root, 'node_modules', 'sharp'), path.join(dev, 'node_modules', 'sharp'));
    writeExamples(dev);
    results.dev = runExample(dev, 'example.mjs', 'dev');
    expect(results.dev.rec.libs).toContain(devEngine);
    expect(results.dev.stdout).toBe(results.esm.stdout);
    expect(recordDistance(results.esm.rec, results.dev.rec)).toBeLessThanOrEqual(1e-5);
  }, 10 * MINUTE);

  test('the prebuilt needs no OpenBLAS: ldd shows only glibc, libstdc++, libgcc_s and the bundled libgomp', () => {
    const dir = consumer('consumer');
    // The install (its script ran: npm 11 only warns about unreviewed scripts) compiled nothing.
    expect(fs.existsSync(path.join(dir, 'node_modules', 'caffe-lrp', 'build'))).toBe(false);
    const ldd = ok('ldd', [prebuiltAddon(dir)]).stdout;
    const libs = ldd.split('\n').map((l) => l.trim()).filter(Boolean);
    expect(libs.filter((l) => /openblas|gfortran|quadmath|not found/.test(l))).toEqual([]);
    const names = libs.map((l) => l.split(/\s+/)[0].replace(/^.*\//, ''));
    expect(names.filter((n) => !/^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libgomp\.so\.1)$/.test(n))).toEqual([]);
    expect(libs.find((l) => l.startsWith('libgomp.so.1'))).toContain(installedPrebuilt(dir));
  });

  (canUnshare ? test : test.skip)(`with the system OpenBLAS hidden (private mount namespace) the consumer gives the same heatmaps${canUnshare ? '' : ' [skipped: needs root and unshare -m]'}`, () => {
    const dir = consumer('consumer');
    const empty = path.join(work, 'empty');
    const emptyFile = path.join(work, 'empty.so');
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(emptyFile, '');
    // The library folders, and any libopenblas/libblas alternative that resolves elsewhere.
    const mounts = BLAS_DIRS.filter((d) => fs.existsSync(d)).map((d) => `mount --bind ${empty} ${d}`);
    for (const name of fs.readdirSync(LIBDIR).filter((n) => /^lib(open)?blas/.test(n))) {
      const real = fs.existsSync(path.join(LIBDIR, name)) ? fs.realpathSync(path.join(LIBDIR, name)) : '';
      if (real && !BLAS_DIRS.some((d) => real.startsWith(d + '/')) && fs.statSync(real).isFile()) mounts.push(`mount --bind ${emptyFile} ${real}`);
    }
    const hidden = (command: string, env: NodeJS.ProcessEnv = {}) =>
      run('unshare', ['-m', 'sh', '-c', `set -e; ${mounts.join('; ')}; ${command}`], { cwd: dir, env: { ...cleanEnv, ...env } });
    // The hiding works: no loadable libopenblas is left, and the development engine (linked
    // against the system OpenBLAS) fails to load with a NATIVE error carrying the loader's words.
    const probe = hidden(`node -e "try { process.dlopen({ exports: {} }, '${LIBDIR}/libopenblas.so.0'); console.log('loaded'); } catch (e) { console.log(e.message); }"`);
    expect(probe.stdout).toMatch(/cannot open shared object file|invalid ELF header|file too short/);
    const control = hidden(`node -e "const { Net, demoModel } = require('caffe-lrp'); Net.load(demoModel).then(() => console.log('loaded'), (e) => console.log(e.name, e.code, e.message))"`, { CAFFE_LRP_NATIVE: devEngine });
    expect(control.stdout).toMatch(/^CaffeLrpError NATIVE .*libopenblas.*npm rebuild caffe-lrp/s);
    const r = hidden(`CAFFE_LRP_RECORD=${dir}/hidden.record.json node --require ./record.cjs example.cjs`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const normal = results.cjs ?? runExample(dir, 'example.cjs', 'cjs');
    expect(r.stdout).toBe(normal.stdout);
    const rec = record(dir, 'hidden');
    expect(rec.calls[0].classes).toEqual(normal.rec.calls[0].classes);
    expect(recordDistance(rec, normal.rec)).toBeLessThanOrEqual(1e-6);
    expect(rec.libs.filter((l) => /openblas/i.test(l))).toEqual([]);
  }, 5 * MINUTE);

  test('npx: every command answers --help; lrp-demo does a real run on the bundled model that matches the development engine', () => {
    const dir = consumer('consumer');
    // Every command of package.json's bin answers --help through npx.
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const name of Object.keys(manifest.bin)) {
      const help = ok('npx', ['--offline', name, '--help'], { cwd: dir, env: cleanEnv });
      expect(help.stdout).toMatch(new RegExp(`^usage: ${name} `));
    }
    // The bundled demo configuration with its paths pointing into the installed package.
    const config = fs.readFileSync(path.join(root, 'demonstrator', 'demo-config.txt'), 'utf8');
    const rewrite = (prefix: string, out: string) =>
      config.split('\n').map((l, i, all) => (l.startsWith('demonstrator/') ? prefix + l : all[i - 1] === 'standalone_outpath' ? out : l)).join('\n');
    fs.writeFileSync(path.join(dir, 'demo-config.txt'), rewrite('node_modules/caffe-lrp/', 'lrp_output'));
    const pkgImages = 'node_modules/caffe-lrp/demonstrator/demo-images';
    ok('npx', ['--offline', 'lrp-demo', '--quiet', 'demo-config.txt', `${pkgImages}/filelist.txt`, pkgImages], { cwd: dir, env: cleanEnv });
    const devRoot = path.join(work, 'dev-demo');
    const devOut = path.join(devRoot, 'demo-images'); // <outpath>/<the image path from standalone_rootpath on>
    fs.writeFileSync(path.join(work, 'dev-config.txt'), rewrite('', devRoot));
    ok(process.execPath, ['demonstrator/bin/lrp-demo.js', '--quiet', path.join(work, 'dev-config.txt'), 'demonstrator/demo-images/filelist.txt', 'demonstrator/demo-images'], { cwd: root });
    const names = fs.readFileSync(path.join(root, 'demonstrator/demo-images/filelist.txt'), 'utf8').split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean).map((n) => path.basename(n));
    expect(names).toHaveLength(12);
    const numbers = (f: string) => fs.readFileSync(f, 'utf8').trim().split(/\s+/).map(Number);
    for (const name of names) {
      for (const suffix of ['_heatmap.png', '_rawhm.txt', '_toptenscores.txt', '_as_inputted_into_the_dnn.png'])
        expect([name, suffix, fs.existsSync(path.join(dir, 'lrp_output', 'demo-images', name + suffix))]).toEqual([name, suffix, true]);
      const top = (f: string) => fs.readFileSync(f, 'utf8').split('\n')[0].split(/\s+/)[0];
      expect(top(path.join(dir, 'lrp_output/demo-images', `${name}_toptenscores.txt`))).toBe(top(path.join(devOut, `${name}_toptenscores.txt`)));
      const mine = numbers(path.join(dir, 'lrp_output/demo-images', `${name}_rawhm.txt`));
      const theirs = numbers(path.join(devOut, `${name}_rawhm.txt`));
      expect(mine.length).toBe(theirs.length);
      expect(recordDistance({ calls: [{ method: 'rawhm', classes: null, heatmaps: [{ shape: [], data: mine }] }], libs: [] },
        { calls: [{ method: 'rawhm', classes: null, heatmaps: [{ shape: [], data: theirs }] }], libs: [] })).toBeLessThanOrEqual(1e-5);
    }
  }, 5 * MINUTE);

  test('npm install --ignore-scripts works: node-gyp-build loads the prebuilt without any install step', () => {
    install('ignore-scripts', ['--ignore-scripts']);
    const dir = consumer('ignore-scripts');
    expect(fs.existsSync(path.join(dir, 'node_modules', 'caffe-lrp', 'build'))).toBe(false);
    const r = runExample(dir, 'example.cjs', 'cjs');
    const reference = results.cjs ?? runExample(consumer('consumer'), 'example.cjs', 'cjs');
    expect(r.stdout).toBe(reference.stdout);
    expect(recordDistance(r.rec, reference.rec)).toBeLessThanOrEqual(1e-6);
  }, 5 * MINUTE);

  test('the install script uses the prebuilt; without one it names missing packages, or builds from source with node-gyp', () => {
    const installed = install('scripts', ['--foreground-scripts'], true);
    expect(installed.stdout + installed.stderr).toMatch(/caffe-lrp: using the native engine prebuilds\/linux-x64\/[^/\s]+\.node/);
    const dir = consumer('scripts');
    const pkg = path.join(dir, 'node_modules', 'caffe-lrp');
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);

    // No engine at all: Net.load rejects with a NATIVE CaffeLrpError that says what to do.
    fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
    const missing = run(process.execPath, ['-e', "const { Net, demoModel } = require('caffe-lrp'); Net.load(demoModel).then(() => console.log('loaded'), (e) => console.log(e.name, e.code, e instanceof require('caffe-lrp').CaffeLrpError, e.message))"], { cwd: dir, env: cleanEnv });
    expect(missing.stdout).toMatch(/^CaffeLrpError NATIVE true caffe-lrp: no native engine found in .*No native build was found.*npm rebuild caffe-lrp/s);

    // A machine without the toolchain: the install script names the packages and fails.
    const bare = path.join(work, 'bare-bin');
    fs.mkdirSync(bare, { recursive: true });
    fs.symlinkSync(process.execPath, path.join(bare, 'node'));
    const noTools = run(process.execPath, [path.join(pkg, 'native', 'install.js')], { cwd: pkg, env: { ...cleanEnv, PATH: bare } });
    expect(noTools.status).toBe(1);
    expect(noTools.stderr).toMatch(/missing: g\+\+ make python3[^\n]*\n\s+Debian\/Ubuntu: sudo apt-get install -y g\+\+ make python3/);

    // The toolchain present: npm rebuild builds the engine from the shipped sources.
    const rebuilt = npm(dir, ['rebuild', 'caffe-lrp', '--foreground-scripts']);
    expect(rebuilt.stdout + rebuilt.stderr).toMatch(/caffe-lrp: using the native engine build\/Release\/caffe_lrp\.node/);
    const r = runExample(dir, 'example.cjs', 'cjs');
    expect(r.rec.libs).toContain(fs.realpathSync(path.join(pkg, 'build', 'Release', 'caffe_lrp.node')));
    const reference = results.cjs ?? runExample(consumer('consumer'), 'example.cjs', 'cjs');
    expect(r.stdout).toBe(reference.stdout);
    expect(recordDistance(r.rec, reference.rec)).toBeLessThanOrEqual(1e-5);
  }, 30 * MINUTE);
});
