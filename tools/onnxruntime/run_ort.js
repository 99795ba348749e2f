#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (CPU) on one float32 .npy input and writes the first
// output as a float32 .npy:
//
//   node tools/onnxruntime/run_ort.js --model=m.onnx --input=x.npy --output=y.npy [--threads=1]
//   node tools/onnxruntime/run_ort.js --check=1     # prints the ONNX Runtime version
//
// All graph optimisations, `threads` intra-op threads, one inter-op thread, sequential
// execution. Exit status: 0 ok, 1 a failure (message on stderr), 2 bad flags, 3 onnxruntime-node
// is not installed (run tools/setup.sh --onnx).
'use strict';

const {readNpy, writeNpy, loadOrt, parseFlags} = require('./npy.js');

async function main() {
  const flags = parseFlags(process.argv.slice(2),
                           {model: '', input: '', output: '', threads: '1', check: '0'});
  if (flags.check === '1') {
    process.stdout.write(`onnxruntime-node ${loadOrt().env.versions.node}\n`);
    return;
  }
  if (!flags.model || !flags.input || !flags.output) {
    process.stderr.write('run_ort.js: --model, --input and --output are required\n');
    process.exit(2);
  }
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(flags.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(flags.threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const x = readNpy(flags.input);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape)};
  const results = await session.run(feeds);
  const y = results[session.outputNames[0]];
  if (y.type !== 'float32') throw new Error(`output type ${y.type}, expected float32`);
  writeNpy(flags.output, y.data, y.dims);
}

main().catch((e) => {
  process.stderr.write(`run_ort.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
