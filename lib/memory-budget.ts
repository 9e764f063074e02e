/**
 * How much memory caffe-lrp lets itself use: the smallest of 80 % of physical memory, the
 * process's cgroup limit (v2 `memory.max`, v1 `memory.limit_in_bytes`, on its own cgroup and
 * every ancestor up to the mount) and RLIMIT_AS, or what CAFFE_LRP_MEMORY_LIMIT / the
 * `memoryLimit` option says. Physical memory alone is the wrong bound in a container: a
 * request the machine could hold would still get the process killed by its cgroup.
 * Everything that sizes an allocation from input (file reads, image decoding, the engine's
 * blobs) checks against this one number before allocating.
 */
import { showValue } from './relevance/show-value';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from './errors';

export interface MemoryBudget {
  bytes: number;
  /** Where the bound comes from, for messages ("cgroup v2 memory.max", "RLIMIT_AS", ...). */
  source: string;
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses "512M", "2g", "1.5GiB", "1073741824"; undefined for anything else. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]) * UNITS[m[2].toLowerCase()];
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
}

function readNumber(file: string): number | undefined {
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (t === 'max' || !/^\d+$/.test(t)) return undefined;
    const v = Number(t);
    // cgroup v1 writes ~2^63 for "no limit"
    return v > 0 && v < 2 ** 62 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The process's cgroup paths per controller, from /proc/self/cgroup. */
function cgroupPaths(): { v2?: string; v1memory?: string } {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return {};
  }
  const out: { v2?: string; v1memory?: string } = {};
  for (const line of text.split('\n')) {
    const [, controllers, p] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (p === undefined) continue;
    if (controllers === '') out.v2 = p;
    else if (controllers.split(',').includes('memory')) out.v1memory = p;
  }
  return out;
}

/** The limit files of a cgroup and its ancestors (limits are hierarchical), under a mount. */
function limitFiles(mount: string, cgroup: string | undefined, file: string): string[] {
  const files = [path.join(mount, file)];
  if (cgroup) {
    let p = cgroup;
    while (p && p !== '/') {
      files.push(path.join(mount, p, file));
      p = path.posix.dirname(p);
    }
  }
  return files;
}

function addressSpaceLimit(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max address space'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

let override: MemoryBudget | undefined;
let detected: MemoryBudget | undefined;

function detect(): MemoryBudget {
  const candidates: MemoryBudget[] = [{ bytes: Math.floor(0.8 * os.totalmem()), source: '80 % of physical memory' }];
  const groups = cgroupPaths();
  for (const f of limitFiles('/sys/fs/cgroup', groups.v2, 'memory.max')) {
    const v = readNumber(f);
    if (v !== undefined) candidates.push({ bytes: v, source: `the cgroup limit ${f}` });
  }
  for (const f of limitFiles('/sys/fs/cgroup/memory', groups.v1memory, 'memory.limit_in_bytes')) {
    const v = readNumber(f);
    if (v !== undefined) candidates.push({ bytes: v, source: `the cgroup limit ${f}` });
  }
  const as = addressSpaceLimit();
  if (as !== undefined) candidates.push({ bytes: as, source: 'RLIMIT_AS (ulimit -v)' });
  return candidates.reduce((a, b) => (b.bytes < a.bytes ? b : a));
}

/** The budget in force: an explicit setting, CAFFE_LRP_MEMORY_LIMIT, or the detected limits. */
export function memoryBudget(): MemoryBudget {
  if (override) return override;
  const env = process.env.CAFFE_LRP_MEMORY_LIMIT;
  if (env !== undefined && env !== '') {
    const bytes = parseByteSize(env);
    if (bytes === undefined) {
      throw new CaffeLrpError('OPTION', `CAFFE_LRP_MEMORY_LIMIT: expected a size such as 2G, 512M or a byte count, got '${env}'`);
    }
    return { bytes, source: 'CAFFE_LRP_MEMORY_LIMIT' };
  }
  return (detected ??= detect());
}

/** Sets the budget for this process (bytes or a size string); undefined returns to detection. */
export function setMemoryBudget(limit: number | string | undefined): MemoryBudget {
  if (limit === undefined) {
    override = undefined;
    return memoryBudget();
  }
  const bytes = typeof limit === 'number' ? limit : typeof limit === 'string' ? parseByteSize(limit) : undefined;
  if (bytes === undefined || !Number.isFinite(bytes) || bytes <= 0) {
    throw new CaffeLrpError('OPTION', `memoryLimit: expected a positive byte count or a size such as 2G, got ${showValue(limit)}`);
  }
  override = { bytes: Math.floor(bytes), source: 'the memoryLimit setting' };
  return override;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** Throws a MEMORY error naming what needs `bytes` when that exceeds the budget. */
export function checkAllocation(bytes: number, what: string, where: { file?: string; layer?: string } = {}): void {
  const budget = memoryBudget();
  if (bytes > budget.bytes) {
    throw new CaffeLrpError(
      'MEMORY',
      `${what} needs ${formatBytes(bytes)}, more than the ${formatBytes(budget.bytes)} allowed (${budget.source}); ` +
        'set CAFFE_LRP_MEMORY_LIMIT to change the limit',
      where,
    );
  }
}
