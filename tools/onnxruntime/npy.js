// Minimal .npy reading and writing for float32 little-endian C-order arrays (what graft's
// io/npy.h writes and reads), for the ONNX Runtime scripts beside this file.
'use strict';

const fs = require('fs');

// Returns {data: Float32Array, shape: number[]}; throws an Error naming the file otherwise.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  const fail = (what) => { throw new Error(`${path}: ${what}`); };
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    fail('not a .npy file');
  }
  const major = buf.readUInt8(6);
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(`unsupported .npy version ${major}`);
  }
  const header = buf.toString('latin1', offset, offset + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`cannot parse the header ${header.trim()}`);
  if (descr[1] !== '<f4') fail(`dtype ${descr[1]}; expected '<f4' (float32, little-endian)`);
  if (fortran[1] !== 'False') fail('Fortran-order arrays are not supported');
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  if (buf.length < start + 4 * count) fail(`truncated: ${count} floats expected`);
  // Copy into a fresh (aligned) buffer: the header length need not be a multiple of 4.
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(start + 4 * i);
  return {data, shape: dims};
}

// Writes a float32 array of `shape` as .npy version 1.0.
function writeNpy(path, data, shape) {
  const dims = shape.map(Number);
  const tuple = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + 4 * data.length);
  out.writeUInt8(0x93, 0);
  out.write('NUMPY', 1, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt8(0, 7);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0; i < data.length; ++i) out.writeFloatLE(data[i], 10 + header.length + 4 * i);
  fs.writeFileSync(path, out);
}

// Loads onnxruntime-node from tools/onnxruntime/node_modules (or $GRAFT_ONNXRUNTIME_DIR); exits
// with status 3 and the command to run when it is not installed.
function loadOrt() {
  const dirs = [__dirname];
  if (process.env.GRAFT_ONNXRUNTIME_DIR) dirs.unshift(process.env.GRAFT_ONNXRUNTIME_DIR);
  for (const dir of dirs) {
    try {
      return require(require.resolve('onnxruntime-node', {paths: [dir]}));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  process.stderr.write(
      `onnxruntime-node is not installed in ${__dirname}/node_modules: run tools/setup.sh --onnx\n`);
  process.exit(3);
}

// --key=value flags into an object (values are strings).
function parseFlags(argv, defaults) {
  const flags = Object.assign({}, defaults);
  for (const arg of argv) {
    const m = /^--([A-Za-z_]+)=(.*)$/.exec(arg);
    if (!m || !(m[1] in defaults)) {
      process.stderr.write(`unknown flag ${arg}; flags: ${Object.keys(defaults).join(', ')}\n`);
      process.exit(2);
    }
    flags[m[1]] = m[2];
  }
  return flags;
}

module.exports = {readNpy, writeNpy, loadOrt, parseFlags};
