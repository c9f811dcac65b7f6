// The README's "Joining a Python Pipecat session" example over Redis, run as written: its
// Python program (session.py) with the venv's Pipecat and its JavaScript program (session.mjs)
// with the built package, on a private Redis server instead of localhost:6379.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { python, readmeSectionFiles, useReadmeDir } from "./helpers.mjs";
import { startRedis } from "./redis.mjs";

let redis;
const readmeDir = useReadmeDir(".readme-");
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

test("the README's Python and JavaScript programs run together over Redis", { timeout: 40_000 }, async () => {
  const all = readmeSectionFiles();
  const files = { "session.mjs": all["session.mjs"], "session.py": all["session.py"] };
  for (const [name, body] of Object.entries(files)) {
    assert.ok(body, `the README has no ${name}`);
    assert.ok(body.includes("redis://localhost:6379"), `${name} no longer connects to redis://localhost:6379`);
    readmeDir.write(name, body.replaceAll("redis://localhost:6379", redis.url));
  }
  const js = readmeDir.run(process.execPath, ["session.mjs"]);
  const py = readmeDir.run(python, ["session.py"]);
  const [j, p] = await Promise.all([js, py]);
  assert.equal(p.code, 0, `session.py: ${p.signal ?? p.code}\n${p.out}\n${p.err.slice(-3000)}`);
  assert.equal(j.code, 0, `session.mjs: ${j.signal ?? j.code}\n${j.out}\n${j.err.slice(-3000)}`);
  assert.match(p.out, /^shouter says \{'text': 'HELLO FROM PYTHON'\}$/m);
  assert.equal(j.out, "{ type: 'update', data: { words: 6 } }\n{ summary: 'workers cooperate over' }\n");
});
