// The README's PgmqBus example ("Over PostgreSQL (pgmq)"), run as written: its Python program
// (pgmq_session.py) with the venv's Pipecat and its JavaScript program (pgmq-session.mjs) with
// the built package, on a private PostgreSQL server instead of localhost:5432.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { python, readmeSectionFiles, useReadmeDir } from "./helpers.mjs";
import { startPostgres } from "./postgres.mjs";

let postgres;
const readmeDir = useReadmeDir(".readme-pgmq-");
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

test("the README's Python and JavaScript programs run together over pgmq", { timeout: 40_000 }, async () => {
  const files = readmeSectionFiles();
  // The private server listens on 127.0.0.1 only, on its own port.
  const local = {
    "pgmq-session.mjs": ["localhost:5432", `127.0.0.1:${postgres.port}`],
    "pgmq_session.py": ['host="localhost", port="5432"', `host="127.0.0.1", port="${postgres.port}"`],
  };
  for (const [name, [from, to]] of Object.entries(local)) {
    assert.ok(files[name]?.includes(from), `the README's ${name} no longer has ${from}`);
    readmeDir.write(name, files[name].replaceAll(from, to));
  }
  const js = readmeDir.run(process.execPath, ["pgmq-session.mjs"]);
  const py = readmeDir.run(python, ["pgmq_session.py"]);
  const [j, p] = await Promise.all([js, py]);
  assert.equal(p.code, 0, `pgmq_session.py: ${p.signal ?? p.code}\n${p.out}\n${p.err.slice(-3000)}`);
  assert.equal(j.code, 0, `pgmq-session.mjs: ${j.signal ?? j.code}\n${j.out}\n${j.err.slice(-3000)}`);
  assert.match(p.out, /^shouter says \{'text': 'HELLO OVER POSTGRES'\}$/m);
  assert.equal(j.out, "{ type: 'update', data: { words: 4 } }\n{ summary: 'workers cooperate over' }\n");
});
