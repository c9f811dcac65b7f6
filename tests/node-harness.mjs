#!/usr/bin/env node
// Tests the built package the way a user gets it: `npm pack ./pkg`, install the tarball into a
// fresh project, then run, inside that project,
//   1. a packaging smoke check: `require("workbus")` (also with require(esm) switched off),
//      `import ... from "workbus"`, the same instance both ways, and the web entry in Node;
//   2. if tests/types/ exists: it is copied to <project>/types/, the README's ```ts blocks are
//      extracted next to it (when both README.md and extract-readme.mjs exist), and
//      `tsc --strict --noEmit -p types` runs there, so "workbus" resolves to the installed .d.ts;
//   3. packaging checks (tests/package-lint.mjs: publint, arethetypeswrong, each file once,
//      source maps, typings without the DOM lib);
//   4. `node --test` on every *.test.mjs / *.test.cjs copied from tests/node/ (TAP output, then
//      a count of the tests that passed, failed and were skipped), through tests/lib/node-test.mjs.
// Exits non-zero on the first failing step, and when no test ran. Expects pkg/ to be built
// (scripts/build).
//
// Arguments are passed to `node --test` (e.g. --test-name-pattern=registry).
// Environment: WORKBUS_KEEP_TMP=1 keeps the temporary project; WORKBUS_TEST_TIMEOUT_S (default
// 900) kills a `node --test` run that does not finish, e.g. one kept alive by a leaked timer.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = join(root, "pkg");
const log = (msg) => console.log(`harness: ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.error) throw r.error;
  return r;
}
function mustRun(what, cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    console.error(`harness: ${what} failed (${r.signal ?? `exit ${r.status}`})`);
    finish(r.status || 1);
  }
  return r;
}

let tmp;
function finish(code) {
  if (tmp && process.env.WORKBUS_KEEP_TMP !== "1") rmSync(tmp, { recursive: true, force: true });
  else if (tmp) log(`kept ${tmp}`);
  process.exit(code);
}

if (!existsSync(join(pkgDir, "package.json"))) {
  console.error("harness: pkg/ is not built: run scripts/build");
  process.exit(1);
}

tmp = mkdtempSync(join(tmpdir(), "workbus-test-"));
const project = join(tmp, "project");
mkdirSync(project);

// --- pack and install, as a user would (the tarball has no dependencies: no network needed)
const packed = mustRun("npm pack", "npm", ["pack", pkgDir, "--pack-destination", tmp, "--json", "--loglevel=error"], {
  stdio: ["ignore", "pipe", "inherit"],
  encoding: "utf8",
});
const tarball = join(tmp, JSON.parse(packed.stdout)[0].filename);
mustRun("npm init", "npm", ["init", "-y", "--loglevel=error"], { cwd: project, stdio: ["ignore", "ignore", "inherit"] });
mustRun("npm install of the tarball", "npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
  cwd: project,
  stdio: ["ignore", "ignore", "inherit"],
});
log(`installed ${relative(tmp, tarball)} into a fresh project`);

// --- 1. packaging smoke check
const smokeCjs = `
const w = require("workbus");
const names = Object.keys(w).filter((k) => k !== "default");
if (typeof w.default !== "function") throw new Error("require: no default init()");
if (names.length < 2) throw new Error("require: too few exports: " + names);
console.log(JSON.stringify(names.sort()));
`;
const cjsCheck = mustRun("require(\"workbus\")", process.execPath, ["-e", smokeCjs], {
  cwd: project,
  stdio: ["ignore", "pipe", "inherit"],
  encoding: "utf8",
});
const cjsNames = JSON.parse(cjsCheck.stdout);
// The Node entry must not depend on require(esm) (on by default only from Node 20.19 / 22.12).
if (process.allowedNodeEnvironmentFlags.has("--no-experimental-require-module")) {
  mustRun("require(\"workbus\") without require(esm)", process.execPath, ["--no-experimental-require-module", "-e", smokeCjs], {
    cwd: project,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
const smokeEsm = `
import init, * as ns from "workbus";
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
const fail = (m) => { console.error("import: " + m); process.exit(1); };
const cjs = createRequire(import.meta.url)("workbus");
const names = Object.keys(ns).filter((k) => k !== "default").sort();
if (JSON.stringify(names) !== JSON.stringify(${JSON.stringify(cjsNames)})) fail("named exports differ from require(): " + names);
for (const n of names) if (ns[n] !== cjs[n]) fail("import and require give different " + n);
if (typeof init !== "function") fail("no default init()");
await init();
// The subpaths: in Node, the main entry's names (one instance), by import and by require.
const manifest = JSON.parse(await readFile(new URL("./node_modules/workbus/package.json", import.meta.url), "utf8"));
const subpaths = Object.keys(manifest.exports).filter((k) => k.startsWith("./") && !["./web", "./core_bg.wasm", "./package.json"].includes(k)).map((k) => k.slice(2));
if (subpaths.length === 0) fail("no subpath exports");
const subNames = new Map();
for (const sub of subpaths) {
  const m = await import("workbus/" + sub);
  const required = createRequire(import.meta.url)("workbus/" + sub);
  const list = Object.keys(m).filter((k) => k !== "default").sort();
  if (list.length === 0) fail("workbus/" + sub + " exports nothing");
  for (const n of list) {
    if (m[n] !== ns[n] || required[n] !== ns[n]) fail("workbus/" + sub + " gives another " + n + " than workbus");
  }
  subNames.set(sub, list);
}
// The browser entry, in Node: the same names but the subpaths', plus initSync, after an init
// from bytes; its subpath modules (web/<sub>.js) give the rest and share its engine and classes.
const web = await import(new URL("./node_modules/workbus/web/index.js", import.meta.url));
await web.default({ module_or_path: await readFile(new URL("./node_modules/workbus/web/core_bg.wasm", import.meta.url)) });
const webNames = Object.keys(web).filter((k) => k !== "default").sort();
const moved = [...subNames.values()].flat();
for (const n of names) if (!moved.includes(n) && !webNames.includes(n)) fail("web entry lacks " + n);
for (const n of moved) if (webNames.includes(n)) fail("web entry has the subpath name " + n);
for (const [sub, list] of subNames) {
  const m = await import(new URL("./node_modules/workbus/web/" + sub + ".js", import.meta.url));
  if (JSON.stringify(Object.keys(m).sort()) !== JSON.stringify(list)) fail("web/" + sub + ".js exports " + Object.keys(m));
}
const webRedis = await import(new URL("./node_modules/workbus/web/redis.js", import.meta.url));
if (!(webRedis.RedisBus.prototype instanceof web.LocalBus)) fail("web/redis.js has a LocalBus of its own");
const webWire = await import(new URL("./node_modules/workbus/web/wire.js", import.meta.url));
const text = webWire.encodeMessage({ type: "BusDataMessage", source: "a", target: null });
if (webWire.decodeMessage(text)?.source !== "a") fail("web/wire.js does not round-trip a message");
console.log("harness: package smoke check ok: " + names.length + " named exports + default, via require and import; subpaths " + subpaths.join(", ") + "; web entry ok");
`;
mustRun("import from \"workbus\"", process.execPath, ["--input-type=module", "-e", smokeEsm], { cwd: project });

// --- 2. type check of tests/types/ against the installed declarations
const typesDir = join(root, "tests", "types");
if (existsSync(typesDir)) {
  const dest = join(project, "types");
  cpSync(typesDir, dest, { recursive: true });
  const extractor = join(dest, "extract-readme.mjs");
  const readme = join(root, "README.md");
  if (existsSync(extractor) && existsSync(readme)) {
    mustRun("README code extraction", process.execPath, [extractor, readme, dest], { cwd: project });
  }
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    console.error("harness: typescript is not installed: run scripts/setup");
    finish(1);
  }
  const version = JSON.parse(readFileSync(join(root, "node_modules", "typescript", "package.json"), "utf8")).version;
  log(`tsc ${version} --strict --noEmit -p types`);
  mustRun("type check", process.execPath, [tsc, "--strict", "--noEmit", "-p", "types"], { cwd: project });
  log("type check ok");
}

// --- 3. packaging checks (publint, arethetypeswrong, files, source maps, typings without DOM)
mustRun("packaging checks", process.execPath, [join(root, "tests", "package-lint.mjs"), pkgDir, tarball, project]);

// --- 4. node --test on tests/node/
const testsDir = join(root, "tests", "node");
const findTests = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules") return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return /\.test\.(mjs|cjs)$/.test(e.name) ? [p] : [];
  });
if (existsSync(testsDir)) {
  cpSync(testsDir, project, { recursive: true });
  const files = findTests(testsDir)
    .map((f) => relative(testsDir, f))
    .sort();
  if (files.length === 0) {
    console.error("harness: tests/node/ has no *.test.mjs or *.test.cjs file");
    finish(1);
  } else {
    log(`node --test on ${files.length} file(s) from tests/node/`);
    // tests/lib/node-test.mjs fails when no test ran, and kills a run that does not finish.
    const limit = process.env.WORKBUS_TEST_TIMEOUT_S || "900";
    mustRun("node --test", process.execPath, [join(root, "tests", "lib", "node-test.mjs"), "--label", "harness", "--timeout-s", limit, ...process.argv.slice(2), "--", ...files], {
      cwd: project,
      // Where tests find the repository's fixtures (tests/fixtures, tests/fuzz-corpus).
      env: { ...process.env, WORKBUS_REPO: root },
    });
  }
} else {
  console.error("harness: no tests/node/ directory");
  finish(1);
}

finish(0);
