// Runs a fixed workload through esbuild-wasm from the package directory given as the first
// argument (its lib/main.js loads the esbuild.wasm beside it) and prints the size and SHA-256
// of the outputs: scripts/esbuild-check.sh compares this across builds of esbuild.wasm. With
// ESBUILD_DUMP=1 it also prints the outputs themselves, to find where two builds differ.
const esbuild = require(process.argv[2] + '/lib/main.js');
const files = {
  'main.ts': `import { sum, Shape } from './shapes';
    import * as fmt from './fmt';
    const shapes: Shape[] = Array.from({ length: 50 }, (_, i) => ({ kind: i % 3 ? 'circle' : 'square', size: i * 1.5 }));
    export const total = sum(shapes);
    console.log(fmt.money(total), fmt.pad(String(shapes.length), 6));`,
  'shapes.ts': `export type Shape = { kind: 'circle' | 'square'; size: number };
    export function area(s: Shape): number { switch (s.kind) { case 'circle': return Math.PI * s.size ** 2; default: return s.size * s.size; } }
    export const sum = (xs: Shape[]) => xs.reduce((a, s) => a + area(s), 0);
    export class Unused { private x = 1; get y() { return this.x * 2; } }`,
  'fmt.ts': `export const money = (n: number) => '$' + n.toFixed(2).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ',');
    export function pad(s: string, n: number, c = ' ') { while (s.length < n) s = c + s; return s; }
    export enum Level { Low = 1, Mid, High }
    export const levels = Object.keys(Level).filter(k => isNaN(Number(k)));`,
};
const plugin = {
  name: 'memory',
  setup(build) {
    build.onResolve({ filter: /.*/ }, args => ({ path: args.path.replace(/^\.\//, '') + (args.path.endsWith('.ts') ? '' : '.ts'), namespace: 'mem' }));
    build.onLoad({ filter: /.*/, namespace: 'mem' }, args => ({ contents: files[args.path], loader: 'ts' }));
  },
};
(async () => {
  const outputs = [];
  for (const [name, source] of Object.entries(files)) {
    for (const minify of [false, true]) {
      const r = await esbuild.transform(source, { loader: 'ts', minify, target: 'es2018', sourcefile: name });
      outputs.push(r.code);
    }
  }
  for (const format of ['esm', 'cjs', 'iife']) {
    const b = await esbuild.build({ entryPoints: ['./main.ts'], bundle: true, write: false, format, minify: format !== 'esm', plugins: [plugin] });
    outputs.push(b.outputFiles[0].text);
  }
  try {
    await esbuild.transform('const = ;', { loader: 'ts' });
  } catch (e) {
    outputs.push(e.errors.map(x => x.text).join('|'));
  }
  const text = JSON.stringify(outputs);
  if (process.env.ESBUILD_DUMP) console.log(text);
  console.log(text.length, require('crypto').createHash('sha256').update(text).digest('hex'));
  process.exit(0);
})();
