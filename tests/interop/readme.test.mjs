// The README's "Joining a Python Pipecat session" example over Redis, run as written: its
// Python program (session.py) with the venv's Pipecat and its JavaScript program (session.mjs)
// with the built package, on a private Redis server instead of localhost:6379.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { here, python, root } from "./helpers.mjs";
import { startRedis } from "./redis.mjs";

/** The code blocks of the README section, keyed by the file name on their first line. */
function sectionFiles() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n## Joining a Python Pipecat session\n");
  assert.ok(start >= 0, "the README has no section 'Joining a Python Pipecat session'");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files = {};
  for (const [, body] of section.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)) {
    const name = /^(?:#|\/\/) (\S+\.(?:py|mjs))\n/.exec(body)?.[1];
    if (name) files[name] = body;
  }
  return files;
}

let redis;
let dir;
before(async () => {
  redis = await startRedis();
  // Inside tests/interop, so that "workbus" and "redis" resolve as in a user's project.
  dir = mkdtempSync(join(here, ".readme-"));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await redis?.stop();
});

function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    }),
  );
}

test("the README's Python and JavaScript programs run together over Redis", { timeout: 40_000 }, async () => {
  // The section's other programs (proxy-server.mjs) have their own test.
  const files = Object.fromEntries(Object.entries(sectionFiles()).filter(([name]) => name.startsWith("session.")));
  assert.deepEqual(Object.keys(files).sort(), ["session.mjs", "session.py"]);
  for (const [name, body] of Object.entries(files)) {
    assert.ok(body.includes("redis://localhost:6379"), `${name} no longer connects to redis://localhost:6379`);
    writeFileSync(join(dir, name), body.replaceAll("redis://localhost:6379", redis.url));
  }
  const js = run(process.execPath, ["session.mjs"]);
  const py = run(python, ["session.py"]);
  const [j, p] = await Promise.all([js, py]);
  assert.equal(p.code, 0, `session.py: ${p.signal ?? p.code}\n${p.out}\n${p.err.slice(-3000)}`);
  assert.equal(j.code, 0, `session.mjs: ${j.signal ?? j.code}\n${j.out}\n${j.err.slice(-3000)}`);
  assert.match(p.out, /^shouter says \{'text': 'HELLO FROM PYTHON'\}$/m);
  assert.equal(j.out, "{ type: 'update', data: { words: 6 } }\n{ summary: 'workers cooperate over' }\n");
});
