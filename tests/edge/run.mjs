#!/usr/bin/env node
// Tests the packed package in the runtimes it is deployed to: workerd (Cloudflare Workers),
// Deno and Bun, installed from npm into tests/edge/node_modules by scripts/setup-edge. As a
// user would: `npm pack ./pkg`, install the tarball into a fresh project, and there
//   1. run the README's examples of "Edge functions and other runtimes" as written (extracted
//      from README.md by the comment naming their file on their first line): hello.js in Deno
//      (by package name, by file and by URL) and Bun, worker.js + config.capnp in workerd;
//   2. run the example session (session.js: a job with updates, a group with streamed output,
//      a failure, a timeout, a cancellation) in Deno, Bun and Node, and over HTTP in workerd;
//   3. serve the README's streaming handler (edge.js, wrapped by serve.js) on 127.0.0.1 in each
//      runtime and read the NDJSON stream over HTTP: a group that completes, one that times
//      out, three concurrent requests; then check that no timer is left pending and that
//      workerd logged no warning;
//   4. measure the cold start (load + instantiate of "workbus") in each runtime, and list the
//      bytes each one loads.
// Every child process runs in its own process group and is killed on exit, failure included.
//
// Environment: WORKBUS_KEEP_TMP=1 keeps the temporary project.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { freePort } from "../lib/free-port.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const bin = (name) => join(here, "node_modules", ".bin", name);
const log = (msg) => console.log(`edge: ${msg}`);
const STEP_TIMEOUT_MS = 60_000;

// ------------------------------------------------------------------ processes and failure

const children = new Set();
function killAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
  children.clear();
}
let tmp;
function cleanup() {
  killAll();
  if (tmp && process.env.WORKBUS_KEEP_TMP !== "1") rmSync(tmp, { recursive: true, force: true });
  else if (tmp) log(`kept ${tmp}`);
}
function fail(message) {
  console.error(`edge: FAILED: ${message}`);
  cleanup();
  process.exit(1);
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => fail(`interrupted (${sig})`));

let checksPassed = 0;
function check(ok, message) {
  if (!ok) fail(message);
  checksPassed++;
}

/** Runs a command to completion; returns its stdout (fails on a non-zero exit or a timeout). */
function run(what, cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: STEP_TIMEOUT_MS, killSignal: "SIGKILL", ...opts });
  if (r.error) fail(`${what}: ${r.error.message}`);
  if (r.status !== 0) {
    fail(`${what}: ${r.signal ?? `exit ${r.status}`}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r.stdout;
}

/** Starts a long-running process; its output is collected in `.out`. */
function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, ...opts });
  child.out = "";
  child.stdout.on("data", (d) => (child.out += d));
  child.stderr.on("data", (d) => (child.out += d));
  child.exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
  children.add(child);
  return child;
}
async function stop(child) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  const killer = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }, 2_000);
  await child.exited;
  clearTimeout(killer);
  children.delete(child);
}

/** Polls `url` until it answers (any status); returns ms since `t0`. */
async function waitForHttp(url, child, t0, limitMs = 20_000) {
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return performance.now() - t0;
    } catch {}
    if (child.exitCode !== null) fail(`${child.spawnargs.join(" ")} exited before serving:\n${child.out}`);
    if (performance.now() - t0 > limitMs) fail(`${url} did not answer within ${limitMs} ms:\n${child.out}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ------------------------------------------------------------------ the project

for (const name of ["workerd", "deno", "bun"]) {
  if (!existsSync(bin(name))) fail(`${bin(name)} is missing: run scripts/setup-edge`);
}
if (!existsSync(join(root, "pkg", "package.json"))) fail("pkg/ is not built: run scripts/build");

tmp = mkdtempSync(join(tmpdir(), "workbus-edge-"));
const project = join(tmp, "project");
mkdirSync(project);
const packed = JSON.parse(run("npm pack", "npm", ["pack", join(root, "pkg"), "--pack-destination", tmp, "--json", "--loglevel=error"]));
run("npm init", "npm", ["init", "-y", "--loglevel=error"], { cwd: project });
run("npm pkg set type", "npm", ["pkg", "set", "type=module"], { cwd: project });
run("npm install of the tarball", "npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", join(tmp, packed[0].filename)], {
  cwd: project,
});
log(`installed ${packed[0].filename} (${packed[0].size} B packed, ${packed[0].unpackedSize} B unpacked) into a fresh project`);

// The README's examples, by the file name on their first line.
const readme = readFileSync(join(root, "README.md"), "utf8");
const examples = {};
for (const m of readme.matchAll(/^```(?:js|javascript|capnp)\n((?:\/\/|#) ([\w.-]+)[^\n]*\n[\s\S]*?)^```$/gm)) {
  examples[m[2]] ??= m[1];
}
for (const file of ["hello.js", "worker.js", "config.capnp", "edge.js"]) {
  check(examples[file], `README.md has no \`\`\`js or \`\`\`capnp block starting with a comment naming ${file}`);
  writeFileSync(join(project, file), examples[file]);
}
for (const file of ["session.js", "serve.js", "run-session.mjs", "cold-start.mjs"]) cpSync(join(here, file), join(project, file));

const versions = {
  workerd: run("workerd --version", bin("workerd"), ["--version"]).trim().replace(/^workerd /, ""),
  deno: run("deno --version", bin("deno"), ["--version"]).split(" ")[1],
  bun: run("bun --version", bin("bun"), ["--version"]).trim(),
  node: process.versions.node,
};
const npmVersion = (name) => JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
log(`runtimes: workerd ${npmVersion("workerd")} (${versions.workerd}), deno ${versions.deno}, bun ${versions.bun}, node ${versions.node}`);

const denoEnv = { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", DENO_DIR: join(tmp, "deno-dir"), NO_COLOR: "1" };
const bunEnv = { ...process.env, NO_COLOR: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" };
const runtimes = {
  deno: { cmd: bin("deno"), args: (file) => ["run", "--quiet", file], env: denoEnv },
  bun: { cmd: bin("bun"), args: (file) => [file], env: bunEnv },
  node: { cmd: process.execPath, args: (file) => [file], env: process.env },
};
const runIn = (rt, file, extra = {}) =>
  run(`${rt} ${file}`, runtimes[rt].cmd, runtimes[rt].args(file), { cwd: project, env: runtimes[rt].env, ...extra });

// ------------------------------------------------------------------ 1. README examples as written

const hello = /echoed: "hi"|"echoed":"hi"/;
for (const rt of ["deno", "bun"]) {
  const out = runIn(rt, "hello.js");
  check(hello.test(out), `${rt} hello.js printed ${JSON.stringify(out)}`);
  log(`${rt}: README hello.js ok`);
}
// Deno by file and by URL: the same example importing the package's deno/index.js directly.
const denoEntry = (base) => examples["hello.js"].replace(/from "workbus"/, `from "${base}/deno/index.js"`);
check(denoEntry("x") !== examples["hello.js"], 'README hello.js does not import from "workbus"');
writeFileSync(join(project, "hello-file.js"), denoEntry("./node_modules/workbus"));
check(hello.test(runIn("deno", "hello-file.js")), "deno: hello.js importing deno/index.js by file failed");
{
  const files = createServer((req, res) => {
    const path = join(project, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!path.startsWith(project) || !existsSync(path) || !statSync(path).isFile()) return res.writeHead(404).end();
    const type = { ".js": "text/javascript", ".wasm": "application/wasm" }[extname(path)] ?? "application/octet-stream";
    res.writeHead(200, { "content-type": type }).end(readFileSync(path));
  });
  await new Promise((r) => files.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${files.address().port}`;
  writeFileSync(join(project, "hello-url.js"), denoEntry(`${base}/node_modules/workbus`));
  const out = await new Promise((res) => {
    const child = start(bin("deno"), ["run", "--quiet", `--allow-import=127.0.0.1:${files.address().port}`, `--allow-net=127.0.0.1:${files.address().port}`, `${base}/hello-url.js`], {
      cwd: tmp,
      env: denoEnv,
    });
    child.exited.then(({ code }) => res({ code, out: child.out }));
  });
  files.close();
  check(out.code === 0 && hello.test(out.out), `deno: hello.js importing deno/index.js by URL failed:\n${out.out}`);
  log("deno: README hello.js ok by package name and by file (no permission), and by URL (--allow-import, --allow-net)");
}

// workerd: the README's config and worker, on a free loopback port.
async function workerd(config, label, path = "/") {
  const port = await freePort();
  const t0 = performance.now();
  const child = start(bin("workerd"), ["serve", config, "--verbose", `--socket-addr=http=127.0.0.1:${port}`], { cwd: project });
  const readyMs = await waitForHttp(`http://127.0.0.1:${port}${path}`, child, t0);
  return { child, port, base: `http://127.0.0.1:${port}`, readyMs, label };
}
{
  const w = await workerd("config.capnp", "README");
  const body = await (await fetch(`${w.base}/?say=hi`)).json();
  check(JSON.stringify(body) === '{"echoed":"hi"}', `workerd README worker.js answered ${JSON.stringify(body)}`);
  await stop(w.child);
  log("workerd: README worker.js + config.capnp ok");
}

// ------------------------------------------------------------------ 2. the example session

const sessions = {};
for (const rt of ["deno", "bun", "node"]) {
  const out = runIn(rt, "run-session.mjs");
  const line = out.trim().split("\n").pop();
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    fail(`${rt} run-session.mjs printed ${JSON.stringify(out)}`);
  }
  sessions[rt] = result;
  log(`${rt}: example session ok (${JSON.stringify(result.summary)}), "workbus" resolved to ${result.entry}`);
}
check(sessions.deno.entry.endsWith("/workbus/deno/index.js"), `deno resolved "workbus" to ${sessions.deno.entry}`);
check(sessions.bun.entry.endsWith("/workbus/bun/index.mjs"), `bun resolved "workbus" to ${sessions.bun.entry}`);
check(sessions.node.entry.endsWith("/workbus/node/index.mjs"), `node resolved "workbus" to ${sessions.node.entry}`);

// ------------------------------------------------------------------ 3. the streaming handler over HTTP

const WORKERD_MODULES = (main) => `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
${main}
    (name = "workbus", esModule = embed "node_modules/workbus/workerd/index.js"),
    (name = "workbus/web", esModule = embed "node_modules/workbus/web/index.js"),
    (name = "workbus/core_bg.wasm", wasm = embed "node_modules/workbus/web/core_bg.wasm"),
  ],
  compatibilityDate = "${/compatibilityDate = "([\d-]+)"/.exec(examples["config.capnp"])?.[1] ?? "2026-11-01"}",
);
`;
writeFileSync(
  join(project, "serve.capnp"),
  WORKERD_MODULES(
    ["serve.js", "edge.js", "session.js"].map((f) => `    (name = "${f}", esModule = embed "${f}"),`).join("\n"),
  ),
);
writeFileSync(
  join(project, "bun-serve.mjs"),
  `import handler from "./serve.js";\n` +
    `const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT), fetch: handler.fetch });\n` +
    `console.log("listening on " + server.port);\n`,
);

async function ndjson(url) {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  check(res.ok, `${url}: HTTP ${res.status}`);
  check(/ndjson/.test(res.headers.get("content-type") ?? ""), `${url}: content-type ${res.headers.get("content-type")}`);
  const lines = [];
  let firstAt;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body) {
    firstAt ??= performance.now() - t0;
    buffer += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  }
  check(buffer === "", `${url}: the stream ended inside a line: ${JSON.stringify(buffer)}`);
  return { lines, firstAt, totalMs: performance.now() - t0 };
}

function checkCompleted(label, { lines }) {
  const data = (w) => lines.filter((l) => l.event === "stream_data" && l.worker === w).map((l) => l.data);
  check(JSON.stringify(data("headline")) === '["workers","cooperate","over"]', `${label}: headline stream ${JSON.stringify(lines)}`);
  check(JSON.stringify(data("keywords")) === '["workers","cooperate","message"]', `${label}: keywords stream ${JSON.stringify(lines)}`);
  check(lines.filter((l) => l.event === "stream_start").length === 2, `${label}: two stream_start events expected`);
  check(lines.filter((l) => l.event === "stream_end").length === 2, `${label}: two stream_end events expected`);
  const last = lines.at(-1);
  check(
    JSON.stringify(last) ===
      '{"result":{"headline":{"summary":"workers cooperate over"},"keywords":{"summary":"workers cooperate message"}}}',
    `${label}: last line ${JSON.stringify(last)}`,
  );
}

/** Timers pending once the responses ended: none may be left behind (workerd reports them). */
async function timersAfter(base, label) {
  const { pending } = await (await fetch(`${base}/timers`)).json();
  check(pending === 0, `${label}: ${pending} timer(s) still pending after the responses ended`);
  return "none";
}

const httpResults = {};
async function exercise(label, base) {
  const apis = await (await fetch(`${base}/apis`)).json();
  const session = await (await fetch(`${base}/session`)).json();
  check(session.ok, `${label}: the example session over HTTP failed: ${session.error}`);
  let runners = 1;
  const done = await ndjson(`${base}/?delay=5`);
  checkCompleted(`${label} /?delay=5`, done);
  runners++;
  const timedOut = await ndjson(`${base}/?delay=700`);
  check(
    JSON.stringify(timedOut.lines.at(-1)) === '{"error":"timeout"}',
    `${label}: /?delay=700 should end with a timeout, got ${JSON.stringify(timedOut.lines)}`,
  );
  check(timedOut.totalMs >= 900 && timedOut.totalMs < 5_000, `${label}: the timeout came after ${timedOut.totalMs} ms`);
  runners++;
  const concurrent = await Promise.all([3, 7, 11].map((d) => ndjson(`${base}/?delay=${d}`)));
  concurrent.forEach((r, i) => checkCompleted(`${label} concurrent #${i + 1}`, r));
  runners += 3;
  const leftover = await timersAfter(base, label);
  httpResults[label] = { apis, firstByteMs: done.firstAt, leftover };
  log(
    `${label}: HTTP ok: session, NDJSON stream (${done.lines.length} lines, first line ${done.firstAt.toFixed(1)} ms after the request), ` +
      `timeout after ${timedOut.totalMs.toFixed(0)} ms, 3 concurrent streams; timers left: ${leftover}`,
  );
}

{
  const w = await workerd("serve.capnp", "workerd", "/apis");
  await exercise("workerd", w.base);
  await new Promise((r) => setTimeout(r, 200));
  await stop(w.child);
  const noise = w.child.out
    .split("\n")
    .filter((l) => /warn|error|uncaught|hung|never|cross-request|different request|dangling|leak/i.test(l));
  check(noise.length === 0, `workerd logged:\n${noise.join("\n")}`);
  log("workerd: no warning in its log (--verbose)");
}
{
  const port = await freePort();
  const child = start(bin("deno"), ["serve", "--quiet", "--host", "127.0.0.1", "--port", String(port), "serve.js"], {
    cwd: project,
    env: denoEnv,
  });
  await waitForHttp(`http://127.0.0.1:${port}/apis`, child, performance.now());
  await exercise("deno", `http://127.0.0.1:${port}`);
  await stop(child);
  // The README's command for Deno, as written (plus a free loopback port).
  const port2 = await freePort();
  const child2 = start(bin("deno"), ["serve", "--host", "127.0.0.1", "--port", String(port2), "edge.js"], { cwd: project, env: denoEnv });
  await waitForHttp(`http://127.0.0.1:${port2}/apis`, child2, performance.now());
  checkCompleted("deno serve edge.js", await ndjson(`http://127.0.0.1:${port2}/`));
  await stop(child2);
  log("deno: `deno serve edge.js` ok");
}
{
  const port = await freePort();
  const child = start(bin("bun"), ["bun-serve.mjs"], { cwd: project, env: { ...bunEnv, PORT: String(port) } });
  await waitForHttp(`http://127.0.0.1:${port}/apis`, child, performance.now());
  await exercise("bun", `http://127.0.0.1:${port}`);
  await stop(child);
}

// ------------------------------------------------------------------ 4. cold start and bytes

const RUNS = 5;
const cold = {};
const coldOnce = (rt, env) => JSON.parse(runIn(rt, "cold-start.mjs", env ? { env } : {}).trim().split("\n").pop()).ms;
for (const rt of ["deno", "bun", "node"]) {
  // Deno keeps a code cache in DENO_DIR: an empty one per sample makes every start cold.
  const env = rt === "deno" ? () => ({ ...denoEnv, DENO_DIR: mkdtempSync(join(tmp, "deno-cold-")) }) : () => undefined;
  const samples = Array.from({ length: RUNS }, () => coldOnce(rt, env()));
  cold[rt] = { ms: median(samples), how: `median of ${RUNS} fresh processes: await import("workbus") (load + compile + instantiate)` };
}
{
  const warm = Array.from({ length: RUNS }, () => coldOnce("deno"));
  cold.deno.how += `; with Deno's code cache warm: ${median(warm).toFixed(1)} ms`;
}
{
  // workerd compiles and instantiates the worker's modules before it listens, and nothing can
  // be timed from inside (its clocks stand still while code runs), so: time from spawn to the
  // first HTTP answer, with the README worker minus a worker that does not import workbus.
  writeFileSync(join(project, "bare.js"), "export default { fetch: () => new Response('ok') };\n");
  writeFileSync(
    join(project, "bare.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";\n` +
      `const config :Workerd.Config = (services = [(name = "main", worker = .worker)],\n` +
      `  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")]);\n` +
      `const worker :Workerd.Worker = (modules = [(name = "bare.js", esModule = embed "bare.js")],\n` +
      `  compatibilityDate = "2026-11-01");\n`,
  );
  const times = { bare: [], workbus: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const [key, config] of [["bare", "bare.capnp"], ["workbus", "config.capnp"]]) {
      const w = await workerd(config, key);
      times[key].push(w.readyMs);
      await stop(w.child);
    }
  }
  cold.workerd = {
    ms: median(times.workbus) - median(times.bare),
    how: `spawn-to-first-answer, median of ${RUNS}: ${median(times.workbus).toFixed(0)} ms with workbus - ${median(times.bare).toFixed(0)} ms without`,
  };
}

const pkgFile = (f) => readFileSync(join(project, "node_modules", "workbus", f));
const loads = {
  workerd: ["workerd/index.js", "web/index.js", "web/core_bg.wasm"],
  // Deno's entry also re-exports the subpaths (web/<sub>.js and the chunks they share), not
  // web/realms.js, which spawnWorker loads on its first call.
  deno: [
    "deno/index.js",
    "web/index.js",
    ...readdirSync(join(project, "node_modules", "workbus", "web")).filter((f) => f.endsWith(".js") && !["index.js", "realms.js"].includes(f)).map((f) => `web/${f}`),
    "web/core_bg.wasm",
  ],
  bun: ["bun/index.mjs", "node/index.cjs", "node/core.js", "web/core_bg.wasm"],
  node: ["node/index.mjs", "node/index.cjs", "node/core.js", "web/core_bg.wasm"],
};
console.log("\nedge: runtime   version                   cold start (load + instantiate)   bytes loaded (raw / gzip -9)");
for (const rt of ["workerd", "deno", "bun", "node"]) {
  const bytes = Buffer.concat(loads[rt].map(pkgFile));
  const version = rt === "workerd" ? `${npmVersion("workerd")} (${versions.workerd})` : versions[rt];
  console.log(
    `edge: ${rt.padEnd(9)} ${version.padEnd(25)} ${`${cold[rt].ms.toFixed(1)} ms`.padStart(9)}${" ".repeat(25)}` +
      `${String(bytes.length).padStart(7)} B / ${String(gzipSync(bytes, { level: 9 }).length).padStart(6)} B  ${loads[rt].join(" + ")}`,
  );
}
for (const rt of ["workerd", "deno", "bun", "node"]) log(`cold start ${rt}: ${cold[rt].how}`);

const apiNames = Object.keys(httpResults.workerd.apis);
console.log(`\nedge: platform API         ${["workerd", "deno", "bun"].map((r) => r.padEnd(8)).join(" ")}`);
for (const api of apiNames) {
  console.log(`edge: ${api.padEnd(24)} ${["workerd", "deno", "bun"].map((r) => (httpResults[r].apis[api] ? "yes" : "no").padEnd(8)).join(" ")}`);
}

// A run that skipped its steps must not look green.
const ran = ["deno", "bun", "node"].filter((rt) => sessions[rt]).length + ["workerd", "deno", "bun"].filter((rt) => httpResults[rt]).length;
check(ran === 6, `only ${ran} of the 6 session and HTTP runs took place`);
cleanup();
log(`all ${checksPassed} edge runtime checks passed`);
