/**
 * End-to-end runs of the demonstrators against the original's outputs
 * (vectors/e2e-*: lrp_demo with formula 100, lrp_parallel_demo with formula 0, mini-caffenet),
 * and the parallel demo with partial batches against the sequential demo.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { CommandName } from '../../demonstrator/cli';
import { copyCase, expectedDir, listFiles, readRawhm, readScores, relL2, run, setKey } from './cli-helpers';
import { E2E_CASES, VECTORS, describeIfShared } from './shared';

const maybe = describeIfShared(E2E_CASES.map((c) => path.join(VECTORS, c)), 'demonstrator end-to-end tests');
const ROOT = path.resolve(__dirname, '../..');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function caseCopy(name: string, edit?: (c: string) => string): string {
  const d = copyCase(name, edit);
  dirs.push(d);
  return d;
}

const CASES: { name: string; command: CommandName }[] = [
  { name: 'e2e-lrp_demo-f100-mc', command: 'lrp_demo' },
  { name: 'e2e-lrp_parallel_demo-f0-mc', command: 'lrp_parallel_demo' },
];

function images(name: string): string[] {
  return fs
    .readdirSync(expectedDir(name))
    .filter((f) => f.endsWith('_rawhm.txt'))
    .map((f) => f.slice(0, -'_rawhm.txt'.length));
}

/** Our run's files for one image against the original's, as the task's e2e checks say. */
async function compareWithOriginal(name: string, outDir: string, scoresSuffix: string): Promise<void> {
  const exp = expectedDir(name);
  for (const img of images(name)) {
    const ours = readRawhm(path.join(outDir, `${img}_rawhm.txt`));
    const theirs = readRawhm(path.join(exp, `${img}_rawhm.txt`));
    expect(ours.lines.slice(0, 2)).toEqual(theirs.lines.slice(0, 2));
    expect(ours.lines.length).toBe(theirs.lines.length);
    expect(relL2(ours.values, theirs.values)).toBeLessThan(1e-4);
    // Identical numbers are printed identically (6 significant digits, C++ style, a space after each).
    let same = 0;
    for (let l = 2; l < theirs.lines.length; l++) {
      const a = ours.lines[l].split(' ');
      const b = theirs.lines[l].split(' ');
      expect(a.length).toBe(b.length);
      expect(a[a.length - 1]).toBe('');
      for (let k = 0; k < b.length; k++) {
        if (Object.is(Number(a[k]), Number(b[k]))) {
          expect(a[k]).toBe(b[k]);
          same++;
        }
      }
    }
    expect(same).toBeGreaterThan(ours.values.length / 4);

    const s = readScores(path.join(outDir, `${img}${scoresSuffix}`));
    const t = readScores(path.join(exp, `${img}_top10scores.txt`));
    expect(s.map(([c]) => c)).toEqual(t.map(([c]) => c));
    s.forEach(([, v], i) => {
      const w = t[i][1];
      expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-3 * Math.abs(w) + 1e-44);
    });

    // The as-inputted image is the exact crop; the heatmap has the net's input size.
    const asIn = await sharp(path.join(outDir, `${img}_as_inputted_into_the_dnn.png`)).raw().toBuffer({ resolveWithObject: true });
    const asInExp = await sharp(path.join(exp, `${img}_as_inputted_into_the_dnn.png`)).raw().toBuffer({ resolveWithObject: true });
    expect([asIn.info.width, asIn.info.height, asIn.info.channels]).toEqual([67, 67, 3]);
    expect(Buffer.compare(asIn.data, asInExp.data)).toBe(0);
    const hm = await sharp(path.join(outDir, `${img}_heatmap.png`)).metadata();
    expect([hm.width, hm.height, hm.channels, hm.depth]).toEqual([67, 67, 3, 'ushort']);
    // Same colours up to the relevance's last digits (and our clamping, contract §2): within 1 %.
    const px = async (dir: string) => {
      const b = await sharp(path.join(dir, `${img}_heatmap.png`)).raw({ depth: 'ushort' }).toBuffer();
      return new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
    };
    const [a, b] = [await px(outDir), await px(exp)];
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThanOrEqual(655);
  }
}

maybe('demonstrators reproduce the original on the e2e cases', () => {
  test.each(CASES)('$command on $name (in-process)', async ({ name, command }) => {
    const dir = caseCopy(name);
    const r = await run(['config.txt', 'testfilelist.txt', '.'], dir, command);
    expect(r.stderr).not.toMatch(/error|warning/i);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/written, 0 failed/);
    const out = path.join(dir, 'output', 'images');
    const n = images(name).length;
    expect(listFiles(out)).toHaveLength(4 * n);
    await compareWithOriginal(name, out, '_toptenscores.txt');
  });

  test('compat mode names the scores file _top10scores.txt and gives the same numbers', async () => {
    const name = CASES[0].name;
    const dir = caseCopy(name, (c) => setKey(c, 'caffe_lrp_compat', '1'));
    const r = await run(['--quiet', 'config.txt', 'testfilelist.txt', '.'], dir, 'lrp-demo');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = path.join(dir, 'output', 'images');
    const files = listFiles(out);
    expect(files.filter((f) => f.endsWith('_top10scores.txt'))).toHaveLength(3);
    expect(files.filter((f) => f.endsWith('_toptenscores.txt'))).toHaveLength(0);
    await compareWithOriginal(name, out, '_top10scores.txt');
  });

  test('the bin shim runs as a child process (with --threads)', () => {
    const cli = path.join(ROOT, 'dist', 'demonstrator', 'cli.js');
    // npm test builds dist/ first; a missing build is a failure, not a pass
    expect(fs.existsSync(cli)).toBe(true);
    const name = CASES[0].name;
    const dir = caseCopy(name);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'demonstrator', 'bin', 'lrp_demo.js'), '--threads', '1', 'config.txt', 'testfilelist.txt', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/3 images in .*3 written, 0 failed/);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const out = path.join(dir, 'output', 'images');
    for (const img of images(name)) {
      const ours = readRawhm(path.join(out, `${img}_rawhm.txt`));
      const theirs = readRawhm(path.join(expectedDir(name), `${img}_rawhm.txt`));
      expect(relL2(ours.values, theirs.values)).toBeLessThan(1e-4);
    }
    const v = spawnSync(process.execPath, [path.join(ROOT, 'demonstrator', 'bin', 'lrp-parallel-demo.js'), '--version'], { encoding: 'utf8' });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(v.stdout.trim()).toBe(pkg.version);
    expect(v.status).toBe(0);
  });
});

maybe('parallel demo with partial batches', () => {
  const LIST = [
    'images/cat1_67.png -2',
    'images/scooter10_67.png -1',
    'images/volcano2_67.png 3',
    'images/ladybug5_67.png -1',
    // The last (partial) batch: cat1 again under another name, explaining another class.
    'images/cat1b_67.png 5',
  ];

  function setup(edit: (c: string) => string): string {
    const dir = caseCopy('e2e-lrp_parallel_demo-f0-mc', edit);
    fs.copyFileSync(path.join(dir, 'images', 'cat1_67.png'), path.join(dir, 'images', 'cat1b_67.png'));
    fs.writeFileSync(path.join(dir, 'list.txt'), LIST.join('\n') + '\n');
    return dir;
  }

  test.each([
    { what: 'batch 4 from the prototxt: 4 + 1', edit: (c: string) => c },
    { what: 'config batchsize 3: 3 + 2', edit: (c: string) => setKey(c, 'batchsize', '3') },
  ])('$what gives the sequential demo results', async ({ edit }) => {
    const par = setup(edit);
    const seq = setup((c) => c.replace('mini-caffenet_deploy_batch4.prototxt', 'mini-caffenet_deploy_batch1.prototxt'));
    const rp = await run(['config.txt', 'list.txt', '.'], par, 'lrp-parallel-demo');
    const rs = await run(['config.txt', 'list.txt', '.'], seq, 'lrp-demo');
    expect([rp.code, rs.code]).toEqual([0, 0]);
    const outP = path.join(par, 'output', 'images');
    const outS = path.join(seq, 'output', 'images');
    expect(listFiles(outP)).toEqual(listFiles(outS));
    expect(listFiles(outP)).toHaveLength(20);
    for (const img of ['cat1_67.png', 'scooter10_67.png', 'volcano2_67.png', 'ladybug5_67.png', 'cat1b_67.png']) {
      const a = readRawhm(path.join(outP, `${img}_rawhm.txt`));
      const b = readRawhm(path.join(outS, `${img}_rawhm.txt`));
      expect(relL2(a.values, b.values)).toBeLessThan(1e-5);
      expect(readScores(path.join(outP, `${img}_toptenscores.txt`)).map(([c]) => c)).toEqual(
        readScores(path.join(outS, `${img}_toptenscores.txt`)).map(([c]) => c),
      );
    }
    // The fifth image explains class 5, not what the slot held in the batch before.
    const cat = readRawhm(path.join(outP, 'cat1_67.png_rawhm.txt'));
    const catb = readRawhm(path.join(outP, 'cat1b_67.png_rawhm.txt'));
    expect(relL2(catb.values, cat.values)).toBeGreaterThan(1e-2);
  });
});
