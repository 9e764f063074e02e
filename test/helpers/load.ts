/** Test helper: builds a Net straight from prototxt + caffemodel files. */
import * as fs from 'fs';
import { parseTextFormat } from '../../lib/caffe/textformat';
import { caffeType } from '../../lib/caffe/schema';
import { decodeCaffemodel } from '../../lib/caffe/caffemodel';
import { buildNetSpec, type BuildOptions } from '../../lib/caffe/netspec';
import { Net } from '../../lib/net';

export async function loadNetFromFiles(prototxt: string, caffemodel: string, opts: BuildOptions = {}): Promise<Net> {
  const def = parseTextFormat(fs.readFileSync(prototxt, 'utf8'), caffeType('NetParameter'), prototxt);
  const weights = { net: decodeCaffemodel(fs.readFileSync(caffemodel), caffemodel), file: caffemodel };
  return new Net(buildNetSpec(def as never, weights, { file: prototxt, ...opts }));
}
