// The package keeps its `engines` promise (Node >= 20) and its `sideEffects` claim: realms work
// on a Node 20 without `process.getBuiltinModule` (added in 20.16), and the files whose loading
// changes the process (a V8 flag on Node 20, see js/entry-node.js) are declared as such.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const T = { timeout: 20_000 };
const here = fileURLToPath(new URL(".", import.meta.url));

function node(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: here, timeout: 15_000 }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }));
  });
}

test("spawnWorker and serveWorkers work on a Node 20 without process.getBuiltinModule", T, async () => {
  const preload = "data:text/javascript,delete process.getBuiltinModule";
  const { code, stdout, stderr } = await node([`--import=${preload}`, "spawn-realm.mjs"]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { getBuiltinModule: "undefined", workers: 7, worker: "who-1", inThread: true });
});

test("package.json declares the Node entry files, which set a V8 flag on Node 20, as side effects", () => {
  const manifest = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("workbus/package.json"), "utf8"));
  assert.ok(Array.isArray(manifest.sideEffects), `sideEffects is ${JSON.stringify(manifest.sideEffects)}`);
  const { node, bun } = manifest.exports["."];
  // Each condition is { types, default }: the file is its default.
  for (const entry of [node.require, node.import, bun.import].map((c) => c.default)) {
    assert.ok(manifest.sideEffects.includes(entry), `${entry} is not listed in sideEffects`);
  }
  assert.equal(manifest.engines.node, ">=20");
});
