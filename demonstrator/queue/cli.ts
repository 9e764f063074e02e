/**
 * `lrp-queue <submit|worker|status|retry-failed|clean>`: lrp-parallel-demo's run spread over
 * worker processes on any machines through BullMQ on Redis (REDIS_URL or --redis).
 * Exit status: 0 success (status: the run is complete), 1 usage or start-up error,
 * 3 status of a run that is not complete yet.
 */
import * as os from 'os';
import { parseArgs } from 'node:util';
import { CaffeLrpError } from '../../lib/errors';
import { DEFAULT_QUEUE, redisUrl } from './redis';

const USAGE = `usage: lrp-queue <command> [options], with <command> one of
  lrp-queue submit [--queue name] [--chunk N] [--attempts N] [--minimal-output] <config> <filelist> <prefix>
  lrp-queue worker [--queue name] [--concurrency N] [--threads N] [--processes K]
      --concurrency N  chunks at once per process, each on its own copy of the net (default 1)
      --threads N      engine threads per process (default: the cores divided among the --processes,
                       or OMP_NUM_THREADS when set)
      --processes K    K worker processes on this machine under this command (default 1)
  lrp-queue status <run>          totals, done, failed (with reasons), rate, ETA; exit 0 when complete, 3 when not
  lrp-queue retry-failed <run>    re-queue the failed images / chunks
  lrp-queue clean <run>           remove the run's jobs and records from Redis (files stay)
common: [--redis redis://host:port] (default REDIS_URL, else redis://127.0.0.1:6379)
worker environment: LRP_QUEUE_LOCK_MS, LRP_QUEUE_STALLED_MS (BullMQ lockDuration / stalledInterval)
`;

const FLAGS = {
  queue: { type: 'string' },
  redis: { type: 'string' },
  chunk: { type: 'string' },
  attempts: { type: 'string' },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  processes: { type: 'string' },
  'minimal-output': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function positiveInt(v: string | undefined, what: string, dflt?: number, max?: number): number | undefined {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CaffeLrpError('OPTION', `${what} must be a positive integer, got '${v}'`);
  if (max !== undefined && Number(v) > max) throw new CaffeLrpError('OPTION', `${what} must be at most ${max}, got '${v}'`);
  return Number(v);
}

/**
 * Engine threads of one worker process: --threads; else OMP_NUM_THREADS when the environment
 * sets it; else this machine's cores shared out among the --processes (at least 1 each).
 */
export function workerThreads(flag: number | undefined, processes: number, env: Record<string, string | undefined>): number {
  if (flag !== undefined) return flag;
  const fromEnv = env.OMP_NUM_THREADS;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv) && Number(fromEnv) >= 1) return Number(fromEnv);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.floor(cores / processes));
}

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(`lrp-queue: ${s}\n`);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    err((e as Error).message);
    process.stderr.write(USAGE);
    return 1;
  }
  const v = parsed.values;
  const [sub, ...rest] = parsed.positionals;
  if (v.help || sub === undefined) {
    (v.help ? out : (s: string) => process.stderr.write(s))(USAGE);
    return v.help ? 0 : 1;
  }
  try {
    const url = redisUrl(v.redis, env);
    const queue = v.queue ?? DEFAULT_QUEUE;
    const need = (n: number) => {
      if (rest.length !== n) throw new CaffeLrpError('OPTION', `'${sub}' takes ${n} argument${n === 1 ? '' : 's'}, got ${rest.length}`);
    };
    switch (sub) {
      case 'submit': {
        need(3);
        const { submit } = await import('./submit');
        const run = await submit({
          url,
          queue,
          cwd: process.cwd(),
          configFile: rest[0],
          listFile: rest[1],
          prefix: rest[2],
          minimal: v['minimal-output'] === true,
          chunk: positiveInt(v.chunk, '--chunk'),
          attempts: positiveInt(v.attempts, '--attempts', 3) as number,
          log: (s) => err(s),
        });
        out(`${run}\n`);
        return 0;
      }
      case 'worker': {
        need(0);
        const concurrency = positiveInt(v.concurrency, '--concurrency', 1) as number;
        // the same bound as lrp-parallel-demo's --threads; a typo in --processes must not fork thousands
        const processes = positiveInt(v.processes, '--processes', 1, 256) as number;
        const threads = workerThreads(positiveInt(v.threads, '--threads', undefined, 1024), processes, env);
        if (processes > 1) {
          const { runProcesses } = await import('./processes');
          const args = ['--redis', url, '--queue', queue, '--concurrency', String(concurrency), '--threads', String(threads)];
          return await runProcesses({ processes, workerArgs: args, log: (s) => err(s) });
        }
        // Before anything loads the engine: OpenBLAS and OpenMP read these once, at load.
        process.env.OMP_NUM_THREADS = String(threads);
        process.env.OPENBLAS_NUM_THREADS = String(threads);
        const { runWorker } = await import('./worker');
        await runWorker({
          url,
          queue,
          concurrency,
          threads,
          lockDuration: positiveInt(env.LRP_QUEUE_LOCK_MS, 'LRP_QUEUE_LOCK_MS'),
          stalledInterval: positiveInt(env.LRP_QUEUE_STALLED_MS, 'LRP_QUEUE_STALLED_MS'),
          log: (s) => err(s),
        });
        return 0;
      }
      case 'status': {
        need(1);
        const { runStatus, statusText } = await import('./admin');
        const s = await runStatus(url, queue, rest[0]);
        out(statusText(rest[0], s));
        return s.complete ? 0 : 3;
      }
      case 'retry-failed': {
        need(1);
        const { retryFailed } = await import('./admin');
        out(`re-queued ${await retryFailed(url, queue, rest[0], positiveInt(v.attempts, '--attempts', 3) as number)} images\n`);
        return 0;
      }
      case 'clean': {
        need(1);
        const { cleanRun } = await import('./admin');
        out(`removed ${await cleanRun(url, queue, rest[0])} jobs\n`);
        return 0;
      }
      default:
        err(`unknown command '${sub}'`);
        process.stderr.write(USAGE);
        return 1;
    }
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 1;
  }
}

export function runCommand(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Redis handles (BullMQ leaves connections it was given open) must not keep a finished command alive.
      setImmediate(() => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`lrp-queue: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
