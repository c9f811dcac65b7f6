#!/usr/bin/env node
// Runs `node --test` on the given files (in the current directory) with TAP output, and fails
// when no test ran: a filter that matched nothing, files that define no test, or tests that
// were all skipped would otherwise pass silently (Node counts a file without tests as a passing
// test). Used by tests/node-harness.mjs, scripts/test-browser and scripts/test-interop.
//
// Usage: node tests/lib/node-test.mjs --label NAME [--timeout-s S] [node --test options] -- FILE...
// Exits with node --test's status when it fails, 1 when it ran no test or did not finish within
// S seconds (default 900; the run's process group is then killed), 0 otherwise.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
const own = sep >= 0 ? args.slice(0, sep) : args;
const files = sep >= 0 ? args.slice(sep + 1) : [];
const take = (name) => {
  const i = own.indexOf(name);
  return i >= 0 ? own.splice(i, 2)[1] : undefined;
};
const label = take("--label") ?? "node --test";
const limitS = Number(take("--timeout-s") ?? 900);
const passThrough = own; // e.g. --test-concurrency=1, --test-name-pattern=...
if (files.length === 0) {
  console.error(`${label}: no test file given`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), "workbus-node-test-"));
const countsFile = join(tmp, "counts.json");
const counter = fileURLToPath(new URL("./count-reporter.mjs", import.meta.url));
// Own process group, so that a timeout also ends the per-file child processes.
const child = spawn(
  process.execPath,
  ["--test", ...passThrough, "--test-reporter=tap", "--test-reporter-destination=stdout", `--test-reporter=${counter}`, `--test-reporter-destination=${countsFile}`, ...files],
  { stdio: ["ignore", "inherit", "inherit"], detached: true },
);
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {}
}, limitS * 1000);
const [code, signal] = await new Promise((resolve, reject) => {
  child.on("error", reject);
  child.on("exit", (c, s) => resolve([c, s]));
});
clearTimeout(timer);

let counts = null;
try {
  counts = JSON.parse(readFileSync(countsFile, "utf8"));
} catch {}
rmSync(tmp, { recursive: true, force: true });

if (timedOut) {
  console.error(`${label}: node --test did not finish within ${limitS} s (a leaked timer or handle?): killed`);
  process.exit(1);
}
if (code !== 0) {
  console.error(`${label}: node --test failed (${signal ?? `exit ${code}`})`);
  process.exit(code || 1);
}
if (!counts || counts.pass + counts.fail === 0) {
  const skipped = counts ? `; ${counts.skipped} skipped` : "";
  console.error(`${label}: FAILED: no test ran in ${files.length} file(s) (0 passed, 0 failed${skipped}): a filter that matched nothing, or files without tests?`);
  process.exit(1);
}
const empty = counts.emptyFiles.length ? `; no test ran in ${counts.emptyFiles.join(", ")}` : "";
console.log(`${label}: ${counts.pass} test(s) passed, ${counts.fail} failed, ${counts.skipped} skipped in ${files.length} file(s)${empty}`);
