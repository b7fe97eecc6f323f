// Runs a fixed workload through web-tree-sitter from the package directory given as the first
// argument (its tree-sitter.js loads the tree-sitter.wasm beside it), with the grammars of the
// tree-sitter-wasms package given as the second: parses JavaScript, Python, C and JSON
// sources (one with syntax errors), edits one and parses it again incrementally, runs a query,
// and prints the SHA-256 of every tree. scripts/tree-sitter-check.sh compares this across
// builds of tree-sitter.wasm.
const crypto = require('crypto');
const [dir, grammars] = process.argv.slice(2);
const Parser = require(dir + '/tree-sitter.js');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);
const sources = {
  javascript: `class Stack { #items = []; push(x) { this.#items.push(x); return this; }
    get top() { return this.#items.at(-1); } }
    export async function* walk(tree, depth = 0) { for (const c of tree.children ?? []) { yield [c, depth]; yield* walk(c, depth + 1); } }
    const re = /a+(?<n>\\d{2,})/gu, t = \`x \${1 + 2 * 3} y\`; label: while (true) { break label; }`,
  python: `import sys\nfrom dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int = 0\n    def f(self, *a, **k):\n        return [i ** 2 for i in range(self.x) if i % 2] or {k: v for k, v in k.items()}\n\nwith open(sys.argv[0]) as fh:\n    print(f"{len(fh.read()):>8}", end="")\n`,
  c: `#include <stdio.h>\nstruct node { int v; struct node *next; };\nstatic int sum(const struct node *n) { int s = 0; for (; n; n = n->next) s += n->v; return s; }\nint main(void) { struct node b = {2, 0}, a = {1, &b}; printf("%d\\n", sum(&a)); switch (a.v) { case 1: return 0; default: return 1; } }\n`,
  json: `{"a": [1, 2.5e-3, true, null, {"b": "c\\u00e9"}], "d": {}, "e": [ ] , "broken": [1, 2,, }`,
};
(async () => {
  await Parser.init();
  const parser = new Parser();
  const lines = [];
  for (const [lang, source] of Object.entries(sources)) {
    const language = await Parser.Language.load(`${grammars}/tree-sitter-${lang}.wasm`);
    parser.setLanguage(language);
    const tree = parser.parse(source);
    const root = tree.rootNode;
    lines.push(`${lang}: ${root.descendantCount} nodes, errors ${root.hasError}, ${sha(root.toString())}`);
    if (lang === 'javascript') {
      // Replace `push` by `append` and parse again from the old tree.
      const at = source.indexOf('push');
      const edited = source.slice(0, at) + 'append' + source.slice(at + 4);
      const pos = (i) => ({ row: 0, column: i });
      tree.edit({ startIndex: at, oldEndIndex: at + 4, newEndIndex: at + 6, startPosition: pos(at), oldEndPosition: pos(at + 4), newEndPosition: pos(at + 6) });
      const again = parser.parse(edited, tree);
      lines.push(`javascript edited: ${again.rootNode.descendantCount} nodes, changed ${again.getChangedRanges(tree).length}, ${sha(again.rootNode.toString())}`);
      const query = language.query('(method_definition name: (property_identifier) @m) (identifier) @id');
      const captures = query.captures(again.rootNode).map((c) => `${c.name}=${c.node.text}@${c.node.startIndex}`);
      lines.push(`javascript query: ${captures.length} ${sha(captures.join(' '))}`);
      again.delete();
    }
    const cursor = tree.walk();
    let visited = 0, deepest = 0, depth = 0;
    for (let more = true; more; ) {
      visited++;
      if (cursor.gotoFirstChild()) { depth++; deepest = Math.max(deepest, depth); continue; }
      while (!cursor.gotoNextSibling()) { if (!cursor.gotoParent()) { more = false; break; } depth--; }
    }
    lines.push(`${lang} walk: ${visited} visited, depth ${deepest}`);
    tree.delete();
  }
  console.log(sha(lines.join('\n')), lines.length, 'results');
  if (process.env.TREE_SITTER_DUMP) console.log(lines.join('\n'));
})().catch((e) => {
  console.log('failed: ' + e);
  process.exit(1);
});
