/**
 * `lrp-queue submit`'s default chunk, the net's batch, read from the prototxt alone (no
 * weights): the same number as the batch of the net loaded with its weights, for the bundled
 * model and for shared models at batch 1 and 4; an unreadable prototxt still fails as a load does.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Net } from '../../lib/net';
import { netBatchSize } from '../../demonstrator/queue/submit';
import { itShared, sharedPath } from '../helpers/shared-data';
import { CaffeLrpError } from '../../lib/errors';
import { ROOT } from './fixture';

async function loadedBatch(prototxt: string, caffemodel: string): Promise<number> {
  const net = await Net.load({ prototxt, caffemodel });
  try {
    return net.batchSize;
  } finally {
    await net.dispose();
  }
}

it('the bundled model: the batch of its prototxt, as Net.load sees it', async () => {
  const p = path.join(ROOT, 'demonstrator/demo-model/deploy.prototxt');
  const m = path.join(ROOT, 'demonstrator/demo-model/fashion-mnist.caffemodel');
  expect(await netBatchSize(p, m)).toBe(await loadedBatch(p, m));
});

itShared('mini-caffenet at batch 1 and 4', 'vectors/models/mini-caffenet', async () => {
  const m = sharedPath('vectors/models/mini-caffenet/mini-caffenet_seed1234.caffemodel');
  for (const b of [1, 4]) {
    const p = sharedPath(`vectors/models/mini-caffenet/mini-caffenet_deploy_batch${b}.prototxt`);
    const got = await netBatchSize(p, m);
    expect(got).toBe(b);
    expect(got).toBe(await loadedBatch(p, m));
  }
});

it('a prototxt that cannot be read fails with the load error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-submit-'));
  try {
    const bad = path.join(dir, 'bad.prototxt');
    fs.writeFileSync(bad, 'layer { this is not prototxt');
    const e = await netBatchSize(bad, path.join(dir, 'missing.caffemodel')).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CaffeLrpError);
    expect((e as CaffeLrpError).message).toMatch(/bad\.prototxt|missing\.caffemodel/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
