/**
 * `npm run demo`: runs lrp-demo on the bundled Fashion-MNIST model and test images
 * (demonstrator/demo-config.txt), then draws an overview (inputs above their heatmaps) and
 * says where everything is. `--readme-picture` also refreshes the README's picture
 * (demonstrator/readme-overview.png) from this run.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { main } from './cli';
import { readFileList } from './filelist';

const ROOT = path.resolve(__dirname, '..', '..');
const CONFIG = 'demonstrator/demo-config.txt';
const LIST = 'demonstrator/demo-images/filelist.txt';
const PREFIX = 'demonstrator/demo-images';
const OUT = path.join(ROOT, 'lrp_output', 'demo-images');
const README_PICTURE = path.join(ROOT, 'demonstrator', 'readme-overview.png');
const TILE = 112; // 28 x 4, pixel replication
const GAP = 8;

async function tile(file: string): Promise<Buffer> {
  return sharp(file).resize(TILE, TILE, { kernel: 'nearest' }).toColourspace('srgb').removeAlpha().png().toBuffer();
}

/** Inputs in the top row, their heatmaps below, in file-list order. */
async function overview(names: string[], file: string): Promise<void> {
  const parts: sharp.OverlayOptions[] = [];
  for (const [i, name] of names.entries()) {
    const left = i * (TILE + GAP);
    parts.push({ input: await tile(path.join(OUT, `${name}_as_inputted_into_the_dnn.png`)), left, top: 0 });
    parts.push({ input: await tile(path.join(OUT, `${name}_heatmap.png`)), left, top: TILE + GAP });
  }
  const width = names.length * (TILE + GAP) - GAP;
  await sharp({ create: { width, height: 2 * TILE + GAP, channels: 3, background: '#ffffff' } }).composite(parts).png().toFile(file);
}

async function run(): Promise<number> {
  process.stderr.write(`running: lrp-demo ${CONFIG} ${LIST} ${PREFIX}\n`);
  const code = await main([CONFIG, LIST, PREFIX], { command: 'lrp-demo', cwd: ROOT });
  if (code !== 0) return code;
  const names = readFileList(path.join(ROOT, LIST), path.join(ROOT, PREFIX)).map((e) => path.basename(e.entry));
  const picture = path.join(ROOT, 'lrp_output', 'overview.png');
  await overview(names, picture);
  if (process.argv.includes('--readme-picture')) await overview(names.slice(0, 8), README_PICTURE);
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  process.stdout.write(
    `\nDone. For each image in ${PREFIX}/ the demo wrote four files to ${rel(OUT)}/:\n` +
      `  <image>_heatmap.png, <image>_rawhm.txt, <image>_toptenscores.txt, <image>_as_inputted_into_the_dnn.png\n` +
      `Overview (inputs above their heatmaps): ${rel(picture)}\n`,
  );
  return 0;
}

run().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
