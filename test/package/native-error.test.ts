/**
 * A missing or unloadable native engine is a CaffeLrpError with code 'NATIVE' whose message
 * carries the loader's own error and the fix (`npm rebuild caffe-lrp`): a rejection from
 * Net.load, a throw from new Net, never a plain Error. (The package test covers the same for
 * an installed package without any engine, and for a real missing-library dlopen failure.)
 * Runs with `npm test` (fast: it never builds anything).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { Net } from '../../lib/net';
import { demoModel } from '../../lib/demo-model';
import { smallNetWithLrn } from '../helpers/small-nets';

const saved = process.env.CAFFE_LRP_NATIVE;
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-native-'));
});
afterEach(() => {
  if (saved === undefined) delete process.env.CAFFE_LRP_NATIVE;
  else process.env.CAFFE_LRP_NATIVE = saved;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<CaffeLrpError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(CaffeLrpError);
  return e as CaffeLrpError;
}

test('an engine file that is not a shared library: Net.load rejects with NATIVE, the dlopen error and the fix', async () => {
  const bogus = path.join(dir, 'caffe_lrp.node');
  fs.writeFileSync(bogus, 'not an ELF file\n');
  process.env.CAFFE_LRP_NATIVE = bogus;
  const e = await rejection(Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }));
  expect(e.code).toBe('NATIVE');
  expect(e.message).toContain(bogus);
  expect(e.message).toMatch(/invalid ELF header|file too short/); // the loader's words
  expect(e.message).toContain("npm rebuild caffe-lrp");
  // The synchronous constructor throws the same kind of error.
  let thrown: unknown;
  try {
    new Net(smallNetWithLrn(1));
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CaffeLrpError);
  expect((thrown as CaffeLrpError).code).toBe('NATIVE');
});

test('an engine path that does not exist: NATIVE naming the path', async () => {
  const missing = path.join(dir, 'nowhere', 'caffe_lrp.node');
  process.env.CAFFE_LRP_NATIVE = missing;
  const e = await rejection(Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }));
  expect(e.code).toBe('NATIVE');
  expect(e.message).toContain(`${missing}, which does not exist`);
  expect(e.message).toContain('npm rebuild caffe-lrp');
});

test('the failure is not cached: with the override gone the development engine loads', async () => {
  process.env.CAFFE_LRP_NATIVE = path.join(dir, 'nowhere.node');
  await rejection(Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }));
  if (saved === undefined) delete process.env.CAFFE_LRP_NATIVE;
  else process.env.CAFFE_LRP_NATIVE = saved;
  const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel });
  expect(net.labels).toEqual([]); // no labels given: an empty list, never undefined
  await net.dispose();
});
