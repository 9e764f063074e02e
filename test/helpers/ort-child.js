// Runs one ONNX model in onnxruntime-node in its own process (jest's sandbox gives typed
// arrays of another realm, which onnxruntime's tensor checks reject). Reads
// {model, feeds: {name: {dims, data (base64 float32)}}} as JSON on stdin, writes the outputs
// the same way on stdout.
'use strict';
const ort = require('onnxruntime-node');

let text = '';
process.stdin.on('data', (d) => { text += d; });
process.stdin.on('end', async () => {
  try {
    const req = JSON.parse(text);
    const model = req.modelPath ?? Buffer.from(req.model, 'base64');
    const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
    const feeds = {};
    for (const [k, v] of Object.entries(req.feeds)) {
      const b = Buffer.from(v.data, 'base64');
      const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      feeds[k] = new ort.Tensor('float32', data, v.dims);
    }
    const out = await session.run(feeds);
    const res = {};
    for (const [k, v] of Object.entries(out)) res[k] = { dims: Array.from(v.dims), data: Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64') };
    process.stdout.write(JSON.stringify(res));
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  }
});
