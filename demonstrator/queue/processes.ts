/**
 * `lrp-queue worker --processes K`: K worker processes on this machine under one command.
 * Each gets its share of the cores as engine threads (unless --threads says otherwise): K
 * workers that each start an OpenMP team over every core would run K x cores threads on the
 * cores, and a team whose threads wait at a barrier for a descheduled partner is slower than
 * one thread (measured: more workers, fewer images/s). SIGTERM/SIGINT go to every child (each
 * finishes its chunk); the command exits when all have, with the worst exit status.
 */
import { fork } from 'child_process';
import * as path from 'path';

export interface ProcessesOptions {
  processes: number;
  /** The worker's arguments without --processes, with --threads set. */
  workerArgs: string[];
  log(s: string): void;
}

export async function runProcesses(o: ProcessesOptions): Promise<number> {
  const bin = path.resolve(__dirname, '..', '..', '..', 'demonstrator', 'bin', 'lrp-queue.js');
  const children = Array.from({ length: o.processes }, () => fork(bin, ['worker', ...o.workerArgs], { stdio: 'inherit' }));
  const forward = (sig: NodeJS.Signals) => {
    o.log(`${sig}: stopping ${children.length} workers`);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));
  const codes = await Promise.all(
    children.map(
      (c) =>
        new Promise<number>((resolve) =>
          c.once('exit', (code, signal) => {
            if (code !== 0) o.log(`worker ${c.pid} ended with ${signal ?? `exit status ${code}`}`);
            resolve(code ?? 1);
          }),
        ),
    ),
  );
  return Math.max(0, ...codes);
}
