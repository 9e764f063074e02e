/**
 * The bundled Fashion-MNIST demo model and its twelve test images, as absolute paths, so a
 * project that depends on caffe-lrp can load them without knowing where npm put the package.
 */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from './package-root';

export interface DemoModel {
  prototxt: string;
  caffemodel: string;
  labels: string;
  /** The bundled test images (28x28 grey PNGs), in the order of the demo's file list. */
  images: string[];
}

function build(): DemoModel {
  const root = packageRoot();
  const modelDir = path.join(root, 'demonstrator', 'demo-model');
  const imageDir = path.join(root, 'demonstrator', 'demo-images');
  let images: string[] = [];
  try {
    images = fs
      .readFileSync(path.join(imageDir, 'filelist.txt'), 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0])
      .filter((name) => name && !name.startsWith('#'))
      .map((name) => path.join(imageDir, name));
  } catch {
    // a trimmed install without the images still has the model
  }
  return {
    prototxt: path.join(modelDir, 'deploy.prototxt'),
    caffemodel: path.join(modelDir, 'fashion-mnist.caffemodel'),
    labels: path.join(modelDir, 'labels.txt'),
    images,
  };
}

/** Absolute paths of the bundled demo model's files and images. */
export const demoModel: DemoModel = build();
