/**
 * Installs a Debian package with apt-get (as root, non-interactively): the development
 * flow's way of fetching the Fashion-MNIST data set. Kept out of the npm package: an
 * installed caffe-lrp names the package to install instead of running apt-get itself.
 */
import { spawnSync } from 'child_process';

/** True when the package was installed (after one `apt-get update` retry). */
export function aptInstall(pkg: string): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]): number | null => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env }).status;
  if (run(['install', '-y', '-qq', '--no-install-recommends', pkg]) === 0) return true;
  run(['update', '-qq']);
  return run(['install', '-y', '-qq', '--no-install-recommends', pkg]) === 0;
}
