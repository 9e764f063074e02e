/**
 * The folder of caffe-lrp's own package.json, found by walking up from this file: the same
 * answer from lib/ (ts-jest), dist/lib/ (compiled) and node_modules/caffe-lrp/dist/lib/
 * (installed as a dependency), so files shipped with the package are found from anywhere.
 */
import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'caffe-lrp') return (cached = dir);
      } catch {
        // a broken package.json above us is not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = path.resolve(__dirname, '..'));
    dir = parent;
  }
}
