import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { readNpy } from '../../lib/io/npy';
import { joinPrefix, outputBase, outputFiles, parseFileList, readFileList } from '../../demonstrator/filelist';
import { chooseClasses } from '../../demonstrator/ranking';
import { rankClasses } from '../../lib/outputs/ranking';
import { E2E_CASES, VECTORS, testIfShared } from './shared';

describe('file lists', () => {
  testIfShared(E2E_CASES.map((c) => path.join(VECTORS, c)), 'the e2e file lists')('the e2e lists as the original resolved them (classinds_resolved in meta.json)', () => {
    for (const c of E2E_CASES) {
      const dir = path.join(VECTORS, c);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
      const list = readFileList(path.join(dir, 'testfilelist.txt'), '.');
      const scores = readNpy(path.join(dir, 'scores.npy')).data as Float32Array;
      expect(scores.length).toBe(list.length * 10);
      const resolved = list.map((e, i) => chooseClasses(e.classes, scores.subarray(i * 10, (i + 1) * 10)));
      expect(resolved).toEqual(meta.filelist.classinds_resolved);
      expect(list[0].imagePath).toBe('./images/cat1_67.png');
    }
  });

  test('class field: -2 top-5, other negatives top-1, >= 0 that class, missing top-1', () => {
    const l = parseFileList('a.png -2\nb.png -1\nc.png -7\nd.png -1000\ne.png 3\nf.png\ng.png 0 extra tokens\n', 'pre');
    expect(l.map((e) => e.classes)).toEqual([
      { kind: 'top', k: 5 },
      { kind: 'top', k: 1 },
      { kind: 'top', k: 1 },
      { kind: 'top', k: 1 },
      { kind: 'class', index: 3 },
      { kind: 'top', k: 1 },
      { kind: 'class', index: 0 },
    ]);
    expect(l.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(l[0].imagePath).toBe('pre/a.png');
  });

  test('blank and # lines are skipped, short names are images (the original dropped lines of 2 characters); CRLF tolerated', () => {
    const l = parseFileList('# comment\n\n   \nab\nx\n  # indented comment\r\nimg.png 1\r\nz.jpg\r\n', 'p');
    expect(l.map((e) => [e.line, e.entry])).toEqual([
      [4, 'ab'],
      [5, 'x'],
      [7, 'img.png'],
      [8, 'z.jpg'],
    ]);
  });

  test("'..' after the root stub cannot lead out of the output folder (a per-image error)", () => {
    const e = { imagePath: '/data/imgs/../../../etc/x.jpg', entry: 'x.jpg' };
    expect(() => outputBase(e, '/out', 'imgs')).toThrow(expect.objectContaining({ code: 'IO', message: expect.stringMatching(/would leave standalone_outpath/) }));
    expect(outputBase({ imagePath: '/data/imgs/a/../b.jpg', entry: 'b.jpg' }, '/out', 'imgs')).toBe('/out/imgs/b.jpg');
    expect(outputBase({ imagePath: 'p/../../up.jpg', entry: '../../up.jpg' }, '/out')).toBe('/out/up.jpg');
  });

  test('a class field that is not an integer → that entry is kept with a PARSE error for its image only', () => {
    // The run goes on (issue 13): the entry keeps its line, and choosing its classes fails.
    const l = parseFileList('a.png 1\nb.png 1.5\nc.png 2\n', '.', 'list.txt');
    expect(l.map((e) => [e.line, e.entry, e.classes.kind])).toEqual([[1, 'a.png', 'class'], [2, 'b.png', 'invalid'], [3, 'c.png', 'class']]);
    let err: CaffeLrpError | undefined;
    try {
      chooseClasses(l[1].classes, [0.5, 0.2]);
    } catch (e) {
      err = e as CaffeLrpError;
    }
    expect(err).toBeInstanceOf(CaffeLrpError);
    expect(err?.code).toBe('PARSE');
    expect(err?.message).toContain("'1.5'");
    const top5 = parseFileList('a.png top5\n', '.');
    expect(() => chooseClasses(top5[0].classes, [0.5])).toThrow(/not an integer/);
    expect(chooseClasses(l[2].classes, [0.1, 0.2, 0.3])).toEqual([2]);
  });

  test('quoted paths with spaces', () => {
    const l = parseFileList('"my dir/a b.png" -2\n', '.');
    expect(l[0].entry).toBe('my dir/a b.png');
    expect(l[0].classes).toEqual({ kind: 'top', k: 5 });
  });

  test('prefix joining is the original string concatenation', () => {
    expect(joinPrefix('./', 'someimages/x.jpg')).toBe('.//someimages/x.jpg');
    expect(joinPrefix('', 'a.png')).toBe('/a.png');
  });

  test('readFileList: not a regular file → IO error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-list-'));
    try {
      expect(() => readFileList(dir, '.')).toThrow(CaffeLrpError);
      expect(() => readFileList(path.join(dir, 'none.txt'), '.')).toThrow(/cannot read the image list/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('output paths', () => {
  test('§5.9 / Appendix B: outpath + "/" + path from the first occurrence of the stub', () => {
    const e = { imagePath: './/./someimages/scooter10.jpg', entry: './someimages/scooter10.jpg' };
    expect(outputBase(e, './lrp_output', 'someimages')).toBe('./lrp_output/someimages/scooter10.jpg');
    expect(outputBase({ imagePath: 'a/images/b/images/c.png', entry: '' }, 'out', 'images')).toBe('out/images/b/images/c.png');
  });

  test('e2e: the original wrote output/images/<name>', () => {
    expect(outputBase({ imagePath: './images/cat1_67.png', entry: 'images/cat1_67.png' }, 'output', 'images')).toBe('output/images/cat1_67.png');
  });

  test('a path without the stub is a per-image IO error', () => {
    expect(() => outputBase({ imagePath: './x/a.png', entry: 'x/a.png' }, 'out', 'images')).toThrow(/does not contain standalone_rootpath 'images'/);
  });

  test('no stub: outpath + entry, kept inside outpath', () => {
    expect(outputBase({ imagePath: 'p/a/b.png', entry: 'a/b.png' }, 'out')).toBe('out/a/b.png');
    expect(outputBase({ imagePath: 'p//abs/b.png', entry: '/abs/b.png' }, 'out')).toBe('out/abs/b.png');
    expect(outputBase({ imagePath: 'p/../../b.png', entry: '../../b.png' }, 'out')).toBe('out/b.png');
  });

  test('file names; _top10scores.txt only under compat', () => {
    expect(outputFiles('o/x.jpg')).toEqual({
      rawhm: 'o/x.jpg_rawhm.txt',
      scores: 'o/x.jpg_toptenscores.txt',
      heatmap: 'o/x.jpg_heatmap.png',
      asInputted: 'o/x.jpg_as_inputted_into_the_dnn.png',
    });
    expect(outputFiles('o/x.jpg', true).scores).toBe('o/x.jpg_top10scores.txt');
  });
});

describe('class ranking and choice', () => {
  test('best first; ties highest index first; NaN last', () => {
    expect(rankClasses([0.1, 0, 0.7, 0, 0.2, 0])).toEqual([2, 4, 0, 5, 3, 1]);
    expect(rankClasses([NaN, 1, 2])).toEqual([2, 1, 0]);
    expect(rankClasses([Infinity, Infinity, 0])).toEqual([1, 0, 2]);
  });

  test('top-k capped by the class count; explicit class range-checked', () => {
    expect(chooseClasses({ kind: 'top', k: 5 }, [0.5, 0.2, 0.3])).toEqual([0, 2, 1]);
    expect(chooseClasses({ kind: 'top', k: 1 }, [0.5, 0.2, 0.9])).toEqual([2]);
    expect(chooseClasses({ kind: 'class', index: 1 }, [0.5, 0.2])).toEqual([1]);
    expect(() => chooseClasses({ kind: 'class', index: 2 }, [0.5, 0.2])).toThrow(/out of range/);
  });
});
