/**
 * Three "hosts" on one machine for the queue tests: network namespaces (`ip netns`, root only)
 * joined by veth pairs, so that workers reach Redis through a real network stack rather than
 * 127.0.0.1. Host R (Redis) has 10.231.1.1 towards host A (10.231.1.2) and 10.231.2.1 towards
 * host B (10.231.2.2); the file system stays shared, as a network folder would be. Namespace
 * names carry the test's pid, so parallel runs do not meet; the veths are created inside the
 * namespaces and vanish with them.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'child_process';

function ip(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr ?? r.error?.message ?? '').trim() };
}

/** Whether namespaces can be made here; otherwise why not. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `lrpq-probe-${process.pid}`;
  const add = ip(['netns', 'add', probe]);
  if (!add.ok) return `'ip netns add' failed: ${add.err || 'ip is not installed'}`;
  ip(['netns', 'del', probe]);
  return undefined;
}

export class Hosts {
  readonly redis: string;
  readonly a: string;
  readonly b: string;
  /** Redis's address as seen from host A and from host B. */
  readonly redisFromA = '10.231.1.1';
  readonly redisFromB = '10.231.2.1';

  constructor(tag = String(process.pid)) {
    this.redis = `lrpq${tag}r`;
    this.a = `lrpq${tag}a`;
    this.b = `lrpq${tag}b`;
  }

  setup(): void {
    const run = (args: string[]) => {
      const r = ip(args);
      if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.err}`);
    };
    for (const ns of [this.redis, this.a, this.b]) {
      run(['netns', 'add', ns]);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const pairs: [string, string, string][] = [
      [this.a, this.redisFromA, '10.231.1.2'],
      [this.b, this.redisFromB, '10.231.2.2'],
    ];
    pairs.forEach(([ns, rAddr, addr], i) => {
      run(['-n', this.redis, 'link', 'add', `r${i}`, 'type', 'veth', 'peer', 'name', `h${i}`, 'netns', ns]);
      run(['-n', this.redis, 'addr', 'add', `${rAddr}/24`, 'dev', `r${i}`]);
      run(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', `h${i}`]);
      run(['-n', this.redis, 'link', 'set', `r${i}`, 'up']);
      run(['-n', ns, 'link', 'set', `h${i}`, 'up']);
    });
  }

  /** `cmd args` inside a namespace (ip netns exec replaces itself with cmd: the pid is cmd's). */
  spawnIn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  runIn(ns: string, cmd: string, args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Until a TCP connection from `ns` to host:port succeeds. */
  waitForPort(ns: string, host: string, port: number, ms = 15_000): void {
    const probe = `const s=require('net').connect(${port},'${host}');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)`;
    const until = Date.now() + ms;
    while (this.runIn(ns, process.execPath, ['-e', probe], '/').code !== 0) {
      if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port} as seen from ${ns} after ${ms} ms`);
      spawnSync('sleep', ['0.1']);
    }
  }

  dispose(): void {
    for (const ns of [this.a, this.b, this.redis]) ip(['netns', 'del', ns]);
  }
}
