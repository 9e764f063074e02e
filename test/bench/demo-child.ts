/**
 * The end-to-end row of `npm run bench` in its own process, so that the peak resident set
 * printed is one lrp-parallel-demo run's alone: `list` runs the 100-photo list (start-up
 * included: that is the figure that counts), `empty` an empty list (the start-up alone, in a
 * process of its own, so that its net is not still waiting for the garbage collector while
 * the real run loads its own). In the folder the parent prepared; prints one JSON line.
 */
import { main as demoMain } from '../../demonstrator/cli';

async function run(dir: string, list: 'list' | 'empty'): Promise<void> {
  const quiet = { write: () => true, isTTY: false };
  const t0 = process.hrtime.bigint();
  const code = await demoMain(['--quiet', 'config.txt', list === 'list' ? 'list.txt' : 'empty.txt', '.'], { command: 'lrp-parallel-demo', cwd: dir, stdout: quiet, stderr: process.stderr });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // maxRSS is in KiB; MB here are 10^6 bytes, like the model size beside them
  process.stdout.write(JSON.stringify({ code, seconds, maxRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6 }) + '\n');
}

run(process.argv[2], process.argv[3] === 'empty' ? 'empty' : 'list').catch((e) => {
  console.error(e);
  process.exit(1);
});
