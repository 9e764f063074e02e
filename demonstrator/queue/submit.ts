/** `lrp-queue submit`: the list as one job per chunk, the run's bookkeeping, the run id on stdout's last line. */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { readConfig } from '../config';
import { readFileList } from '../filelist';
import type { ChunkJob } from './job';
import { bullmq, connect, keys, newRunId } from './redis';

export interface SubmitOptions {
  url: string;
  queue: string;
  cwd: string;
  configFile: string;
  listFile: string;
  prefix: string;
  minimal: boolean;
  /** Images per job; default the net's batch size. */
  chunk?: number;
  attempts: number;
  log(s: string): void;
}

/**
 * The batch of the net's input. A Caffe prototxt says it without the weights: reading a
 * caffemodel (233 MB for CaffeNet) only for this number made every submit take a second.
 * Anything else (an ONNX model) is loaded as the workers will load it.
 */
export async function netBatchSize(paramFile: string, modelFile: string | undefined): Promise<number> {
  if (!paramFile.toLowerCase().endsWith('.onnx')) {
    try {
      const { loadNetSpec } = await import('../../lib/caffe');
      const b = (await loadNetSpec({ prototxt: paramFile })).inputs[0]?.shape[0];
      if (Number.isInteger(b) && (b as number) >= 1) return b as number;
    } catch {
      // not readable without the weights: the full load below says what is wrong
    }
  }
  const { Net } = await import('../../lib/net');
  const net = await Net.load({ prototxt: paramFile, caffemodel: modelFile });
  try {
    return net.batchSize;
  } finally {
    await net.dispose();
  }
}

export async function submit(o: SubmitOptions): Promise<string> {
  const configPath = path.resolve(o.cwd, o.configFile);
  const { config, warnings } = readConfig(configPath, { cwd: o.cwd });
  warnings.forEach((w) => o.log(`warning: ${w}`));
  const entries = readFileList(path.resolve(o.cwd, o.listFile), o.prefix);
  if (entries.length === 0) throw new CaffeLrpError('PARSE', 'the file list has no images', { file: o.listFile });
  // The net's batch, as lrp-parallel-demo uses it (shrunk to the list).
  let chunk = o.chunk ?? config.batchSize ?? (await netBatchSize(config.paramFile, config.modelFile));
  chunk = Math.max(1, Math.min(chunk, entries.length));
  const text = fs.readFileSync(configPath, 'utf8');
  const run = newRunId();
  const { Queue } = bullmq();
  const redis = connect(o.url);
  const queue = new Queue<ChunkJob>(o.queue, { connection: redis });
  try {
    const chunks = Math.ceil(entries.length / chunk);
    await redis.hset(keys.meta(o.queue, run), { total: entries.length, chunks, outPath: config.outPath, started: Date.now() });
    const jobs = [];
    for (let c = 0; c < chunks; c++) {
      const data: ChunkJob = { run, config: { text, file: o.configFile, cwd: o.cwd }, listImages: entries.length, minimal: o.minimal, entries: entries.slice(c * chunk, (c + 1) * chunk) };
      jobs.push({ name: 'chunk', data, opts: { jobId: `${run}-${c}`, attempts: o.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false } });
    }
    await redis.sadd(keys.jobs(o.queue, run), ...jobs.map((j) => j.opts.jobId));
    await queue.addBulk(jobs);
    o.log(`submitted ${entries.length} images in ${chunks} jobs of up to ${chunk} to queue '${o.queue}'`);
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return run;
}
