// Runs bench/voiceprint_peers_onnx.py's xvector.onnx with onnxruntime-node
// on one intra-op thread, checks it against the numpy output, and prints
// the median time in ms.  Usage: node voiceprint_peers.mjs OUT_DIR FRAMES
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const [dir, framesArg] = process.argv.slice(2);
const require = createRequire(dir + '/');
const ort = require('onnxruntime-node');
const frames = Number(framesArg);
const buf = readFileSync(dir + '/feats.f32');
const feats = new Float32Array(buf.buffer, buf.byteOffset, frames * 23);
const nb = readFileSync(dir + '/numpy.f32');
const want = new Float32Array(nb.buffer, nb.byteOffset, 128);
const sess = await ort.InferenceSession.create(dir + '/xvector.onnx', {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
});
const input = new ort.Tensor('float32', feats, [frames, 23]);
let out;
for (let i = 0; i < 5; i++) out = await sess.run({ feats: input });
const ts = [];
for (let i = 0; i < 30; i++) {
  const t0 = process.hrtime.bigint();
  out = await sess.run({ feats: input });
  ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
ts.sort((a, b) => a - b);
const got = out.xvector.data;
let d = 0, na = 0, nw = 0;
for (let i = 0; i < 128; i++) { d += got[i] * want[i]; na += got[i] * got[i]; nw += want[i] * want[i]; }
console.log(`onnxruntime ${ts[ts.length >> 1].toFixed(2)} cosine_to_numpy ${(d / Math.sqrt(na * nw)).toFixed(6)}`);
