// Times TensorFlow.js's WebAssembly backend on heavier kernels than tfjs_workload.js: a
// 256x256 matrix product, a 3x3 convolution on a 64x64x16 image, a depthwise convolution and
// an elementwise chain on a million values. Arguments as tfjs_workload.js (the package
// directory whose dist/tfjs-backend-wasm-simd.wasm is loaded, then a node_modules with
// tfjs-core and the backend). Prints the best of 5 runs per kernel in milliseconds, as JSON.
// benches/simd.rs runs it on the SIMD build, on its scalar fallback and on tfjs's own scalar
// build.
const [dir, modules] = process.argv.slice(2);
const tf = require(modules + '/@tensorflow/tfjs-core');
const backend = require(modules + '/@tensorflow/tfjs-backend-wasm');
backend.setWasmPaths(dir + '/dist/', false);
const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
(async () => {
  await tf.setBackend('wasm');
  const a = tf.tensor2d(fill(256 * 256, (i) => Math.sin(i)), [256, 256]);
  const image = tf.tensor4d(fill(64 * 64 * 16, (i) => Math.cos(i * 0.3)), [1, 64, 64, 16]);
  const filter = tf.tensor4d(fill(3 * 3 * 16 * 16, (i) => Math.sin(i * 0.7)), [3, 3, 16, 16]);
  const depthwise = tf.tensor4d(fill(3 * 3 * 16 * 1, (i) => Math.cos(i)), [3, 3, 16, 1]);
  const big = tf.tensor1d(fill(1 << 20, (i) => Math.sin(i * 0.01)));
  const kernels = {
    matMul: () => tf.matMul(a, a),
    conv2d: () => tf.conv2d(image, filter, 1, 'same'),
    depthwise: () => tf.depthwiseConv2d(image, depthwise, 1, 'same'),
    elementwise: () => tf.relu(tf.add(tf.mul(big, tf.scalar(1.5)), tf.scalar(0.25))),
  };
  const out = {};
  for (const [name, run] of Object.entries(kernels)) {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const start = process.hrtime.bigint();
      const t = tf.tidy(run);
      await t.data();
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
      t.dispose();
    }
    out[name] = best;
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.log('failed: ' + e);
  process.exit(1);
});
