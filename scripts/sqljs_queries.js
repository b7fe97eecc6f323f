// Runs a fixed SQLite workload through sql.js from the package directory given as the first
// argument and prints the size and SHA-256 of the results, then the message of a failing query:
// scripts/sqljs-check.sh compares this output across builds of sql-wasm.wasm. With SQLJS_DUMP=1
// it also prints the results themselves, to find where two builds differ.
const init = require(process.argv[2] + '/dist/sql-wasm.js');
init().then(SQL => {
  const db = new SQL.Database();
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v REAL);");
  const insert = db.prepare("INSERT INTO t (name, v) VALUES (?, ?)");
  for (let i = 0; i < 20000; i++) insert.run(["n" + (i * 7919 % 10007), i / 3]);
  insert.free();
  db.run("CREATE INDEX by_name ON t (name);");
  const results = db.exec(
    "SELECT name, count(*), sum(v), group_concat(id) FROM t GROUP BY substr(name,1,3) ORDER BY 2 DESC, 1 LIMIT 5;" +
    "SELECT printf('%.3f', avg(v)), max(length(name)) FROM t WHERE name > 'n5';" +
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000) SELECT sum(x*x) FROM c;" +
    "SELECT upper(name) || '-' || hex(name), replace(name, 'n', 'm') FROM t ORDER BY v DESC LIMIT 3;");
  const text = JSON.stringify(results);
  if (process.env.SQLJS_DUMP) console.log(text);
  console.log(text.length, require('crypto').createHash('sha256').update(text).digest('hex'));
  try { db.exec("SELECT * FROM missing"); } catch (e) { console.log("error:", e.message); }
});
