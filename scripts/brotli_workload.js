// Runs a fixed workload through brotli-wasm from the package directory given as the first
// argument (its pkg.node/brotli_wasm.js loads the brotli_wasm_bg.wasm beside it): compresses
// text, binary and repetitive inputs at several qualities, one-shot and streaming, decompresses
// each back, and prints the sizes and SHA-256 of the compressed bytes.
// scripts/brotli-check.sh compares this across builds of brotli_wasm_bg.wasm.
const crypto = require('crypto');
const brotli = require(process.argv[2] + '/index.node.js');
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
// Deterministic inputs: prose, a pseudo-random byte stream, and a long run with a pattern.
const prose = Buffer.from(
  Array.from({ length: 400 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog ${i * 7 % 13}.\n`).join(''),
);
let seed = 12345;
const noise = Buffer.alloc(50000, 0).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255);
const runs = Buffer.alloc(80000, 0).map((_, i) => (i % 97 < 60 ? 65 : i % 251));
const lines = [];
for (const [name, input] of [['prose', prose], ['noise', noise], ['runs', runs], ['empty', Buffer.alloc(0)]]) {
  for (const quality of [0, 5, 11]) {
    const packed = brotli.compress(input, { quality });
    const back = Buffer.from(brotli.decompress(packed));
    lines.push(`${name} q${quality}: ${input.length} -> ${packed.length} ${sha(packed)} ${back.equals(input) ? 'ok' : 'MISMATCH'}`);
  }
  // Streaming, in uneven chunks.
  const stream = new brotli.CompressStream(6);
  const parts = [];
  for (let at = 0; at < input.length; at += 7777) {
    const r = stream.compress(input.subarray(at, at + 7777), 1 << 20);
    parts.push(Buffer.from(r.buf));
  }
  parts.push(Buffer.from(stream.compress(undefined, 1 << 20).buf));
  const packed = Buffer.concat(parts);
  const back = Buffer.from(brotli.decompress(packed));
  lines.push(`${name} stream: ${packed.length} ${sha(packed)} ${back.equals(input) ? 'ok' : 'MISMATCH'}`);
}
// A corrupt stream must fail the same way.
try {
  brotli.decompress(Buffer.from([1, 2, 3, 4, 5]));
  lines.push('corrupt: accepted');
} catch (e) {
  lines.push('corrupt: ' + String(e).slice(0, 60));
}
console.log(sha(lines.join('\n')), lines.length, 'results');
if (process.env.BROTLI_DUMP) console.log(lines.join('\n'));
