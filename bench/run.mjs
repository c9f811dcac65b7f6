// The benchmark suite's driver (run it with scripts/bench, which sets everything up first).
//
//   node bench/run.mjs [--quick] [--only 1,2,5] [--reps K] [--no-browser] [--no-profile] [--write]
//
// Runs every benchmark in a fresh process, several times, prints a table of medians with
// their spread (min-max over the runs), checks each figure against its target, and (full run,
// or --write) writes BENCHMARKS.md. When a target is missed (full run), it profiles the
// benchmark against a copy of the package whose wasm keeps its function names and puts the
// profile summary in BENCHMARKS.md. Raw results: target/bench/results.json.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { args } from "./lib/common.mjs";
import { summarise } from "./lib/profile-summary.mjs";
import { wasmSizes } from "./lib/wasm-sizes.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const BENCH = join(ROOT, "bench");
const PY = join(ROOT, ".venv/bin/python");
const opt = args({ quick: "false", only: "", reps: 0, noBrowser: "false", noProfile: "false", write: "false" });
const QUICK = opt.quick === "true";
const BROWSER = opt.noBrowser !== "true";
const PROFILE = !QUICK && opt.noProfile !== "true";
const WRITE = !QUICK || opt.write === "true";
const ONLY = new Set(opt.only ? opt.only.split(",").map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 9]);
const reps = (full, quick = 1) => opt.reps || (QUICK ? quick : full);

// ----- running one benchmark process ---------------------------------------------------------

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

function runOnce(cmd, argv, { env = {}, timeout = 600_000 } = {}) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", timeout, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (r.status !== 0 || !line) {
    const why = r.error ? String(r.error) : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    throw new Error(`${cmd} ${argv.join(" ")}: ${why}\n${(r.stderr ?? "").trim().split("\n").slice(-15).join("\n")}`);
  }
  return JSON.parse(line.slice("BENCH_RESULT ".length));
}

const results = {}; // key -> { runs: [...], error? }

function bench(key, label, cmd, argv, n, options) {
  return group([[key, label, cmd, argv, n, options]]);
}

/**
 * Runs benchmarks that are compared with each other round-robin (run 1 of each, then run 2
 * of each, ...), so that a disturbance on the machine hits them alike.
 */
function group(specs) {
  const entries = specs.map(([key, label, cmd, argv, n, options]) => ({
    n, cmd, argv, options, label,
    entry: (results[key] = { label, cmd: [cmd, ...argv].join(" ").replace(ROOT + "/", ""), runs: [] }),
  }));
  const most = Math.max(...entries.map((e) => e.n));
  for (let i = 0; i < most; i++) {
    for (const e of entries) {
      if (i >= e.n || e.entry.error) continue;
      log(`${e.label} [${i + 1}/${e.n}]`);
      try {
        e.entry.runs.push(runOnce(e.cmd, e.argv, e.options));
      } catch (error) {
        e.entry.error = error.message;
        log(`FAILED: ${error.message}`);
      }
    }
  }
}

const node = (script, argv = [], flags = []) => ["node", [...flags, join(BENCH, script), ...argv.map(String)]];

// ----- statistics ------------------------------------------------------------------------------

function stat(key, field) {
  const runs = results[key]?.runs ?? [];
  const v = runs.map((r) => r[field]).filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}
const med = (key, field) => stat(key, field)?.median ?? null;

function fmtNum(x, unit = "") {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  const s = a >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : a >= 1e4 ? `${(x / 1e3).toFixed(0)} k` : a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}
function fmtStat(key, field, unit = "", scale = 1) {
  const s = stat(key, field);
  if (!s) return results[key]?.runs?.[0]?.pending ? "pending" : results[key]?.error ? "error" : "–";
  const m = fmtNum(s.median * scale, unit);
  return s.n > 1 ? `${m} (${fmtNum(s.min * scale)}–${fmtNum(s.max * scale)})` : m;
}
const kb = (bytes) => (bytes === null ? null : bytes / 1024);

// ----- the benchmarks --------------------------------------------------------------------------

const Q = QUICK;
const rt = { n: Q ? 2000 : 20000, warmup: Q ? 500 : 5000 };
const rtArgs = (impl, extra = []) => ["--impl", impl, "--n", rt.n, "--warmup", rt.warmup, ...extra];

if (ONLY.has(1)) {
  group([
    ["rt.baseline", "1. round trip: plain-promise baseline", ...node("roundtrip.mjs", rtArgs("baseline")), reps(5)],
    ["rt.workbus", "1. round trip: workbus", ...node("roundtrip.mjs", rtArgs("workbus")), reps(5)],
    ["rt.workbus.idle", "1. round trip: workbus, 1000 idle workers", ...node("roundtrip.mjs", rtArgs("workbus", ["--idle", 1000])), reps(3)],
  ]);
}
if (ONLY.has(2)) {
  if (existsSync(PY)) {
    const n = Q ? 500 : 5000;
    bench("rt.pipecat", "2. round trip: Pipecat", PY, [join(BENCH, "pipecat_roundtrip.py"), "--n", String(n), "--warmup", String(n / 5)], reps(5));
    if (!Q) bench("rt.pipecat.idle", "2. round trip: Pipecat, 100 idle workers", PY, [join(BENCH, "pipecat_roundtrip.py"), "--n", "1000", "--warmup", "200", "--idle", "100"], reps(3));
  } else {
    results["rt.pipecat"] = { label: "2. Pipecat", runs: [], error: ".venv missing: run scripts/setup-python" };
  }
}
const FANOUT = Q ? [1, 10, 100] : [1, 10, 100, 1000];
if (ONLY.has(3)) {
  for (const n of FANOUT) {
    const extra = Q ? ["--groups", Math.max(10, Math.round(2000 / n))] : [];
    bench(`fan.${n}`, `3. fan-out 1 -> ${n}`, ...node("fanout.mjs", ["--n", n, ...extra], ["--expose-gc"]), reps(3));
  }
}
if (ONLY.has(4)) {
  const ev = Q ? 50000 : 500000;
  group([
    ["stream.data", "4. stream events (streamData)", ...node("stream.mjs", ["--events", ev]), reps(5)],
    ["stream.update", "4. stream events (update)", ...node("stream.mjs", ["--events", ev, "--kind", "update"]), reps(3)],
    ["stream.baseline", "4. stream events: plain async generator", ...node("stream.mjs", ["--events", ev, "--impl", "baseline"]), reps(3)],
  ]);
}
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const haveBrowser = BROWSER && existsSync(chromium);
if (ONLY.has(5)) {
  const xr = { n: Q ? 2000 : 20000, warmup: Q ? 500 : 5000 };
  group(["raw", "comlink", "workbus"].map((impl) => [`xr.node.${impl}`, `5. cross-realm (worker thread): ${impl}`, ...node("crossrealm-node.mjs", ["--impl", impl, "--n", xr.n, "--warmup", xr.warmup]), reps(7)]));
  if (haveBrowser) {
    const xb = { n: Q ? 1000 : 10000, warmup: Q ? 200 : 2000 };
    group(["raw", "comlink", "workbus"].map((impl) => [`xr.web.${impl}`, `5. cross-realm (Web Worker): ${impl}`, ...node("crossrealm-browser.mjs", ["--impl", impl, "--n", xb.n, "--warmup", xb.warmup]), reps(3)]));
    bench("xr.web.count", "5. cross-realm (Web Worker): what one job costs, counted", ...node("crossrealm-browser.mjs", ["--impl", "count", "--n", Q ? 200 : 2000, "--warmup", Q ? 100 : 500]), 1);
  }
}
if (ONLY.has(6)) {
  const n = Q ? 2000 : 10000;
  const jobs = Q ? 100000 : 1000000;
  group([
    ["mem.pending", "6. memory per pending job: workbus", ...node("memory.mjs", ["--mode", "pending", "--n", n], ["--expose-gc"]), reps(3)],
    ["mem.pending.baseline", "6. memory per pending job: baseline", ...node("memory.mjs", ["--mode", "pending", "--n", n, "--impl", "baseline"], ["--expose-gc"]), reps(3)],
  ]);
  bench("mem.million", `6. heap over ${jobs} jobs (tight await loop)`, ...node("memory.mjs", ["--mode", "million", "--jobs", jobs], ["--expose-gc"]), reps(2));
  bench("mem.million.yield", `6. heap over ${jobs} jobs (setImmediate every 1000)`, ...node("memory.mjs", ["--mode", "million", "--jobs", jobs, "--yield-every", 1000], ["--expose-gc"]), reps(2));
}
if (ONLY.has(7)) {
  bench("size", "7. package size and Node load time", ...node("size.mjs"), reps(5, 2));
  if (haveBrowser) bench("size.web", "7. browser load + init", ...node("crossrealm-browser.mjs", ["--impl", "load"]), reps(3));
}
const POOL_SIZES = [1, 2, 4];
if (ONLY.has(9)) {
  const p = { jobs: Q ? 100 : 400, warmup: Q ? 8 : 40 };
  group(
    POOL_SIZES.flatMap((n) =>
      ["workbus", "piscina"].map((impl) => [`pool.${impl}.${n}`, `9. pool of ${n} worker thread(s): ${impl}`, ...node("pool.mjs", ["--impl", impl, "--instances", n, "--jobs", p.jobs, "--warmup", p.warmup]), reps(5)]),
    ),
  );
}
if (ONLY.has(8)) bench("wire", "8. Pipecat JSON codec vs JSON.stringify / JSON.parse", ...node("wire.mjs", Q ? ["--rounds", 3, "--budget-ms", 20] : []), reps(5, 1));

// ----- targets -----------------------------------------------------------------------------------

const ratio = (a, b) => (a === null || b === null || b === 0 ? null : a / b);
const checks = [];
function check(no, what, value, target, pass, profile) {
  checks.push({ no, what, value, target, status: value === null ? "n/a" : pass ? "PASS" : "MISS", profile });
}
const fx = (x, d = 1) => (x === null ? null : `${x.toFixed(d)}×`);

const rtRatio = ratio(med("rt.workbus", "p50_us"), med("rt.baseline", "p50_us"));
const rtRatioMean = ratio(med("rt.workbus", "mean_us"), med("rt.baseline", "mean_us"));
if (ONLY.has(1)) {
  check(1, "in-process round trip p50, workbus / plain-promise baseline", rtRatio === null ? null : `${fx(rtRatio)} (mean: ${fx(rtRatioMean)})`, "≤ 3×", rtRatio !== null && rtRatio <= 3, "rt");
  const idle = ratio(med("rt.workbus.idle", "p50_us"), med("rt.workbus", "p50_us"));
  check(1, "round trip with 1000 idle workers / with 2", idle === null ? null : fx(idle, 2), "≤ 1.2×", idle !== null && idle <= 1.2);
}
const pcRatio = ratio(med("rt.pipecat", "p50_us"), med("rt.workbus", "p50_us"));
if (ONLY.has(2)) {
  check(2, "in-process round trip p50, Pipecat / workbus (speed-up)", pcRatio === null ? null : fx(pcRatio), "≥ 10× (budget: ≥ 100×)", pcRatio !== null && pcRatio >= 10, "rt");
}
const streamRate = med("stream.data", "per_s");
if (ONLY.has(4)) check(4, "stream events/s through for await (streamData)", streamRate === null ? null : `${fmtNum(streamRate)}/s`, "≥ 1 M/s", streamRate !== null && streamRate >= 1e6, "stream");
if (ONLY.has(5)) {
  // Ratio of the medians of the per-run means; and of the best (lowest) run of each, as the
  // figure for an undisturbed machine (cross-thread wake-ups make single runs bimodal here).
  const xrValue = (pre) => {
    const r = ratio(med(`${pre}.workbus`, "mean_us"), med(`${pre}.raw`, "mean_us"));
    const best = ratio(stat(`${pre}.workbus`, "mean_us")?.min ?? null, stat(`${pre}.raw`, "mean_us")?.min ?? null);
    return { r, text: r === null ? null : `${fx(r)} (best runs: ${fx(best)})` };
  };
  const xn = results["xr.node.workbus"]?.runs?.[0]?.pending ? "pending" : xrValue("xr.node");
  checks.push({ no: 5, what: "cross-realm round trip (worker thread), workbus / raw postMessage (mean)", value: xn === "pending" ? "pending" : xn.text, target: "≤ 1.5×", status: xn === "pending" ? "pending" : xn.r === null ? "n/a" : xn.r <= 1.5 ? "PASS" : "MISS", profile: "xr" });
  const xw = results["xr.web.workbus"]?.runs?.[0]?.pending ? "pending" : xrValue("xr.web");
  checks.push({ no: 5, what: "cross-realm round trip (Web Worker, Chromium), workbus / raw postMessage (mean)", value: !haveBrowser ? "skipped (no Chromium)" : xw === "pending" ? "pending" : xw.text, target: "≤ 1.5×", status: !haveBrowser ? "n/a" : xw === "pending" ? "pending" : xw.r === null ? "n/a" : xw.r <= 1.5 ? "PASS" : "MISS" });
}
if (ONLY.has(6)) {
  const per = med("mem.pending", "bytes_per_job");
  check(6, "memory per pending job (JS heap + wasm memory)", per === null ? null : `${fmtNum(per)} B`, "≤ 1 KB", per !== null && per <= 1024, "mem");
  const g1 = med("mem.million", "growth_bytes");
  const g2 = med("mem.million.yield", "growth_bytes");
  const g = g1 === null && g2 === null ? null : Math.max(g1 ?? -Infinity, g2 ?? -Infinity);
  check(6, `heap + external growth over ${QUICK ? "100 k" : "1 M"} jobs (after GC, worse of the two loops)`, g === null ? null : `${fmtNum(kb(g))} KB`, "flat (≤ 1 MB)", g !== null && g <= 1 << 20);
}
if (ONLY.has(7)) {
  const w = med("size", "wasm_gzip");
  const j = med("size", "glue_gzip");
  check(7, "wasm, gzip -9", w === null ? null : `${fmtNum(kb(w))} KB`, "≤ 80 KB", w !== null && w <= 80 * 1024, "size");
  check(7, "JS glue (web entry: façade + wasm-bindgen glue), gzip -9", j === null ? null : `${fmtNum(kb(j))} KB`, "≤ 10 KB", j !== null && j <= 10 * 1024, "size");
}
const WIRE_CASES = [["small", "a small job request"], ["json1m", "a 1 MB JSON payload"], ["bytes1m", "1 MB of bytes (baseline: the platform's base64 + JSON)"]];
if (ONLY.has(8)) {
  for (const [c, what] of WIRE_CASES) {
    for (const [op, base] of [["encode", "JSON.stringify"], ["decode", "JSON.parse"]]) {
      const s = stat("wire", `${c}_${op}_ratio`);
      const value = s === null ? null : s.n > 1 ? `${fx(s.median, 2)} (${fx(s.min, 2)}–${fx(s.max, 2)})` : fx(s.median, 2);
      check(8, `Pipecat JSON ${op} / ${base}, ${what}`, value, "≤ 2×", s !== null && s.max <= 2);
    }
  }
}

// ----- profiles of the misses ------------------------------------------------------------------

const profiles = [];
function namedPackage() {
  // A copy of pkg/ whose Node wasm keeps its name section, from the same cargo output.
  const wasm = join(ROOT, "target/wasm32-unknown-unknown/release/workbus.wasm");
  const dir = mkdtempSync(join(tmpdir(), "workbus-bench-named-"));
  cpSync(join(ROOT, "pkg"), dir, { recursive: true });
  execFileSync("wasm-bindgen", ["--target", "nodejs", "--out-dir", join(dir, "node"), "--out-name", "core", wasm], { stdio: "inherit" });
  return dir;
}
async function glueParts() {
  // The web entry is js/ (the façade) + the wasm-bindgen `web` glue, bundled and minified.
  const { createRequire } = await import("node:module");
  const { gzipSync } = await import("node:zlib");
  const esbuild = createRequire(join(ROOT, "package.json"))("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "workbus-bench-glue-"));
  try {
    execFileSync("wasm-bindgen", ["--target", "web", "--out-dir", dir, "--out-name", "core", "--remove-name-section", join(ROOT, "target/wasm32-unknown-unknown/release/workbus.wasm")]);
    const min = async (entry, external) => {
      const r = await esbuild.build({
        entryPoints: [entry], bundle: true, minify: true, format: "esm", write: false, metafile: true, logLevel: "silent",
        plugins: [{ name: "core", setup: (b) => b.onResolve({ filter: /(^|\/)core\.js$/ }, (a) => (a.importer.startsWith(dir) ? undefined : external ? { path: "./core.js", external: true } : { path: join(dir, "core.js") })) }],
      });
      const text = r.outputFiles[0].contents;
      const inputs = Object.values(r.metafile.outputs)[0].inputs;
      return { raw: text.length, gzip: gzipSync(text, { level: 9 }).length, inputs };
    };
    const whole = await min(join(ROOT, "js/entry-web.js"), false);
    const facade = await min(join(ROOT, "js/entry-web.js"), true);
    const core = await min(join(dir, "core.js"), false);
    const parts = Object.entries(whole.inputs).map(([file, v]) => [file.replace(/^.*workbus-bench-glue-[^/]*/, "<wasm-bindgen web output>").replace(ROOT + "/", ""), v.bytesInOutput]).sort((a, b) => b[1] - a[1]);
    return { whole: [whole.raw, whole.gzip], facade: [facade.raw, facade.gzip], core: [core.raw, core.gzip], parts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function cpuProfile(title, script, argv, flags = []) {
  const dir = mkdtempSync(join(tmpdir(), "workbus-bench-prof-"));
  try {
    runOnce("node", [...flags, "--cpu-prof", `--cpu-prof-dir=${dir}`, join(BENCH, script), ...argv.map(String)], { env: { BENCH_WORKBUS: join(named, "node/index.mjs") } });
    const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort();
    const threads = files.map((f, i) => ({ thread: files.length > 1 ? (i === 0 ? "main thread" : `worker thread ${i}`) : "main thread", ...summarise(join(dir, f), 15) }));
    profiles.push({ title, command: `node ${flags.join(" ")} --cpu-prof bench/${script} ${argv.join(" ")}`.replace(/ +/g, " "), threads });
  } catch (error) {
    profiles.push({ title, error: error.message });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let named = null;
const missed = new Set(checks.filter((c) => c.status === "MISS").map((c) => c.profile).filter(Boolean));
if (PROFILE && missed.size) {
  try {
    named = namedPackage();
    if (missed.has("rt")) cpuProfile("1. in-process round trip (workbus, 100 000 sequential jobs)", "roundtrip.mjs", ["--impl", "workbus", "--n", 100000]);
    if (missed.has("stream")) cpuProfile("4. stream events (500 000 streamData events)", "stream.mjs", ["--events", 500000]);
    if (missed.has("xr")) cpuProfile("5. cross-realm round trip (worker thread, 10 000 jobs)", "crossrealm-node.mjs", ["--impl", "workbus", "--n", 10000, "--warmup", 1000]);
    if (missed.has("xr")) cpuProfile("5. for comparison: raw postMessage round trip (10 000)", "crossrealm-node.mjs", ["--impl", "raw", "--n", 10000, "--warmup", 1000]);
    if (missed.has("mem")) {
      try {
        const r = runOnce("node", ["--expose-gc", join(BENCH, "memory-profile.mjs"), "--n", "5000"]);
        profiles.push({ title: "6. heap objects held per pending job (heap snapshot difference, 5000 pending jobs)", command: "node --expose-gc bench/memory-profile.mjs --n 5000", heap: r });
      } catch (error) {
        profiles.push({ title: "6. heap objects per pending job", error: error.message });
      }
    }
    if (missed.has("size")) {
      profiles.push({ title: "7. wasm size by crate and function (wasm-bindgen output, name section kept)", command: "node bench/lib/wasm-sizes.mjs <named core_bg.wasm>", wasm: wasmSizes(join(named, "node/core_bg.wasm"), 15) });
      try {
        profiles.push({ title: "7. JS glue of the web entry by part (esbuild, minified as scripts/build does)", glue: await glueParts() });
      } catch (error) {
        profiles.push({ title: "7. JS glue by part", error: error.message });
      }
    }
    // A fan-out that grows faster than linearly is a miss of its own (no fixed target).
    const f100 = med("fan.100", "per_member_us");
    const f1000 = med("fan.1000", "per_member_us");
    if (f100 && f1000 && f1000 > 3 * f100) cpuProfile("3. job group fan-out 1 -> 1000 (time per member grows with N)", "fanout.mjs", ["--n", 1000, "--groups", 5, "--warmup", 1, "--holds", 1], ["--expose-gc"]);
  } catch (error) {
    profiles.push({ title: "profiling", error: error.message });
  } finally {
    if (named) rmSync(named, { recursive: true, force: true });
  }
}

// ----- environment --------------------------------------------------------------------------

const sh = (cmd, argv) => {
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
};
const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
const meminfo = readFileSync("/proc/meminfo", "utf8");
const osRelease = existsSync("/etc/os-release") ? /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] : null;
const pkgVersion = (dir) => {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
};
const env = {
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  // The commit measured; "+ changes" when the work tree differs from it.
  commit: [sh("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]), sh("git", ["-C", ROOT, "status", "--porcelain"]) ? "+ changes" : ""].filter(Boolean).join(" ") || null,
  mode: QUICK ? "quick (smoke: small N, 1 run each)" : "full",
  cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model,
  nproc: sh("nproc", []) ?? String(cpus().length),
  memory: `${(Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024 / 1024).toFixed(1)} GiB`,
  os: osRelease,
  node: process.version,
  rustc: sh("rustc", ["--version"]),
  wasmBindgen: sh("wasm-bindgen", ["--version"]),
  workbus: pkgVersion(join(ROOT, "pkg")),
  python: existsSync(PY) ? sh(PY, ["--version"]) : null,
  pipecat: existsSync(PY) ? sh(PY, ["-c", "from importlib.metadata import version; print(version('pipecat-ai'))"]) : null,
  chromium: results["xr.web.raw"]?.runs?.[0]?.browser ?? results["size.web"]?.runs?.[0]?.browser ?? (haveBrowser ? sh(chromium, ["--version"]) : null),
  comlink: pkgVersion(join(BENCH, "node_modules/comlink")),
  piscina: pkgVersion(join(BENCH, "node_modules/piscina")),
  playwright: pkgVersion(join(BENCH, "node_modules/playwright-core")),
};

// ----- the report --------------------------------------------------------------------------------

function table(headers, rows, left = 1) {
  // The first `left` columns are text (left-aligned), the rest figures (right-aligned).
  const out = [`| ${headers.join(" | ")} |`, `|${headers.map((h, i) => (i < left ? "---" : "---:")).join("|")}|`];
  for (const r of rows) out.push(`| ${r.join(" | ")} |`);
  return out.join("\n");
}
const has = (key) => results[key] !== undefined;
const sections = [];

if (ONLY.has(1) || ONLY.has(2)) {
  const rows = [];
  for (const [key, name] of [["rt.baseline", "plain-promise baseline (JS)"], ["rt.workbus", "workbus"], ["rt.workbus.idle", "workbus, 1000 idle workers on the runner"], ["rt.pipecat", "Pipecat 1.14 (Python, AsyncQueueBus)"], ["rt.pipecat.idle", "Pipecat, 100 idle workers on the runner"]]) {
    if (has(key)) rows.push([name, fmtStat(key, "p50_us", "µs"), fmtStat(key, "p99_us", "µs"), fmtStat(key, "mean_us", "µs"), fmtStat(key, "per_s", "jobs/s")]);
  }
  sections.push(["1–2. In-process job round trip (sequential, worker a → worker b → a)", table(["implementation", "p50", "p99", "mean", "throughput"], rows)]);
}
if (ONLY.has(3)) {
  const rows = FANOUT.filter((n) => has(`fan.${n}`)).map((n) => [`1 → ${n}`, fmtStat(`fan.${n}`, "group_p50_us", "µs"), fmtStat(`fan.${n}`, "per_member_us", "µs"), fmtStat(`fan.${n}`, "bytes_per_member", "B")]);
  sections.push(["3. Job group fan-out", table(["group", "time per group (p50)", "time per member", "memory per pending member"], rows)]);
}
if (ONLY.has(4)) {
  const rows = [["workbus, streamData", "stream.data"], ["workbus, update", "stream.update"], ["plain async generator (JS, for scale)", "stream.baseline"]].filter(([, k]) => has(k)).map(([name, k]) => [name, fmtStat(k, "per_s", "events/s"), fmtStat(k, "per_event_us", "µs")]);
  sections.push(["4. Stream events through `for await`", table(["producer", "events/s", "per event"], rows)]);
}
if (ONLY.has(5)) {
  const rows = [];
  for (const [realm, pre] of [["worker thread (Node)", "xr.node"], ["Web Worker (Chromium)", "xr.web"]]) {
    for (const impl of ["raw", "comlink", "workbus"]) {
      const key = `${pre}.${impl}`;
      const name = { raw: "raw postMessage", comlink: "Comlink", workbus: "workbus (spawnWorker / serveWorkers)" }[impl];
      if (!has(key)) {
        if (pre === "xr.web" && !haveBrowser) rows.push([realm, name, "skipped", "", "", ""]);
        continue;
      }
      rows.push([realm, name, fmtStat(key, "p50_us", "µs"), fmtStat(key, "p99_us", "µs"), fmtStat(key, "mean_us", "µs"), fmtStat(key, "per_s", "jobs/s")]);
    }
  }
  let body = table(["realm", "implementation", "p50", "p99", "mean", "throughput"], rows, 2);
  const counted = results["xr.web.count"]?.runs?.[0];
  if (counted) {
    // Deterministic, unlike the times: what one job costs on each side of the link.
    const keys = ["postMessage", "message events (tasks)", "setTimeout", "queueMicrotask", "JS -> wasm calls", "wasm -> JS calls", "strings decoded out of wasm"];
    const per = (side, k) => (side[k] ?? 0).toFixed(2).replace(/\.00$/, "");
    const countRows = keys.map((k) => [k, per(counted.page, k), per(counted.worker, k)]);
    body += `\n\nPer workbus job in Chromium, counted (\`--impl count\`, ${counted.n} jobs after a warm-up; the worker's column includes the reading of the counters, ±1/${counted.n}):\n\n${table(["per job", "page", "Web Worker"], countRows, 1)}`;
  }
  body += `

### Profiles

Where a workbus job's time goes across a link (Chromium traces and CPU profiles of page and
worker, and the counts above; Node's worker threads take the same path). There is one
\`postMessage\` each way and one task on each side; no timer, no acknowledgement, snapshot or
heartbeat per job, and the hops inside a realm are microtasks. The gap to raw \`postMessage\` is
CPU: the engine's work for a job on each side, plus turning messages into objects and back; on a
busy 2-core machine the two threads share a core and pay it one after the other.

Turning messages into objects cost most in strings: every string that leaves wasm is a
\`TextDecoder\` call (about 1 µs in Chromium for a short string), and a job decoded 20 on the
page and 21 in the worker (property names, message types, statuses, worker names, its id twice),
with 78 wasm → JS calls on each side. Since names and types are made into JS strings once per
realm and the last ids are reused (commits cafb49f, 17d66e0, ea9b92e), a job decodes 1 string on each side
(its id), with 51–52 wasm → JS calls. Measured on 2026-12-03, round-robin in one session (Chromium
5 runs, Node 7): the round trip went from 155 to 145 µs mean (p50 140 → 130 µs) in Chromium, and
from 69 to 62 µs p50 in Node (mean 84 µs both, within the noise); the page's share alone (a link
answered in the same realm) from 27 to 21 µs. What remains is the engine's per-job work, the same
as in benchmark 1.`;
  sections.push(["5. Cross-realm job round trip", body]);
}
if (ONLY.has(6)) {
  const rows = [];
  if (has("mem.pending")) rows.push(["per pending job, workbus: total", fmtStat("mem.pending", "bytes_per_job", "B")], ["  JS heap", fmtStat("mem.pending", "heap_per_job", "B")], ["  wasm memory (growth of `external`, first round)", fmtStat("mem.pending", "external_per_job", "B")]);
  if (has("mem.pending.baseline")) rows.push(["per pending job, plain-promise baseline", fmtStat("mem.pending.baseline", "bytes_per_job", "B")]);
  for (const [k, name] of [["mem.million", "tight `await` loop"], ["mem.million.yield", "`setImmediate` every 1000 jobs"]]) {
    if (!has(k)) continue;
    const r = results[k].runs[0];
    rows.push([`${r ? fmtNum(r.jobs) : ""} jobs, ${name}: heap + external before → after (GC)`, r ? `${fmtNum(kb(r.before_heap + r.before_external))} KB → ${fmtNum(kb(r.after_heap + r.after_external))} KB` : "error"]);
    rows.push([`  growth after GC`, fmtStat(k, "growth_bytes", "KB", 1 / 1024)]);
    rows.push([`  peak during the loop (no GC), over before`, fmtStat(k, "peak_over_before", "MB", 1 / 2 ** 20)]);
    rows.push([`  RSS before / peak / after`, r ? `${fmtNum(r.rss_before / 2 ** 20)} / ${fmtNum(r.rss_peak / 2 ** 20)} / ${fmtNum(r.rss_after / 2 ** 20)} MB` : ""]);
  }
  sections.push(["6. Memory", table(["measure", "value"], rows)]);
}
if (ONLY.has(7)) {
  const rows = [];
  if (has("size")) {
    rows.push(["wasm (`core_bg.wasm`)", fmtStat("size", "wasm_raw", "KB", 1 / 1024), fmtStat("size", "wasm_gzip", "KB", 1 / 1024)]);
    rows.push(["JS glue, web entry (`web/index.js`: façade + glue, minified)", fmtStat("size", "glue_raw", "KB", 1 / 1024), fmtStat("size", "glue_gzip", "KB", 1 / 1024)]);
    rows.push(["JS, Node entry (`node/core.js` + `node/index.cjs`)", fmtStat("size", "node_js_raw", "KB", 1 / 1024), fmtStat("size", "node_js_gzip", "KB", 1 / 1024)]);
  }
  const t = [];
  if (has("size")) t.push(["Node: `require(\"workbus\")` in a fresh process (read, compile, instantiate, evaluate)", fmtStat("size", "load_ms", "ms")], ["Node: `WebAssembly.compile` of the wasm alone", fmtStat("size", "wasm_compile_ms", "ms")]);
  if (has("size.web")) t.push(["Chromium: `import()` of the web entry + `await init()` (fetch, compile, instantiate)", fmtStat("size.web", "load_ms", "ms")], ["  of which `init()`", fmtStat("size.web", "init_ms", "ms")]);
  sections.push(["7. Package size and load time", `${table(["file", "raw", "gzip -9"], rows)}\n\n${table(["load + instantiate", "time"], t)}`]);
}
if (ONLY.has(8) && has("wire")) {
  const rows = [];
  for (const [c, what] of WIRE_CASES) {
    for (const op of ["encode", "decode"]) {
      const [unit, scale] = c === "small" ? ["µs", 1e-3] : ["ms", 1e-6];
      rows.push([`${what}: ${op}`, fmtStat("wire", `${c}_${op}_ns`, unit, scale), fmtStat("wire", `${c}_${op}_base_ns`, unit, scale), fmtStat("wire", `${c}_${op}_ratio`, "×")]);
    }
  }
  sections.push(["8. Pipecat JSON codec", table(["message: operation", "workbus (CPU time)", "baseline (CPU time)", "ratio"], rows)]);
}

if (ONLY.has(9)) {
  const scaling = (impl, n) => {
    const r = ratio(med(`pool.${impl}.${n}`, "jobs_per_s"), med(`pool.${impl}.1`, "jobs_per_s"));
    return r === null ? "–" : fx(r, 2);
  };
  const rows = POOL_SIZES.map((n) => [String(n), fmtStat(`pool.workbus.${n}`, "jobs_per_s", "jobs/s"), scaling("workbus", n), fmtStat(`pool.piscina.${n}`, "jobs_per_s", "jobs/s"), scaling("piscina", n)]);
  const workMs = med("pool.piscina.1", "work_ms") ?? med("pool.workbus.1", "work_ms");
  sections.push([
    "9. Worker pools: CPU-bound jobs over 1, 2 and 4 worker threads",
    `${table(["instances", "workbus (spawnWorker instances)", "scaling vs 1", "Piscina", "scaling vs 1"], rows)}

One job is ${workMs === null ? "a fixed chain of SHA-256 hashes" : `a fixed chain of SHA-256 hashes (${fmtNum(workMs)} ms alone in the main thread)`}; all jobs are requested at once. This machine has ${env.nproc} cores, shared by the instances and the main thread: the scaling can reach at most ${env.nproc}×, and instances beyond ${env.nproc} add no cores.`,
  ]);
}

if (ONLY.has(9)) {
  const two = ratio(med("pool.workbus.2", "jobs_per_s"), med("pool.workbus.1", "jobs_per_s"));
  check(9, "CPU-bound jobs/s, workbus pool of 2 worker threads / of 1 (2 cores)", two === null ? null : fx(two, 2), "≥ 1.5×", two !== null && two >= 1.5);
}

const checkTable = table(["#", "figure", "value", "target", ""], checks.map((c) => [c.no, c.what, c.value ?? "–", c.target, c.status === "MISS" ? "**MISS**" : c.status]), 2);
const errors = Object.entries(results).filter(([, r]) => r.error);

const runsNote = `Each figure is the median over ${QUICK ? "1–2 runs" : "3–5 runs (each in a fresh process)"}, with the range (min–max) over the runs in parentheses.`;
let md = `# Benchmarks

Reproduce with \`scripts/bench\` (full run, writes this file) or \`scripts/bench --quick\` (smoke run,
under a minute, prints the table only). Every benchmark runs in a fresh process; the baselines run
in the same session on the same machine, round-robin with what they are compared to (run 1 of
each, then run 2 of each, ...). ${runsNote} Sources: [\`bench/\`](bench/).

## Machine and versions

| | |
|---|---|
| date | ${env.date} (${env.mode}) |
| commit | ${env.commit ?? "–"} |
| machine | ${env.nproc} cores, ${env.cpu}, ${env.memory} RAM${env.os ? `, ${env.os}` : ""} |
| node | ${env.node} |
| rustc | ${env.rustc ?? "–"} |
| wasm-bindgen | ${env.wasmBindgen ?? "–"} |
| workbus | ${env.workbus ?? "–"} (pkg/) |
| python / pipecat-ai | ${env.python ?? "–"} / ${env.pipecat ?? "–"} |
| chromium | ${env.chromium ?? "–"} |
| comlink / piscina / playwright-core | ${env.comlink ?? "–"} / ${env.piscina ?? "–"} / ${env.playwright ?? "–"} |

## Targets

${checkTable}

${sections.map(([title, body]) => `## ${title}\n\n${body}`).join("\n\n")}
`;

md += `
## What each benchmark does

1. **Round trip** (\`bench/roundtrip.mjs\`): worker \`a\` requests job \`echo\` from worker \`b\` on one
   in-process runner, one job at a time (\`await a.job("b", { name: "echo", payload: { i } })\`; the
   handler returns the payload); latency per job from \`performance.now()\` around each job, after a
   warm-up. The **plain-promise baseline** does the same hops with nothing else: \`job()\`
   allocates an id, stores the pending promise's resolvers in a \`Map\`, queues the request to the
   target (\`queueMicrotask\`: a bus never calls a subscriber inline); the delivery looks the
   handler up by job name and awaits it (a throw answers \`error\`); the response is queued back
   (\`queueMicrotask\`) and the requester's delivery resolves the pending promise by id.
2. **Pipecat** (\`bench/pipecat_roundtrip.py\`): the same on Python Pipecat 1.14: a \`WorkerRunner\`
   on its default \`AsyncQueueBus\`, worker \`b\` with an \`@job(name="echo")\` handler that calls
   \`send_job_response\` with the payload, and worker \`a\` doing
   \`async with a.job("b", params=JobParams(name="echo", payload=...))\`, then reading \`.response\`;
   loguru set to WARNING (Pipecat logs at DEBUG by default, which would only slow it down).
3. **Fan-out** (\`bench/fanout.mjs\`): \`a.jobGroup(names, ...)\` to N echo workers, awaited; time per
   group and per member. Memory: the members' handlers are held open (about 2000 pending members
   in all), and (heap + external after GC) minus the same before, divided by the pending members.
4. **Stream** (\`bench/stream.mjs\`): one job whose handler sends \`streamStart\`, N \`await
   job.streamData(i)\` (or \`job.update(i)\`) and \`streamEnd\`; the requester counts the events with
   \`for await\`; events/s from the request to the end of the loop.
5. **Cross-realm** (\`bench/crossrealm-node.mjs\`, \`bench/crossrealm-browser.mjs\` with
   \`bench/realm/\`): sequential round trips to an echo in a worker thread (Node) and in a module
   Web Worker (headless Chromium, page served from 127.0.0.1 with cross-origin isolation for 5 µs
   timers). raw: \`postMessage({ id, payload })\`, the worker posts \`{ id, response }\` back, the
   pending promise for the id resolves. Comlink: \`await api.echo(payload)\`. workbus: the main
   runner \`spawnWorker\`s the realm, which \`serveWorkers\` an echo worker; \`runner.job("echo", ...)\`.
   The ratio uses the mean (Chromium's timer is coarse for single samples). With two threads
   busy on a 2-core virtual machine, this benchmark is the most sensitive to the machine: a run
   is either "hot" (the other thread answers at once; raw ≈ 8 µs in Node) or pays a cross-CPU
   wake-up on most messages (raw ≈ 50–70 µs), whichever the process happens to fall into; the
   ranges show it. The targets table also gives the ratio of the best run of each.
6. **Memory** (\`bench/memory.mjs\`, \`node --expose-gc\`): per pending job, N jobs whose handlers
   wait until released, (heap + external with N pending − before) / N after full GCs; the JS heap
   is taken from a second round (pools warm), the wasm memory from the first (the linear memory
   grows in 64 KiB pages and never shrinks, so only its first growth shows what the jobs need).
   The heap before/after a million sequential jobs is taken after full GCs, with
   macrotask turns so that wasm-bindgen's \`FinalizationRegistry\` callbacks (which free the wasm
   side of handles) run; the loop itself either never yields to a macrotask (tight \`await\`
   loop) or yields with \`setImmediate\` every 1000 jobs, and the peak is sampled without GC.
7. **Size** (\`bench/size.mjs\`): the files of \`pkg/\`, gzip at level 9; load time of
   \`require("workbus")\` in a fresh Node process, and \`import()\` + \`init()\` of the web entry in
   Chromium.
8. **Pipecat JSON codec** (\`bench/wire.mjs\`): \`encodeMessage\` and \`decodeMessage\` of a small
   \`BusJobRequestMessage\`, of one whose payload is ~1 MB of JSON objects, and of one whose payload
   holds 1 MB of bytes, each timed in batches alternating with its baseline in the same process:
   \`JSON.stringify\` of the same Pipecat envelope as a plain object (for bytes, after the
   platform's base64 of them: \`Uint8Array.prototype.toBase64\`, else \`Buffer\`), and
   \`JSON.parse\` of the same text (for bytes, then the platform's base64 decoding). Times are the
   process's CPU time (\`process.cpuUsage\`), so that time spent descheduled on a shared machine is
   not counted; each figure is the median of 15 batches of about 60 ms; the ratio is workbus /
   baseline.
9. **Pools** (\`bench/pool.mjs\`, \`bench/realm/pool-*.mjs\`): the same CPU-bound job (a fixed chain
   of SHA-256 hashes, about 2 ms) over N worker threads: workbus \`spawnWorker(runner, script,
   { instances: N })\` and \`runner.job("cpu", …)\`, against a Piscina pool of exactly N threads and
   \`pool.run(…)\`; all jobs requested at once after a warm-up, jobs/s from the first request to the
   last answer; scaling is the median jobs/s over that of 1 instance. Run round-robin.
`;

if (profiles.length) {
  md += `\n## Profiles of the missed targets\n\nTaken with the same code as \`pkg/\` but a wasm that keeps its function names (wasm-bindgen\nwithout \`--remove-name-section\`), so the engine's functions are named. Self time, sampled by V8;\n"busy" excludes idle time.\n`;
  for (const p of profiles) {
    md += `\n### ${p.title}\n\n`;
    if (p.command) md += `\`${p.command}\`\n\n`;
    if (p.error) {
      md += `Profiling failed: \`${p.error.split("\n")[0]}\`\n`;
      continue;
    }
    for (const t of p.threads ?? []) {
      md += `**${t.thread}**, busy ${t.busyMs.toFixed(0)} ms\n\n`;
      md += table(["where the time goes", "self time", "share"], t.categories.map((c) => [c.category, `${c.ms.toFixed(1)} ms`, `${c.pct.toFixed(1)} %`])) + "\n\n";
      md += table(["top functions (self time)", "ms", "share"], t.top.map((r) => [`\`${r.fn.replace(/\|/g, "\\|").slice(0, 140)}\``, r.ms.toFixed(1), `${r.pct.toFixed(1)} %`])) + "\n\n";
    }
    if (p.heap) {
      md += `${fmtNum(p.heap.total_per_job)} bytes of JS heap per pending job in all; by constructor:\n\n`;
      md += table(["object", "count per job", "bytes per job"], p.heap.rows.map((r) => [`\`${r.name}\``, r.per_job_count.toFixed(2), r.per_job_bytes.toFixed(0)])) + "\n";
    }
    if (p.glue) {
      md += table(["part", "minified", "gzip -9"], [["whole web entry", p.glue.whole[0], p.glue.whole[1]], ["façade alone (js/, core external)", p.glue.facade[0], p.glue.facade[1]], ["wasm-bindgen glue alone (core.js)", p.glue.core[0], p.glue.core[1]]].map(([a, b, c]) => [a, String(b), String(c)])) + "\n\n";
      md += table(["input file", "bytes in the minified bundle"], p.glue.parts.map(([f, b]) => [`\`${f}\``, String(b)])) + "\n";
    }
    if (p.wasm) {
      md += table(["section", "bytes"], p.wasm.sections.filter(([n]) => n !== "custom:name").map(([n, b]) => [n, String(b)])) + "\n\n";
      md += table(["code by crate / module", "bytes"], p.wasm.byCrate.map(([n, b]) => [`\`${n}\``, String(b)])) + "\n\n";
      md += table(["largest functions", "bytes"], p.wasm.topFunctions.map(([n, b]) => [`\`${n.replace(/\|/g, "\\|")}\``, String(b)])) + "\n";
    }
  }
}
if (errors.length) {
  md += `\n## Failures\n\n${errors.map(([k, r]) => `- ${r.label}: \`${r.error.split("\n")[0]}\``).join("\n")}\n`;
}

// Console: the tables (as Markdown, which reads fine in a terminal).
console.log(`\n${md.slice(md.indexOf("## Targets"), md.indexOf("## What each benchmark does")).trim()}\n`);
mkdirSync(join(ROOT, "target/bench"), { recursive: true });
writeFileSync(join(ROOT, "target/bench/results.json"), JSON.stringify({ env, results, checks, profiles }, null, 1));
if (WRITE) {
  writeFileSync(join(ROOT, "BENCHMARKS.md"), md);
  log("wrote BENCHMARKS.md");
} else {
  log("quick run: BENCHMARKS.md left as it is (--write to replace it)");
}
if (errors.length) {
  log(`${errors.length} benchmark(s) failed`);
  process.exit(1);
}
