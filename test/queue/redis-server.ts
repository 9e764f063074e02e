/**
 * A real redis-server for the queue tests: on a free 127.0.0.1 port, data in a temporary folder,
 * append-only persistence on (so a restart keeps the queue). When redis-server is missing and we
 * are root with apt-get, Debian's package is installed first; otherwise the tests skip and say why,
 * unless CAFFE_LRP_REQUIRE_REDIS=1 (CI), which turns the skip into a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The redis-server binary, installing it when we can; else the reason it is unavailable. */
export function findRedisServer(): { bin?: string; reason?: string } {
  let bin = which('redis-server');
  if (bin) return { bin };
  if (process.getuid?.() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: 'ignore', env, timeout: 600_000 });
    bin = which('redis-server');
    if (bin) return { bin };
    return { reason: "redis-server is not installed and 'apt-get install redis-server' did not provide it" };
  }
  return { reason: 'redis-server is not installed (and we are not root with apt-get to install it)' };
}

/** `describe` when redis-server is available; otherwise a visible skip (or a failure under CAFFE_LRP_REQUIRE_REDIS=1). */
export function describeIfRedis(title: string, body: (bin: string) => void): void {
  const { bin, reason } = findRedisServer();
  if (bin) {
    describe(title, () => body(bin));
    return;
  }
  if (process.env.CAFFE_LRP_REQUIRE_REDIS === '1') {
    describe(title, () => {
      it('needs redis-server (CAFFE_LRP_REQUIRE_REDIS=1)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  process.stderr.write(`skipping ${title}: ${reason}\n`);
  describe.skip(`${title} (skipped: ${reason})`, () => {
    it('needs redis-server', () => undefined);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.end();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on 127.0.0.1:${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export class RedisServer {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-redis-'));
  private child?: ChildProcess;
  constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--logfile', path.join(this.dir, 'redis.log')];
    this.child = spawn(this.bin, args, { stdio: 'ignore' });
    await waitForPort(this.port, 10_000);
  }

  /** Stops the server (SIGTERM: it flushes the append-only file) and waits for it to exit. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis(bin: string): Promise<RedisServer> {
  const r = new RedisServer(bin, await freePort());
  await r.start();
  return r;
}
