/**
 * Loads proto/caffe.proto once. Field names keep the schema's snake_case spelling
 * (keepCase) so that prototxt keys, decoded caffemodels and our NetParameter objects
 * all use the same names.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as protobuf from 'protobufjs';

let root: protobuf.Root | undefined;

/** Finds proto/caffe.proto whether we run from lib/ (ts-jest) or dist/lib/ (compiled). */
function schemaPath(): string {
  const candidates = [
    path.resolve(__dirname, '..', '..', 'proto', 'caffe.proto'),
    path.resolve(__dirname, '..', '..', '..', 'proto', 'caffe.proto'),
  ];
  for (const p of candidates) if (fs.existsSync(p)) return p;
  throw new Error(`caffe-lrp: schema proto/caffe.proto not found (looked in ${candidates.join(', ')})`);
}

export function caffeRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.loadSync(schemaPath(), { keepCase: true });
    root.resolveAll();
  }
  return root;
}

/** A message type of the caffe package, e.g. caffeType('NetParameter'). */
export function caffeType(name: string): protobuf.Type {
  return caffeRoot().lookupType(`caffe.${name}`);
}
