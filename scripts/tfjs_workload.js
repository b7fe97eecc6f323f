// Runs a fixed workload through TensorFlow.js's WebAssembly backend: the package directory
// given as the first argument holds the module (dist/tfjs-backend-wasm-simd.wasm, loaded from
// there), the second is a node_modules with @tensorflow/tfjs-core and the backend's
// JavaScript. Matrix products, convolutions (plain, depthwise, strided), pooling, activations,
// softmax, normalization, resizing and reductions on fixed inputs go through the SIMD build's
// XNNPACK kernels; prints the SHA-256 of every result's exact bits.
// scripts/tfjs-check.sh compares this across builds of the module.
const crypto = require('crypto');
const [dir, modules] = process.argv.slice(2);
const tf = require(modules + '/@tensorflow/tfjs-core');
const backend = require(modules + '/@tensorflow/tfjs-backend-wasm');
backend.setWasmPaths(dir + '/dist/', false);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
(async () => {
  await tf.setBackend('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const lines = [`backend ${tf.getBackend()}, simd ${simd}`];
  const image = tf.tensor4d(fill(2 * 17 * 19 * 3, (i) => Math.sin(i * 0.37) * 2), [2, 17, 19, 3]);
  const filter = tf.tensor4d(fill(3 * 3 * 3 * 8, (i) => Math.cos(i * 0.11)), [3, 3, 3, 8]);
  const depthwise = tf.tensor4d(fill(5 * 5 * 8 * 2, (i) => ((i * 7919) % 13) / 13 - 0.5), [5, 5, 8, 2]);
  const a = tf.tensor2d(fill(67 * 45, (i) => Math.sin(i)), [67, 45]);
  const b = tf.tensor2d(fill(45 * 33, (i) => Math.cos(i * 0.7)), [45, 33]);
  const results = {
    matMul: tf.matMul(a, b),
    matMulT: tf.matMul(a, a, false, true),
    conv: tf.conv2d(image, filter, 1, 'same'),
    convStrided: tf.conv2d(image, filter, [2, 3], 'valid'),
    depthwise: tf.depthwiseConv2d(tf.relu(tf.conv2d(image, filter, 1, 'same')), depthwise, 1, 'same'),
    maxPool: tf.maxPool(image, 3, 2, 'same'),
    avgPool: tf.avgPool(image, [2, 3], 1, 'valid'),
    softmax: tf.softmax(tf.matMul(a, b)),
    activations: tf.stack([tf.relu6(a), tf.sigmoid(a), tf.tanh(a), tf.elu(a), tf.prelu(a, tf.scalar(0.2))]),
    arithmetic: tf.sub(tf.mul(a, tf.scalar(3.5)), tf.div(a, tf.add(tf.abs(a), tf.scalar(1)))),
    batchNorm: tf.batchNorm(image, tf.scalar(0.1), tf.scalar(1.7), tf.scalar(0.3), tf.scalar(2)),
    resize: tf.image.resizeBilinear(image, [11, 23]),
    reductions: tf.stack([tf.sum(a, 1), tf.max(a, 1), tf.min(a, 1), tf.mean(a, 1)]),
    transpose: tf.transpose(image, [0, 3, 1, 2]),
  };
  for (const [name, t] of Object.entries(results)) {
    const data = await t.data();
    lines.push(`${name} [${t.shape}]: ${sha(Buffer.from(data.buffer))}`);
  }
  console.log(sha(lines.join('\n')), lines.length, 'results');
  if (process.env.TFJS_DUMP) console.log(lines.join('\n'));
})().catch((e) => {
  console.log('failed: ' + e);
  process.exit(1);
});
