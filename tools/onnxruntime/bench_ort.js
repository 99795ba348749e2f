#!/usr/bin/env node
// bench/compare's onnxruntime child: times ONNX Runtime (CPU) inference of the model file graft
// exported, on the same data .npy as the other frameworks, and prints one JSON line in the
// format of graft's and libtorch's children (bench/timing.h):
//
//   node tools/onnxruntime/bench_ort.js --onnx=M1.onnx --model=M1 --mode=infer --batch=32 \
//       --threads=1 --data_dir=DIR [--repetitions=5 --min_seconds=2 --warmup_seconds=1 --seed=1]
//   node tools/onnxruntime/bench_ort.js --check=1     # prints the ONNX Runtime version
//
// Session: all graph optimisations, `threads` intra-op threads, one inter-op thread, sequential
// execution. The batches are cut from <data_dir>/<model>_x.npy once; a step is one awaited
// session.run on the next batch, the Node.js binding's per-call cost included (15-30 us on the
// project's busy 2-core VM, measured with a one-Relu model; preallocating the output made no
// consistent difference). Timing protocol as bench/timing.h: warm up (at least two steps), then
// `repetitions` windows of whole steps lasting at least `min_seconds`.
// Exit status: 0 ok, 1 failure, 2 bad flags, 3 onnxruntime-node missing (tools/setup.sh --onnx).
'use strict';

const path = require('path');
const {readNpy, loadOrt, parseFlags} = require('./npy.js');

// The p-quantile (nearest rank) of `v`; sorts v.
function percentile(v, p) {
  v.sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
}

function now() { return Number(process.hrtime.bigint()) / 1e9; }

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// %.6g, as the C++ children print numbers.
function number(v) { return Number(v.toPrecision(6)); }

async function main() {
  const f = parseFlags(process.argv.slice(2), {
    onnx: '', model: '', mode: 'infer', batch: '32', threads: '1', repetitions: '5',
    min_seconds: '2', warmup_seconds: '1', seed: '1', data_dir: '', config: 'default', check: '0',
  });
  if (f.check === '1') {
    process.stdout.write(`onnxruntime-node ${loadOrt().env.versions.node}\n`);
    return;
  }
  if (!f.onnx || !f.model || !f.data_dir) {
    process.stderr.write('bench_ort.js: --onnx, --model and --data_dir are required\n');
    process.exit(2);
  }
  if (f.mode !== 'infer') {
    process.stderr.write('bench_ort.js: only --mode=infer (ONNX Runtime runs inference)\n');
    process.exit(2);
  }
  const ort = loadOrt();
  const batch = Number(f.batch), threads = Number(f.threads);
  const session = await ort.InferenceSession.create(f.onnx, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const x = readNpy(path.join(f.data_dir, `${f.model}_x.npy`));
  const n = x.shape[0], per = x.data.length / n;
  const numBatches = Math.floor(n / batch);
  if (numBatches === 0) throw new Error(`batch ${batch} is larger than the data (${n} samples)`);
  const dims = [batch, ...x.shape.slice(1)];
  const inputs = [];
  for (let i = 0; i < numBatches; ++i) {
    inputs.push(new ort.Tensor('float32', x.data.subarray(i * batch * per, (i + 1) * batch * per),
                               dims));
  }
  const inName = session.inputNames[0];
  let i = 0;
  const step = async () => {
    await session.run({[inName]: inputs[i]});
    i = (i + 1) % numBatches;
  };

  const warm = now();
  for (let k = 0; k < 2 || now() - warm < Number(f.warmup_seconds); ++k) await step();
  const windows = [], latencies = [];
  let steps = 0, seconds = 0;
  for (let r = 0; r < Number(f.repetitions); ++r) {
    let s = 0, elapsed = 0;
    const start = now();
    let before = start;
    do {
      await step();
      const after = now();
      latencies.push(after - before);
      before = after;
      ++s;
      elapsed = after - start;
    } while (elapsed < Number(f.min_seconds));
    windows.push(number(s * batch / elapsed));
    steps += s;
    seconds += elapsed;
  }
  const report = {
    framework: 'onnxruntime', config: f.config, model: f.model, mode: f.mode, batch, threads,
    samples_per_s: number(median(windows)), samples_per_s_min: number(Math.min(...windows)),
    samples_per_s_max: number(Math.max(...windows)), windows, steps, seconds: number(seconds),
    p50_us: number(1e6 * percentile(latencies, 0.50)),
    p99_us: number(1e6 * percentile(latencies, 0.99)),
    num_batches: numBatches, onnxruntime_version: ort.env.versions.node,
    node_version: process.versions.node, graph_optimization: 'all', inter_op_threads: 1,
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench_ort.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
