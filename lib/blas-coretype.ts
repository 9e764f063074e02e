/**
 * Which OpenBLAS kernels to ask for on CPUs that OpenBLAS 0.3.21 (Debian 12's, linked by
 * both the prebuilt and the source build) does not recognise. Its DYNAMIC_ARCH start-up
 * matches CPUs by vendor, family and model; a CPU newer than its tables (Intel's Emerald
 * and Granite Rapids, for instance) gets the generic "Prescott" SSE3 kernels, which run
 * sgemm at a quarter of the AVX2 speed and slow every convolution by as much. The kernels
 * are chosen once, when the library is loaded, from OPENBLAS_CORETYPE, so this module
 * sets that variable before the engine loads, from the CPU's own feature flags, and only
 * when the machine's owner has not set it.
 */
import * as fs from 'fs';

export interface CpuInfo {
  vendor: string;
  family: number;
  model: number;
  flags: Set<string>;
}

/** The first processor of /proc/cpuinfo; undefined when the text has none. */
export function parseCpuInfo(text: string): CpuInfo | undefined {
  const block = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | undefined => {
    const m = block.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'));
    return m ? m[1].trim() : undefined;
  };
  const vendor = field('vendor_id');
  const family = Number(field('cpu family'));
  const model = Number(field('model'));
  const flags = field('flags');
  if (vendor === undefined || flags === undefined || !Number.isInteger(family) || !Number.isInteger(model)) return undefined;
  return { vendor, family, model, flags: new Set(flags.split(/\s+/)) };
}

function hasAvx512(flags: Set<string>): boolean {
  return ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f));
}

/**
 * The OPENBLAS_CORETYPE value for this CPU, or undefined to leave the choice to OpenBLAS:
 * the kernels its features allow (AVX-512: SkylakeX, or Cooperlake with bf16 — the same
 * sgemm; AVX2 with FMA: Haswell).
 */
export function chooseBlasCoreType(cpu: CpuInfo): string | undefined {
  // AMD: 0.3.21 recognises Zen 1-5 (families 0x17, 0x19, 0x1a; Zen 4/5 get its AVX-512
  // kernels) and everything before, with Zen-specific blocking: left to it. Intel: for
  // every model it knows, OpenBLAS picks exactly what the features give (Haswell for AVX2,
  // SkylakeX or its bf16 variants, whose sgemm is SkylakeX's, for AVX-512), so choosing by
  // features changes nothing there and rescues the models newer than its tables.
  if (cpu.vendor === 'AuthenticAMD' && cpu.family <= 0x1a) return undefined;
  if (cpu.vendor !== 'GenuineIntel' && cpu.vendor !== 'AuthenticAMD') return undefined;
  // (the kernel clears the AVX flags when the OS does not save their registers)
  if (hasAvx512(cpu.flags) && cpu.flags.has('fma')) return cpu.flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  if (cpu.flags.has('avx2') && cpu.flags.has('fma')) return 'Haswell';
  return undefined;
}

/** Where the kernels of this process were chosen (blasInfo().coreTypeSource). */
export type CoreTypeSource = 'environment' | 'caffe-lrp' | 'openblas';
let source: CoreTypeSource = 'openblas';

export function coreTypeSource(): CoreTypeSource {
  return source;
}

/**
 * Sets OPENBLAS_CORETYPE for the engine about to load (Linux x64 only). An owner's setting
 * wins; CAFFE_LRP_BLAS_CORETYPE=openblas leaves the choice to OpenBLAS in every case.
 */
export function applyBlasCoreType(env: NodeJS.ProcessEnv = process.env, cpuinfoPath = '/proc/cpuinfo'): void {
  if (env.OPENBLAS_CORETYPE) {
    source = 'environment';
    return;
  }
  source = 'openblas';
  if (process.platform !== 'linux' || process.arch !== 'x64' || env.CAFFE_LRP_BLAS_CORETYPE === 'openblas') return;
  let text: string;
  try {
    text = fs.readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return;
  }
  const cpu = parseCpuInfo(text);
  const choice = cpu && chooseBlasCoreType(cpu);
  if (choice) {
    env.OPENBLAS_CORETYPE = choice;
    source = 'caffe-lrp';
  }
}
