/**
 * Debian's chromium for the browser test: installed by apt-get when missing and we are
 * root (the machine's only browser source; never a playwright download), else the reason
 * the test is skipped.
 */
import * as fs from 'fs';
import { spawnSync } from 'child_process';

export const CHROMIUM = '/usr/bin/chromium';

/** Undefined when chromium is ready; else why the browser test cannot run. */
export function ensureChromium(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) return `${CHROMIUM} is missing and this user cannot install it (needs root and apt-get: apt-get install -y --no-install-recommends chromium)`;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', timeout: 15 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0 || !fs.existsSync(CHROMIUM)) return `apt-get install chromium failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`;
  return undefined;
}

/**
 * Flags for a closed network: no first-run, sync, component or background fetches. The fresh
 * --user-data-dir is given as launchPersistentContext's first argument (playwright refuses
 * the flag itself).
 */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
