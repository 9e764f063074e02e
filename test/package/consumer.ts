/**
 * Helpers of the pack-and-install test: a fresh consumer project for the packed tarball, the
 * README's example in its three forms (ESM as written, CommonJS and strict TypeScript derived
 * from it mechanically) and a recorder that captures what the example's calls returned.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const root = path.resolve(__dirname, '..', '..');

/** The ```js blocks of README's "## Node API" section, as test/api/readme.test.ts finds them. */
export function readmeExamples(): string[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = text.indexOf('\n## Node API');
  const end = text.indexOf('\n## ', section + 1);
  const body = text.slice(section, end < 0 ? undefined : end);
  const out: string[] = [];
  for (let at = body.indexOf('```js\n'); at >= 0; at = body.indexOf('```js\n', at)) {
    const close = body.indexOf('\n```', at + 6);
    out.push(body.slice(at + 6, close + 1));
    at = close + 4;
  }
  return out;
}

/**
 * The same program as CommonJS: static imports become require() calls and the rest runs in
 * an async function (CommonJS has no top-level await).
 */
export function toCommonJs(esm: string): string {
  const lines = esm.split('\n');
  const head: string[] = [];
  const body: string[] = [];
  for (const line of lines) {
    const named = /^import\s*\{([^}]*)\}\s*from\s*(['"][^'"]+['"]);?\s*$/.exec(line);
    const deflt = /^import\s+(\w+)\s+from\s*(['"][^'"]+['"]);?\s*$/.exec(line);
    if (named) head.push(`const {${named[1]}} = require(${named[2]});`);
    else if (deflt) head.push(`const ${deflt[1]} = require(${deflt[2]});`);
    else if (/^\s*(import|export)\b/.test(line)) throw new Error(`cannot convert to CommonJS: ${line}`);
    else body.push(line);
  }
  return `'use strict';\n${head.join('\n')}\n(async () => {\n${body.join('\n')}\n})().catch((e) => {\n  console.error(e);\n  process.exitCode = 1;\n});\n`;
}

/** tsconfig of the strict TypeScript consumer (Node's own ESM rules, every strict check). */
export const CONSUMER_TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    outDir: 'ts-out',
    skipLibCheck: false,
  },
  include: ['*.mts'],
};

/**
 * A preload (`node --require`) that wraps every method of Net.prototype and records the
 * heatmaps and classes each call returns, plus the shared libraries mapped at exit; written
 * as JSON to $CAFFE_LRP_RECORD. ESM and CommonJS share one caffe-lrp instance (lib/esm
 * re-exports dist/), so it sees the calls of all three forms of the example.
 */
export const RECORDER = `'use strict';
const fs = require('fs');
const { Net } = require('caffe-lrp');
const calls = [];
const heatmapsOf = (v) => {
  if (!v || typeof v !== 'object') return [];
  if (Array.isArray(v.heatmaps)) return v.heatmaps;
  if (v.data instanceof Float32Array && typeof v.height === 'number') return [v];
  if (Array.isArray(v) && v.length && v.every((h) => h && h.data instanceof Float32Array)) return v;
  return [];
};
const note = (method, v) => {
  const maps = heatmapsOf(v);
  if (!maps.length) return;
  calls.push({ method, classes: v.classes ?? null, heatmaps: maps.map((h) => ({ shape: [h.channels, h.height, h.width], data: Array.from(h.data) })) });
};
for (const name of Object.getOwnPropertyNames(Net.prototype)) {
  const d = Object.getOwnPropertyDescriptor(Net.prototype, name);
  if (name === 'constructor' || typeof d.value !== 'function') continue;
  const original = d.value;
  Net.prototype[name] = function (...args) {
    const r = original.apply(this, args);
    if (r && typeof r.then === 'function') return r.then((v) => (note(name, v), v));
    note(name, r);
    return r;
  };
}
process.on('exit', () => {
  const libs = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && /\\.so|\\.node$/.test(p)))];
  fs.writeFileSync(process.env.CAFFE_LRP_RECORD, JSON.stringify({ calls, libs }));
});
`;

export interface Recorded {
  calls: { method: string; classes: number[][] | null; heatmaps: { shape: number[]; data: number[] }[] }[];
  libs: string[];
}

export function relativeL2(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

/** Largest relative L2 distance between corresponding heatmaps (Infinity when the calls differ). */
export function recordDistance(a: Recorded, b: Recorded): number {
  if (a.calls.length !== b.calls.length || a.calls.length === 0) return Infinity;
  let worst = 0;
  a.calls.forEach((c, i) => {
    const d = b.calls[i];
    if (c.method !== d.method || JSON.stringify(c.classes) !== JSON.stringify(d.classes) || c.heatmaps.length !== d.heatmaps.length) worst = Infinity;
    c.heatmaps.forEach((h, j) => {
      if (JSON.stringify(h.shape) !== JSON.stringify(d.heatmaps[j].shape)) worst = Infinity;
      worst = Math.max(worst, relativeL2(h.data, d.heatmaps[j].data));
    });
  });
  return worst;
}

/**
 * package.json and package-lock.json of a fresh project that depends on the tarball. The
 * lockfile holds our own lockfile's runtime packages with their registry URLs: npm's cache
 * has their tarballs (npm ci put them there) but not the registry's metadata, which a plain
 * `npm install --offline` would ask for.
 */
export function writeConsumer(dir: string, tarball: string, allowScripts = false): void {
  fs.mkdirSync(dir, { recursive: true });
  const own = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string; dev?: boolean; [k: string]: unknown }>;
  };
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${path.relative(dir, tarball)}`;
  const integrity = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64');
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { 'caffe-lrp': spec } },
    'node_modules/caffe-lrp': {
      version: manifest.version, resolved: spec, integrity, license: manifest.license, hasInstallScript: true,
      os: manifest.os, cpu: manifest.cpu, dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
    },
  };
  for (const [key, entry] of Object.entries(own.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    packages[key] = { ...entry, resolved };
  }
  // npm 11 runs an unreviewed dependency's install script with a warning; allowScripts silences it.
  const scripts = allowScripts ? { allowScripts: { 'caffe-lrp': true } } : {};
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { 'caffe-lrp': spec }, ...scripts }, null, 2));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}
