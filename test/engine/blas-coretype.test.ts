/**
 * The OpenBLAS kernel choice for CPUs OpenBLAS 0.3.21 does not know (lib/blas-coretype.ts):
 * the decision from /proc/cpuinfo texts, the owner's OPENBLAS_CORETYPE winning, and — in a
 * child process whose /proc/cpuinfo reads as an Intel model newer than OpenBLAS's tables —
 * that the engine really loads with the chosen kernels.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyBlasCoreType, chooseBlasCoreType, coreTypeSource, parseCpuInfo } from '../../lib/blas-coretype';

const AVX2_FLAGS = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi1 bmi2';
const AVX512_FLAGS = `${AVX2_FLAGS} avx512f avx512dq avx512cd avx512bw avx512vl`;

function cpuinfo(vendor: string, family: number, model: number, flags: string): string {
  const one = (n: number) => `processor\t: ${n}\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nmodel\t\t: ${model}\nmodel name\t: test CPU\nflags\t\t: ${flags}\n`;
  return `${one(0)}\n${one(1)}\n`;
}

describe('the kernel choice from /proc/cpuinfo', () => {
  test('parses the first processor', () => {
    const cpu = parseCpuInfo(cpuinfo('GenuineIntel', 6, 207, AVX512_FLAGS));
    expect(cpu).toMatchObject({ vendor: 'GenuineIntel', family: 6, model: 207 });
    expect(cpu?.flags.has('avx512bw')).toBe(true);
    expect(parseCpuInfo('')).toBeUndefined();
    expect(parseCpuInfo('processor : 0\nvendor_id : GenuineIntel\n')).toBeUndefined();
  });

  test.each([
    // Intel: by features (an Emerald Rapids, model 207, is newer than OpenBLAS 0.3.21's tables)
    ['GenuineIntel', 6, 207, 'SkylakeX', AVX512_FLAGS],
    ['GenuineIntel', 6, 207, 'Cooperlake', `${AVX512_FLAGS} avx512_bf16`],
    ['GenuineIntel', 6, 0x97, 'Haswell', AVX2_FLAGS], // Alder Lake: AVX2 only
    ['GenuineIntel', 6, 0x2a, undefined, 'fpu sse sse2 avx'], // Sandy Bridge: no AVX2, OpenBLAS knows best
    ['GenuineIntel', 6, 207, undefined, AVX512_FLAGS.replace(' fma', '')], // no FMA: nothing to gain
    // AMD Zen 1-5: known to OpenBLAS, left alone
    ['AuthenticAMD', 0x19, 1, undefined, AVX2_FLAGS],
    ['AuthenticAMD', 0x1a, 2, undefined, `${AVX512_FLAGS} avx512_bf16`],
    // a later AMD family: by features
    ['AuthenticAMD', 0x1b, 0, 'SkylakeX', AVX512_FLAGS],
    ['HygonGenuine', 0x18, 0, undefined, AVX2_FLAGS],
  ])('%s family %d model %d -> %s', (vendor, family, model, expected, flags) => {
    const cpu = parseCpuInfo(cpuinfo(vendor as string, family as number, model as number, flags as string));
    expect(cpu).toBeDefined();
    expect(chooseBlasCoreType(cpu!)).toBe(expected);
  });
});

describe('applyBlasCoreType', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-cpuinfo-'));
  const newIntel = path.join(dir, 'cpuinfo');
  fs.writeFileSync(newIntel, cpuinfo('GenuineIntel', 6, 207, AVX512_FLAGS));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

  (linuxX64 ? test : test.skip)('sets OPENBLAS_CORETYPE when the owner has not', () => {
    const env: NodeJS.ProcessEnv = {};
    applyBlasCoreType(env, newIntel);
    expect(env.OPENBLAS_CORETYPE).toBe('SkylakeX');
    expect(coreTypeSource()).toBe('caffe-lrp');
  });

  test("the owner's setting wins, and CAFFE_LRP_BLAS_CORETYPE=openblas leaves the choice to OpenBLAS", () => {
    const owner: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Sandybridge' };
    applyBlasCoreType(owner, newIntel);
    expect(owner.OPENBLAS_CORETYPE).toBe('Sandybridge');
    expect(coreTypeSource()).toBe('environment');
    const optOut: NodeJS.ProcessEnv = { CAFFE_LRP_BLAS_CORETYPE: 'openblas' };
    applyBlasCoreType(optOut, newIntel);
    expect(optOut.OPENBLAS_CORETYPE).toBeUndefined();
    expect(coreTypeSource()).toBe('openblas');
  });

  test('an unreadable /proc/cpuinfo changes nothing', () => {
    const env: NodeJS.ProcessEnv = {};
    applyBlasCoreType(env, path.join(dir, 'missing'));
    expect(env.OPENBLAS_CORETYPE).toBeUndefined();
  });

  // This machine's own flags without AVX-512, under an Intel model OpenBLAS 0.3.21 does not
  // know: the engine must come up with the Haswell kernels (never the Prescott fallback).
  const own = linuxX64 && fs.existsSync('/proc/cpuinfo') ? parseCpuInfo(fs.readFileSync('/proc/cpuinfo', 'utf8')) : undefined;
  const canRunAvx2 = own !== undefined && own.flags.has('avx2') && own.flags.has('fma');
  (canRunAvx2 ? test : test.skip)('the engine loads with the chosen kernels (child process)', () => {
    const flags = [...own!.flags].filter((f) => !f.startsWith('avx512')).join(' ');
    const fake = path.join(dir, 'cpuinfo-avx2');
    fs.writeFileSync(fake, cpuinfo('GenuineIntel', 6, 207, flags));
    const native = path.resolve(__dirname, '..', '..', 'dist', 'lib', 'native.js');
    if (!fs.existsSync(native)) throw new Error(`${native} is missing: run 'npm run build' first`);
    // The child reads the fake text where it would read /proc/cpuinfo.
    const script = `
      const fs = require('fs');
      const read = fs.readFileSync;
      fs.readFileSync = (p, ...rest) => read(p === '/proc/cpuinfo' ? ${JSON.stringify(fake)} : p, ...rest);
      const info = require(${JSON.stringify(native)}).loadNative().blasInfo();
      process.stdout.write(JSON.stringify({ core: info.coreName, env: process.env.OPENBLAS_CORETYPE }));`;
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.CAFFE_LRP_BLAS_CORETYPE;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as { core: string; env: string };
    expect(out).toEqual({ core: 'Haswell', env: 'Haswell' });
  }, 30000);
});
