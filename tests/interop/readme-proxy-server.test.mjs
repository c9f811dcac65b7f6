// The README's WebSocketProxyServer program (proxy-server.mjs), run as written with Node and the
// `ws` package, serving a job to Python Pipecat's WebSocketProxyClient (py_proxy_client.py).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../lib/free-port.mjs";
import { T, here, root, startPython, waitUntil } from "./helpers.mjs";

let dir;
let server;
before(() => {
  // Inside tests/interop, so that "workbus" and "ws" resolve as in a user's project.
  dir = mkdtempSync(join(here, ".readme-proxy-"));
});
after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("the README's proxy-server.mjs serves 'assistant' to Pipecat's client proxy", T, async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const body = /^```js\n(\/\/ proxy-server\.mjs\n[\s\S]*?)^```$/m.exec(readme)?.[1];
  assert.ok(body, "the README has no proxy-server.mjs block");
  writeFileSync(join(dir, "proxy-server.mjs"), body);
  const port = await freePort();
  server = spawn(process.execPath, ["proxy-server.mjs"], { cwd: dir, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  server.stdout.on("data", (d) => (out += d));
  server.stderr.on("data", (d) => (err += d));
  await waitUntil(() => out.includes(`listening on ws://localhost:${port}/`), 10_000, `the server's first line (stderr: ${err})`);

  const py = await startPython("py_proxy_client.py", ["--url", `ws://127.0.0.1:${port}/`]);
  try {
    const r = await py.request({ cmd: "job", worker: "assistant", name: "summarize", payload: { text: "workers cooperate over a proxy" }, timeout: 10 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.response, { summary: "workers cooperate over" });
  } finally {
    await py.stop();
  }
  assert.equal(err, "");
});
