#!/usr/bin/env node
// Optional check of the zoo's ONNX files with ONNX Runtime, through the npm package
// onnxruntime-node (PyPI's onnxruntime cannot be installed here). Verification only.
//
//   mkdir -p /tmp/ortnode && cd /tmp/ortnode && npm init -y &&
//     ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts onnxruntime-node@1.30.0
//   NODE_PATH=/tmp/ortnode/node_modules node tools/zoo/ort_check.js ZOO_DIR [name ...]
//
// For every model: load DIR/<name>/<name>.onnx, run DIR/<name>/input.f32 (1 thread, all
// graph optimisations) and compare with DIR/<name>/output.f32 (the PyTorch output).
// Exit 1 if a model fails to load/run or differs by more than 1e-3 relative.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: ort_check.js ZOO_DIR [name ...]');
    process.exit(2);
  }
  let names = process.argv.slice(3);
  if (names.length === 0) {
    names = fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, 'model.json'))).sort();
  }
  let failed = 0;
  for (const name of names) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, name, 'model.json'), 'utf8'));
    try {
      const t0 = Date.now();
      const sess = await ort.InferenceSession.create(path.join(dir, name, `${name}.onnx`), {
        intraOpNumThreads: 1, graphOptimizationLevel: 'all'});
      const x = readF32(path.join(dir, name, 'input.f32'));
      const ref = readF32(path.join(dir, name, 'output.f32'));
      const feeds = {input: new ort.Tensor('float32', x, meta.input.shape)};
      const out = (await sess.run(feeds)).output;
      let err = 0; let scale = 0;
      for (let i = 0; i < ref.length; i++) {
        err = Math.max(err, Math.abs(out.data[i] - ref[i]));
        scale = Math.max(scale, Math.abs(ref[i]));
      }
      const rel = err / scale;
      const ok = out.data.length === ref.length && rel <= 1e-3;
      if (!ok) failed++;
      console.log(`${name.padEnd(17)} ORT ${ort.env.versions ? ort.env.versions.common : ''} ` +
        `out [${out.dims}] max|err| ${err.toExponential(3)} (rel ${rel.toExponential(2)}) ` +
        `${Date.now() - t0} ms ${ok ? 'ok' : 'FAILED'}`);
      if (meta.input.dynamic_axes && meta.input.dynamic_axes['0']) {
        const shape = meta.input.shape.slice(); shape[0] = 2;
        const x2 = new Float32Array(x.length * 2); x2.set(x); x2.set(x, x.length);
        const o2 = (await sess.run({input: new ort.Tensor('float32', x2, shape)})).output;
        console.log(`${''.padEnd(17)} batch 2 -> output [${o2.dims}]`);
        if (o2.dims[0] !== 2) failed++;
      }
    } catch (e) {
      failed++;
      console.log(`${name.padEnd(17)} FAILED: ${e.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
