/**
 * `lrp-queue worker` option checks: bad or too large --threads / --processes / --concurrency are
 * usage errors (exit 1, the option named) before any connection is tried; the engine-thread default shares the
 * cores out among --processes, and OMP_NUM_THREADS or --threads win.
 */
import * as os from 'os';
import { workerThreads } from '../../demonstrator/queue/cli';
import { runBin, ROOT } from './fixture';

it.each([
  ['--threads', '0'],
  ['--threads', 'two'],
  ['--processes', '0'],
  ['--processes', '1.5'],
  ['--concurrency', '-1'],
])('worker %s %s is refused, naming the option', (flag, value) => {
  // a port nothing listens on: the command must fail on the option, not on the connection
  const r = runBin('lrp-queue', ['worker', '--redis', 'redis://127.0.0.1:1', `${flag}=${value}`], ROOT);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${flag} must be a positive integer, got '${value}'`);
});

it.each([
  ['--threads', '1025', 1024],
  ['--processes', '257', 256],
])('worker %s %s is refused: at most %i', (flag, value, max) => {
  const r = runBin('lrp-queue', ['worker', '--redis', 'redis://127.0.0.1:1', `${flag}=${value}`], ROOT);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${flag} must be at most ${max}, got '${value}'`);
});

it('engine threads: --threads, else OMP_NUM_THREADS, else the cores shared out (at least 1)', () => {
  const cores = os.availableParallelism();
  expect(workerThreads(3, 2, { OMP_NUM_THREADS: '5' })).toBe(3);
  expect(workerThreads(undefined, 2, { OMP_NUM_THREADS: '5' })).toBe(5);
  expect(workerThreads(undefined, 1, {})).toBe(cores);
  expect(workerThreads(undefined, 2, {})).toBe(Math.max(1, Math.floor(cores / 2)));
  expect(workerThreads(undefined, cores + 1, {})).toBe(1);
  // an unusable OMP_NUM_THREADS (OpenMP's list form, garbage) is not taken for a count
  expect(workerThreads(undefined, 1, { OMP_NUM_THREADS: '4,2' })).toBe(cores);
});
