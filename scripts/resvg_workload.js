// Runs a fixed workload through @resvg/resvg-wasm from the package directory given as the
// first argument (its index.js, with the index_bg.wasm beside it): renders SVGs with paths,
// strokes, gradients, transforms, clipping, masks, filters and opacity at several sizes, and
// prints the size and SHA-256 of each PNG, the bounding boxes and the re-serialized SVG.
// scripts/resvg-check.sh compares this across builds of index_bg.wasm.
const crypto = require('crypto');
const fs = require('fs');
const dir = process.argv[2];
const { initWasm, Resvg } = require(dir + '/index.js');
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
const star = Array.from({ length: 10 }, (_, i) => {
  const r = i % 2 ? 20 : 48, a = (i * Math.PI) / 5;
  return `${(60 + r * Math.sin(a)).toFixed(2)},${(60 - r * Math.cos(a)).toFixed(2)}`;
}).join(' ');
const svgs = {
  shapes: `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">
    <rect x="5" y="5" width="110" height="110" rx="12" fill="#fec" stroke="#333" stroke-width="3"/>
    <circle cx="60" cy="60" r="30" fill="none" stroke="teal" stroke-width="8" stroke-dasharray="10 5"/>
    <polygon points="${star}" fill="gold" fill-opacity="0.7"/>
    <path d="M10 100 C 40 10, 80 10, 110 100 S 150 190, 10 100 Z" fill="none" stroke="crimson" stroke-linejoin="round"/>
  </svg>`,
  gradients: `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">
    <defs>
      <linearGradient id="l" x1="0" x2="1"><stop offset="0" stop-color="navy"/><stop offset="0.5" stop-color="#f80" stop-opacity="0.5"/><stop offset="1" stop-color="lime"/></linearGradient>
      <radialGradient id="r" cx="0.3" cy="0.3" r="0.8" spreadMethod="reflect"><stop offset="0" stop-color="white"/><stop offset="1" stop-color="purple"/></radialGradient>
      <pattern id="p" width="10" height="10" patternUnits="userSpaceOnUse"><rect width="5" height="5" fill="#999"/></pattern>
    </defs>
    <rect width="200" height="50" fill="url(#l)"/>
    <ellipse cx="60" cy="75" rx="55" ry="22" fill="url(#r)" transform="rotate(-8 60 75)"/>
    <rect x="120" y="55" width="75" height="40" fill="url(#p)" opacity="0.8"/>
  </svg>`,
  effects: `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 80 80">
    <defs>
      <clipPath id="c"><circle cx="40" cy="40" r="30"/></clipPath>
      <mask id="m"><rect width="80" height="80" fill="white"/><circle cx="40" cy="40" r="12" fill="black"/></mask>
      <filter id="f"><feGaussianBlur stdDeviation="2"/><feOffset dx="2" dy="3"/></filter>
    </defs>
    <g clip-path="url(#c)" mask="url(#m)">
      <rect width="80" height="80" fill="steelblue"/>
      <path d="M0 80 L40 0 L80 80 Z" fill="orange" filter="url(#f)"/>
    </g>
    <g transform="translate(10 10) scale(0.5) skewX(20)"><rect width="30" height="30" fill="black" fill-opacity="0.4"/></g>
  </svg>`,
};
(async () => {
  await initWasm(fs.readFileSync(dir + '/index_bg.wasm'));
  const lines = [];
  for (const [name, svg] of Object.entries(svgs)) {
    for (const fitTo of [{ mode: 'original' }, { mode: 'width', value: 333 }, { mode: 'zoom', value: 0.37 }]) {
      const r = new Resvg(svg, { fitTo, background: 'rgba(250, 250, 250, .5)', shapeRendering: 2 });
      const png = r.render().asPng();
      const bbox = r.getBBox();
      lines.push(`${name} ${fitTo.mode}: ${r.width}x${r.height} ${png.length} ${sha(png)} bbox ${bbox ? [bbox.x, bbox.y, bbox.width, bbox.height].map((v) => v.toFixed(3)).join(',') : '-'}`);
      r.free();
    }
    lines.push(`${name} svg: ${sha(new Resvg(svg).toString())}`);
  }
  try {
    new Resvg('<svg><rect');
    lines.push('malformed: accepted');
  } catch (e) {
    lines.push('malformed: ' + String(e).slice(0, 60));
  }
  console.log(sha(lines.join('\n')), lines.length, 'results');
  if (process.env.RESVG_DUMP) console.log(lines.join('\n'));
})().catch((e) => {
  console.log('failed: ' + e);
  process.exit(1);
});
