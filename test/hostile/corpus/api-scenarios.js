// API misuse scenarios of the hostile-input corpus (run by worker.js): each takes one bad value
// (by token, since JSON cannot carry NaN, Infinity, undefined or functions) and calls one public
// entry point with it. A CaffeLrpError with a code is the expected outcome for a bad value.
'use strict';

const BAD = {
  undefined: () => undefined,
  null: () => null,
  NaN: () => NaN,
  Inf: () => Infinity,
  negInf: () => -Infinity,
  neg: () => -1,
  zero: () => 0,
  frac: () => 2.5,
  huge: () => 1e9,
  maxInt: () => 2147483647,
  string: () => 'nope',
  emptyString: () => '',
  object: () => ({ a: 1 }),
  emptyArray: () => [],
  holeyArray: () => new Array(3),
  nanArray: () => [NaN],
  fn: () => () => 1,
  bigint: () => 10n,
  symbol: () => Symbol('s'),
  detached: () => {
    const a = new Float32Array(784);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    return a;
  },
  nanInput: () => Float32Array.from({ length: 784 }, (_, i) => (i === 300 ? NaN : 0.5)),
  infInput: () => Float32Array.from({ length: 784 }, (_, i) => (i === 5 ? Infinity : 0.5)),
  hugeInput: () => new Float32Array(784).fill(3e38),
  shortInput: () => new Float32Array(783),
  float64Input: () => new Float64Array(784),
};
const BAD_NAMES = Object.keys(BAD);

const goodInput = () => Float32Array.from({ length: 784 }, (_, i) => ((i * 13) % 256) / 255);

async function freshDemo(lib) {
  const m = lib.demoModel;
  return lib.Net.load({ prototxt: m.prototxt, caffemodel: m.caffemodel });
}

const scenarios = {
  forward: async (lib, a, shared) => (await shared('demo')).forward(BAD[a]()),
  forwardItem: async (lib, a, shared) => (await shared('demo')).forward([BAD[a]()]),
  relevanceClasses: async (lib, a, shared) => {
    const net = await shared('demo');
    await net.forward([goodInput()]);
    return net.backwardRelevance(BAD[a](), { rule: 'epsilon' });
  },
  relevanceClassItem: async (lib, a, shared) => {
    const net = await shared('demo');
    await net.forward([goodInput()]);
    return net.backwardRelevance([BAD[a]()], { rule: 'epsilon' });
  },
  rule: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { rule: BAD[a]() }),
  epsstab: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { rule: 'epsilon', epsstab: BAD[a]() }),
  beta: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { rule: 'alphabeta', alphabeta_beta: BAD[a]() }),
  lastlayer: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { lastlayerindex: BAD[a]() }),
  flatdist: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { auxiliaryvariable_maxlayerindexforflatdistinconv: BAD[a]() }),
  targets: async (lib, a, shared) => (await shared('demo')).explain([goodInput()], { targets: BAD[a]() }),
  blob: async (lib, a, shared) => (await shared('demo')).blob(BAD[a]()),
  reshape: async (lib, a) => {
    const net = await freshDemo(lib);
    try {
      return await net.reshape(BAD[a]());
    } finally {
      await net.dispose();
    }
  },
  loadPrototxt: async (lib, a) => lib.Net.load({ prototxt: BAD[a](), caffemodel: lib.demoModel.caffemodel }),
  loadCaffemodel: async (lib, a) => lib.Net.load({ prototxt: lib.demoModel.prototxt, caffemodel: BAD[a]() }),
  loadOptions: async (lib, a) => lib.Net.load(BAD[a]()),
  loadBatch: async (lib, a) => {
    const m = lib.demoModel;
    const net = await lib.Net.load({ prototxt: m.prototxt, caffemodel: m.caffemodel, batchSize: BAD[a]() });
    await net.dispose();
    return {};
  },
  newNet: async (lib, a) => new lib.Net(BAD[a]()),
  setMemoryBudget: async (lib, a) => {
    const before = lib.memoryBudget();
    try {
      lib.setMemoryBudget(BAD[a]());
    } finally {
      void before;
      lib.setMemoryBudget(undefined);
    }
    return {};
  },
  toolboxText: async (lib, a) => lib.toolbox.parseToolboxModel(BAD[a]()),
  renderHeatmap: async (lib, a) => lib.renderHeatmap(BAD[a]()),
  preprocess: async (lib, a, shared) => (await shared('demo')).preprocess(BAD[a]()),
  disposedThen: async (lib, a) => {
    const net = await freshDemo(lib);
    await net.dispose();
    const calls = [() => net.forward([goodInput()]), () => net.backwardRelevance([0]), () => net.blob('prob'), () => net.explain([goodInput()]), () => net.reshape(2), () => net.dispose()];
    return calls[BAD_NAMES.indexOf(a) % calls.length]();
  },
  disposeDuringForward: async (lib, a) => {
    const net = await freshDemo(lib);
    const pending = [net.forward([goodInput()]), net.explain([goodInput()], { rule: 'epsilon' })];
    const disposed = net.dispose();
    const settled = await Promise.allSettled([...pending, disposed]);
    const foreign = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof lib.CaffeLrpError));
    if (foreign) throw foreign.reason;
    // a call that completed must have finite results; a rejected one must be ours
    return settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  },
};

module.exports = scenarios;
module.exports.BAD_NAMES = BAD_NAMES;
