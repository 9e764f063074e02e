#!/usr/bin/env node
// Child process of test/hostile/corpus.test.ts: runs a group of hostile-input cases against
// the compiled package (dist/) and prints one JSON line per case, so a crash or a hang in
// one case still leaves the outcomes of the cases before it. Classification of a case:
//   ok        resolved, every number in the result finite
//   error     CaffeLrpError (with its code)
//   foreign   any other exception (TypeError, RangeError, plain Error, ...)
//   nonfinite resolved, but a returned array holds NaN/Inf
// Crashes (signals) and hangs (timeouts) are seen by the parent.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..', '..', '..');
const lib = require(path.join(root, 'dist', 'lib', 'index.js'));
const { Net, CaffeLrpError, toolbox, loadMean, loadLabels, demoModel } = lib;

const [casesFile, workDir] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));

function allFinite(x, seen = new Set()) {
  if (x === null || x === undefined) return true;
  if (typeof x === "number") return Number.isFinite(x);
  if (ArrayBuffer.isView(x) && typeof x.length === 'number') {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(Number(x[i]))) return false;
    return true;
  }
  if (typeof x !== 'object' || seen.has(x)) return true;
  seen.add(x);
  if (x instanceof Net) return true;
  for (const v of Array.isArray(x) ? x : Object.values(x)) if (!allFinite(v, seen)) return false;
  return true;
}

const nets = new Map();
async function sharedNet(which) {
  if (!nets.has(which)) {
    const m = demoModel;
    nets.set(which, await Net.load({ prototxt: m.prototxt, caffemodel: m.caffemodel, labels: m.labels }));
  }
  return nets.get(which);
}

const file = (name) => path.join(workDir, name);

/** After a successful load: one forward and one relevance pass on a deterministic input. */
async function exercise(net) {
  const shape = net.inputShape ? net.inputShape : undefined;
  const n = shape ? shape.slice(1).reduce((a, b) => a * b, 1) : 0;
  const out = { loaded: true };
  if (n > 0 && n < 1 << 22) {
    const x = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 255) / 255);
    out.scores = await net.forward([x]);
    out.heatmap = await net.backwardRelevance([0], { rule: 'epsilon' });
  }
  await net.dispose();
  return out;
}

const ops = {
  async load(c) {
    const opts = {};
    for (const [k, v] of Object.entries(c.load)) opts[k] = typeof v === 'string' && v.startsWith('@') ? file(v.slice(1)) : v;
    if (opts.demo) {
      const m = demoModel;
      delete opts.demo;
      opts.prototxt = opts.prototxt ?? m.prototxt;
      opts.caffemodel = opts.caffemodel ?? m.caffemodel;
    }
    return exercise(await Net.load(opts));
  },
  async mean(c) {
    return loadMean(file(c.file), c.format ? { format: c.format } : undefined);
  },
  async labels(c) {
    return loadLabels(file(c.file));
  },
  async toolbox(c) {
    return exercise(await toolbox.loadToolboxNet(file(c.file)));
  },
  async image(c) {
    const net = await sharedNet('demo');
    const r = await net.explainImage(file(c.file), { rule: 'epsilon', targets: 'top1' });
    return { scores: r.scores, heatmap: r.heatmap };
  },
  async api(c) {
    const scenario = require('./api-scenarios.js')[c.scenario];
    return scenario(lib, c.arg, sharedNet);
  },
  async cli(c) {
    return runCli(c);
  },
};

/** The demonstrator as a user runs it: its exit status, and what it left in the output folder. */
function runCli(c) {
  const bin = path.join(root, 'demonstrator', 'bin', c.bin || 'lrp-parallel-demo.js');
  const args = c.args.map((a) => (typeof a === 'string' && a.startsWith('@') ? file(a.slice(1)) : a));
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: workDir, encoding: 'utf8', timeout: 25000, maxBuffer: 1 << 24 });
  const stderr = String(r.stderr || '');
  const res = { kind: 'cli', status: r.status, signal: r.signal, stderr: stderr.slice(0, 400) };
  if (r.error && r.error.code === 'ETIMEDOUT') res.hang = true;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(stderr) || /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/.test(stderr)) res.foreign = stderr.slice(0, 600);
  if (c.outDir) Object.assign(res, inspectOutputs(file(c.outDir)));
  return res;
}

/** Partial files (a rawhm or scores file that does not parse whole) and non-finite numbers in outputs. */
function inspectOutputs(dir) {
  const res = { partial: [], nonfinite: [], temps: [] };
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      if (/\.tmp$/.test(e.name)) { res.temps.push(path.relative(dir, p)); continue; }
      if (/\.png$/.test(e.name)) {
        // a whole PNG ends with its IEND chunk
        const b = fs.readFileSync(p);
        if (b.length < 12 || b.subarray(b.length - 8, b.length - 4).toString('latin1') !== 'IEND') res.partial.push(path.relative(dir, p));
        continue;
      }
      if (!/\.txt$/.test(e.name)) continue;
      const text = fs.readFileSync(p, 'utf8');
      if (/\b(nan|-?inf(inity)?)\b/i.test(text)) res.nonfinite.push(path.relative(dir, p));
      if (/_rawhm\.txt$/.test(e.name) && !wholeRawhm(text)) res.partial.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return res;
}

/** The rawhm layout: the channel count, then "H W", then channels x H rows of W numbers. */
function wholeRawhm(text) {
  if (!text.endsWith('\n')) return false;
  const lines = text.split('\n').slice(0, -1);
  const c = Number(lines[0]);
  const [h, w] = (lines[1] || '').trim().split(/\s+/).map(Number);
  if (!(c >= 1 && h >= 1 && w >= 1) || lines.length !== 2 + c * h) return false;
  return lines.slice(2).every((l) => l.trim().split(/\s+/).length === w);
}

function describeError(e) {
  if (e instanceof CaffeLrpError) return { outcome: 'error', code: e.code, message: String(e.message).slice(0, 300) };
  const name = e && e.constructor ? e.constructor.name : typeof e;
  return { outcome: 'foreign', name, message: String(e && e.stack ? e.stack : e).slice(0, 600) };
}

(async () => {
  for (const c of cases) {
    let line;
    try {
      const result = await ops[c.op](c);
      if (c.op === 'cli') {
        let outcome = result.status === 0 ? 'ok' : 'error';
        if (c.expect === 'ok' && result.status !== 0) outcome = 'wrong';
        if (c.mustNotExist && fs.existsSync(file(c.mustNotExist))) outcome = 'escaped';
        if (c.mustExist && !fs.existsSync(file(c.mustExist))) outcome = 'wrong';
        if (c.stderrMatch && !new RegExp(c.stderrMatch).test(result.stderr)) outcome = 'wrong';
        if (result.hang) outcome = 'hang';
        else if (result.signal) outcome = 'crash';
        else if (result.foreign) outcome = 'foreign';
        else if (result.partial && result.partial.length) outcome = 'partial';
        else if (result.nonfinite && result.nonfinite.length) outcome = 'nonfinite';
        line = { id: c.id, outcome, code: `exit ${result.status}`, detail: result };
      } else {
        line = { id: c.id, outcome: allFinite(result) ? 'ok' : 'nonfinite' };
      }
    } catch (e) {
      line = { id: c.id, ...describeError(e) };
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  for (const net of nets.values()) await net.dispose();
})().catch((e) => {
  process.stderr.write(`worker failed: ${e && e.stack}\n`);
  process.exit(3);
});
