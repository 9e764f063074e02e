/**
 * Command line of the demonstrators (behaviour spec §5.1, contract §2):
 *
 *   lrp-demo [options] <config> <filelist> <prefix>
 *   lrp-parallel-demo [options] <config> <filelist> <prefix>
 *
 * plus the original's names (lrp_demo, lrp_parallel_demo and their *_minimaloutput forms,
 * which imply --minimal-output). Exit status: 0 all images written, 1 usage or start-up
 * error (config, file list, net, mean), 2 some images failed (each reported on one line).
 *
 * The engine is imported only after the options are read, so that `--threads` can set
 * OPENBLAS_NUM_THREADS before OpenBLAS initialises.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs as parseArgv } from 'node:util';
import { CaffeLrpError } from '../lib/errors';
import type { FileListEntry } from './filelist';
import { Progress, summaryLine, type ProgressStream } from './progress';

export const COMMANDS = {
  'lrp-demo': { parallel: false, minimal: false },
  'lrp-parallel-demo': { parallel: true, minimal: false },
  lrp_demo: { parallel: false, minimal: false },
  lrp_parallel_demo: { parallel: true, minimal: false },
  lrp_demo_minimaloutput: { parallel: false, minimal: true },
  lrp_parallel_demo_minimaloutput: { parallel: true, minimal: true },
} as const;
export type CommandName = keyof typeof COMMANDS;

export interface OutStream extends ProgressStream {
  write(s: string): unknown;
}

export interface MainOptions {
  /** Which demonstrator; default 'lrp-demo'. */
  command?: CommandName;
  /** Base for relative paths (config, file list, prefix, paths in the config); default process.cwd(). */
  cwd?: string;
  stdout?: OutStream;
  stderr?: OutStream;
  /** Environment for TERM / NO_COLOR (no escape codes when TERM=dumb or NO_COLOR is set); default process.env. */
  env?: Record<string, string | undefined>;
}

interface Args {
  positional: string[];
  help: boolean;
  version: boolean;
  quiet: boolean;
  minimal: boolean;
  threads?: number;
  shard?: { index: number; count: number };
  manifest?: string;
  conservation: boolean;
}

class UsageError extends Error {}

function usageLine(cmd: string): string {
  return `usage: ${cmd} [--quiet] [--threads N] [--minimal-output] [--shard i/n] [--manifest FILE] [--conservation] <config> <filelist> <prefix>`;
}

function helpText(cmd: string): string {
  const { parallel, minimal } = COMMANDS[cmd as CommandName] ?? COMMANDS['lrp-demo'];
  return `${usageLine(cmd)}

Explains a Caffe image classifier with Layer-wise Relevance Propagation, image by image,
${parallel ? "in batches of the net's batch size (config key 'batchsize' overrides it)" : "one image at a time (config key 'batchsize' processes several per pass)"}.

  <config>     demonstrator config file (keys: param_file, model_file, mean_file,
               relpropformulatype, epsstab, alphabeta_beta, standalone_outpath, ...)
  <filelist>   one image per line: '<path> [class]'; class -2 = top 5, -1 = top class
               (also when absent), n >= 0 = class n
  <prefix>     prepended to every image path as '<prefix>/<path>'

Outputs per image, under standalone_outpath: <name>_rawhm.txt, <name>_toptenscores.txt
(_top10scores.txt with caffe_lrp_compat 1)${minimal ? '' : ', <name>_heatmap.png, <name>_as_inputted_into_the_dnn.png'}.

Options:
  --minimal-output   write only _rawhm.txt and the scores file${minimal ? ' (always on for this command)' : ''}
  --threads N        threads for the engine (sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS)
  --shard i/n        only batches b with b mod n = i (0 <= i < n), so n processes cover the list;
                     also from LRP_SHARD_INDEX (or JOB_COMPLETION_INDEX) with LRP_SHARD_COUNT
  --manifest FILE    also write FILE: one JSON line per image (image, line, status, outputs, error)
  --conservation     also write conservation.json under standalone_outpath: per layer, the mean
                     relevance in and out over the images; per image, seed vs relevance at the end
  --quiet, -q        no progress bar, warnings or summary line (errors are still printed)
  --help, -h         this text
  --version, -V      the caffe-lrp version

Exit status: 0 all images done, 1 usage or start-up error, 2 some images failed.
`;
}

const FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  quiet: { type: 'boolean', short: 'q' },
  'minimal-output': { type: 'boolean' },
  threads: { type: 'string' },
  shard: { type: 'string' },
  manifest: { type: 'string' },
  conservation: { type: 'boolean' },
} as const;

/** The flag closest to a misspelt one ('--quite' → '--quiet'), if any is close. */
function didYouMean(arg: string): string {
  const word = arg.replace(/^-+/, '').split('=')[0].toLowerCase();
  let best = '';
  let bestD = Infinity;
  for (const name of Object.keys(FLAGS)) {
    const d = name.startsWith(word) && word.length >= 3 ? 0 : editDistance(word, name);
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return bestD <= Math.max(1, Math.floor(best.length / 3)) ? `; did you mean '--${best}'?` : '';
}

/** Edit distance with adjacent transpositions counted as one edit ('quite' → 'quiet' is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The command line through node:util's parseArgs (strict: unknown flags are usage errors). */
function parseArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgv({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const arg = /'([^']+)'/.exec((e as Error).message)?.[1] ?? '';
      throw new UsageError(`unknown option '${arg}'${didYouMean(arg)}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const m = (e as Error).message;
      if (/--threads/.test(m)) throw new UsageError('--threads needs a number (--threads N)');
      throw new UsageError(m);
    }
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const a: Args = { positional: parsed.positionals, help: v.help === true, version: v.version === true, quiet: v.quiet === true, minimal: v['minimal-output'] === true, conservation: v.conservation === true };
  if (v.threads !== undefined) {
    const t = v.threads;
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 1024) throw new UsageError(`--threads must be an integer from 1 to 1024, got '${t}'`);
    a.threads = Number(t);
  }
  if (v.shard !== undefined) a.shard = parseShard(v.shard, '--shard');
  if (v.manifest !== undefined) a.manifest = v.manifest;
  return a;
}

/** 'i/n' with 0 <= i < n. */
function parseShard(text: string, what: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UsageError(`${what} must be i/n with 0 <= i < n (e.g. 0/3), got '${text}'`);
  return { index, count };
}

/** The shard from the environment: LRP_SHARD_INDEX or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) with LRP_SHARD_COUNT. */
function envShard(env: Record<string, string | undefined>): { index: number; count: number } | undefined {
  const count = env.LRP_SHARD_COUNT;
  if (count === undefined || count === '') return undefined;
  const index = env.LRP_SHARD_INDEX ?? env.JOB_COMPLETION_INDEX;
  if (index === undefined || index === '') throw new UsageError('LRP_SHARD_COUNT is set but neither LRP_SHARD_INDEX nor JOB_COMPLETION_INDEX is');
  return parseShard(`${index}/${count}`, 'LRP_SHARD_INDEX/LRP_SHARD_COUNT');
}

/** The version of the installed package. */
export function packageVersion(): string {
  for (const up of ['..', '../..']) {
    const file = path.resolve(__dirname, up, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'caffe-lrp' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

/** One line, whatever the error: start-up errors are shown without a stack trace. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, '; ').trim();
}

function errorText(e: unknown): string {
  if (e instanceof CaffeLrpError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The reason an image failed, without repeating the image's own path. */
export function imageReason(e: unknown, imageFile: string): string {
  let msg = errorText(e);
  if (e instanceof CaffeLrpError && e.file === imageFile && msg.startsWith(`${imageFile}: `)) msg = msg.slice(imageFile.length + 2);
  return oneLine(msg);
}

/**
 * Runs a demonstrator with the arguments after the command name. Resolves to the exit
 * status; never rejects for bad input (only for defects of caffe-lrp itself).
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const cmd: CommandName = options.command ?? 'lrp-demo';
  const mode = COMMANDS[cmd];
  if (!mode) throw new Error(`unknown demonstrator command '${cmd}'`);
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const cwd = options.cwd ?? process.cwd();
  const fail = (msg: string) => {
    stderr.write(`${cmd}: error: ${oneLine(msg)}\n`);
    return 1;
  };

  let args: Args;
  try {
    args = parseArgs(argv);
    args.shard ??= envShard(options.env ?? process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr.write(`${cmd}: ${e.message}\n${usageLine(cmd)}\n`);
    return 1;
  }
  if (args.help) {
    stdout.write(helpText(cmd));
    return 0;
  }
  if (args.version) {
    stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (args.positional.length !== 3) {
    stderr.write(`${cmd}: expected 3 arguments <config> <filelist> <prefix>, got ${args.positional.length}\n${usageLine(cmd)}\n`);
    return 1;
  }
  const warn = (msg: string) => {
    if (!args.quiet) stderr.write(`${cmd}: warning: ${oneLine(msg)}\n`);
  };
  if (args.threads !== undefined) {
    if (Object.keys(require.cache).some((k) => k.endsWith('.node') && path.basename(k).startsWith('caffe_lrp'))) {
      warn('--threads has no effect: the engine is already loaded in this process');
    }
    process.env.OPENBLAS_NUM_THREADS = String(args.threads);
    process.env.OMP_NUM_THREADS = String(args.threads); // our own parallel loops, and an OpenMP-built OpenBLAS
  }
  const minimal = mode.minimal || args.minimal;
  const [configArg, listArg, prefix] = args.positional;
  const started = Date.now();
  // Messages name the files as typed when they are relative to the process's own cwd.
  const userPath = (p: string) => (path.resolve(cwd) === process.cwd() ? p : path.resolve(cwd, p));

  // Only now the modules that load the engine (and sharp).
  const { readConfig } = await import('./config');
  const { readFileList } = await import('./filelist');
  const { openSession } = await import('./session');
  const { runPipeline } = await import('./pipeline');

  let config;
  let entries: FileListEntry[];
  try {
    const parsed = readConfig(userPath(configArg), { cwd });
    parsed.warnings.forEach(warn);
    config = parsed.config;
    entries = readFileList(userPath(listArg), prefix);
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    return fail(e.message);
  }

  let session;
  try {
    session = await openSession({ config, parallel: mode.parallel, images: entries.length });
  } catch (e) {
    if (e instanceof CaffeLrpError) return fail(e.message);
    // Not an input error in the strict sense (e.g. the engine is not built): still one line.
    return fail(errorText(e));
  }

  const { shardBatches } = await import('./pipeline');
  const { manifestRecord, writeManifest } = await import('./queue/manifest');
  const todo = shardBatches(entries, session.batchSize, args.shard).reduce((n, b) => n + b.length, 0);
  const progress = new Progress(todo, { quiet: args.quiet, stream: stderr, env: options.env });
  const records: ReturnType<typeof manifestRecord>[] = [];
  const { ConservationSummary, conservationFile, writeConservation } = await import('./conservation');
  const conservation = args.conservation ? new ConservationSummary() : undefined;
  let failed = 0;
  try {
    const result = await runPipeline(session, entries, {
      minimal,
      cwd,
      shard: args.shard,
      conservation,
      onImageDone(entry, error, files) {
        const reason = error === undefined ? undefined : imageReason(error, path.resolve(cwd, entry.imagePath));
        if (reason !== undefined) progress.log(`${cmd}: ${entry.imagePath} (${listArg} line ${entry.line}): ${reason}`);
        if (args.manifest !== undefined) records.push(manifestRecord(entry, minimal, files, reason));
        progress.tick(1, error === undefined ? 0 : 1);
      },
    });
    failed = result.failed;
  } finally {
    progress.finish();
    await session.net.dispose();
  }
  if (args.manifest !== undefined) {
    try {
      await writeManifest(path.resolve(cwd, args.manifest), records);
    } catch (e) {
      if (!(e instanceof CaffeLrpError)) throw e;
      return fail(e.message);
    }
  }
  if (conservation) {
    try {
      await writeConservation(conservationFile(config.outPath, args.shard), conservation, session.relOptions);
    } catch (e) {
      if (!(e instanceof CaffeLrpError)) throw e;
      return fail(e.message);
    }
  }
  if (!args.quiet) stderr.write(`${cmd}: ${summaryLine(todo, failed, (Date.now() - started) / 1000)}\n`);
  return failed > 0 ? 2 : 0;
}

/** Entry point of the bin shims: runs `command` on process.argv and sets the exit status. */
export function runCommand(command: CommandName): void {
  main(process.argv.slice(2), { command }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${command}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
