// WebSocketProxyServer in Deno (Deno.upgradeWebSocket, natively) and in Bun (the README's
// proxy-server.mjs with the `ws` package), each serving a job to Python Pipecat's
// WebSocketProxyClient. The runtimes come from tests/edge (scripts/setup-edge).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../lib/free-port.mjs";
import { T, here, root, startPython, waitUntil } from "./helpers.mjs";

const bin = (name) => join(root, "tests", "edge", "node_modules", ".bin", name);
const missing = (name) => (existsSync(bin(name)) ? false : `${name} is not installed: run scripts/setup-edge`);
const servers = new Set();
const dirs = [];
after(() => {
  for (const s of servers) s.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a server process; resolves once a stdout line matches `ready`. */
async function startServer(cmd, args, options, ready) {
  const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  servers.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const line = await waitUntil(() => out.split("\n").find((l) => ready(l)), 20_000, `${cmd} to serve (stderr: ${err.slice(-2000)})`);
  return { child, line, stderr: () => err };
}

async function summarizeThroughPython(url) {
  const py = await startPython("py_proxy_client.py", ["--url", url]);
  try {
    const r = await py.request({ cmd: "job", worker: "assistant", name: "summarize", payload: { text: "workers cooperate over a proxy" }, timeout: 10 });
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.response;
  } finally {
    await py.stop();
  }
}

test("Deno: Deno.upgradeWebSocket's socket served by WebSocketProxyServer to Python's client", { ...T, skip: missing("deno") }, async () => {
  const server = await startServer(bin("deno"), ["run", "--allow-net", "--allow-read", "--allow-env", join(here, "deno_proxy_server.js")], { cwd: root }, (l) => l.includes('"listening"'));
  const { port } = JSON.parse(server.line);
  assert.deepEqual(await summarizeThroughPython(`ws://127.0.0.1:${port}/`), { summary: "workers cooperate over", runtime: "deno" });
  assert.equal(server.stderr(), "");
});

test("Bun: the README's proxy-server.mjs (ws) serves Python's client", { ...T, skip: missing("bun") }, async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const body = /^```js\n(\/\/ proxy-server\.mjs\n[\s\S]*?)^```$/m.exec(readme)?.[1];
  assert.ok(body, "the README has no proxy-server.mjs block");
  // Inside tests/interop, so that "workbus" and "ws" resolve as in a user's project.
  const dir = mkdtempSync(join(here, ".bun-proxy-"));
  dirs.push(dir);
  writeFileSync(join(dir, "proxy-server.mjs"), body);
  const port = await freePort();
  await startServer(bin("bun"), ["proxy-server.mjs"], { cwd: dir, env: { ...process.env, PORT: String(port) } }, (l) => l.includes(`listening on ws://localhost:${port}/`));
  assert.deepEqual(await summarizeThroughPython(`ws://127.0.0.1:${port}/`), { summary: "workers cooperate over" });
});
