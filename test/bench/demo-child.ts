/**
 * The end-to-end row of `npm run bench` in its own process (so that the peak resident set
 * printed is lrp-parallel-demo's alone): start-up over an empty list, then the 100-photo
 * list, in the folder the parent prepared. Prints one JSON line.
 */
import { main as demoMain } from '../../demonstrator/cli';

async function run(dir: string): Promise<void> {
  const quiet = { write: () => true, isTTY: false };
  const s0 = process.hrtime.bigint();
  await demoMain(['--quiet', 'config.txt', 'empty.txt', '.'], { command: 'lrp-parallel-demo', cwd: dir, stdout: quiet, stderr: quiet });
  const startup = Number(process.hrtime.bigint() - s0) / 1e9;
  const t0 = process.hrtime.bigint();
  const code = await demoMain(['--quiet', 'config.txt', 'list.txt', '.'], { command: 'lrp-parallel-demo', cwd: dir, stdout: quiet, stderr: process.stderr });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // maxRSS is in KiB; MB here are 10^6 bytes, like the model size beside them
  process.stdout.write(JSON.stringify({ code, startup, seconds, maxRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6 }) + '\n');
}

run(process.argv[2]).catch((e) => {
  console.error(e);
  process.exit(1);
});
