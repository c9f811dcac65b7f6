// The README as npm readers get it (the installed package's README.md): every code block that
// names a JavaScript file on its first line (`// main.mjs`) runs as written under that name,
// with Node, in a fresh directory of this project (where the packed package is installed), and
// exits 0 within a bound; every link resolves on npm; and it says `npm install workbus` first.
//
// Blocks that are modules of another block's program (main.mjs starts "./ocr-thread.mjs") are
// written beside it and run through it. Blocks for other hosts are run by the tests of those
// hosts instead, listed in NOT_FOR_NODE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { T } from "./helpers.mjs";

const installed = join(process.cwd(), "node_modules", "workbus");
const readme = readFileSync(join(installed, "README.md"), "utf8");
const BOUND_MS = 20_000;

const NOT_FOR_NODE = {
  "main.js": "a page's module script (tests/browser/readme.test.mjs)",
  "ocr-worker.js": "a Web Worker's script (tests/browser/readme.test.mjs)",
  "app.js": "a page's bundle (tests/browser/bundling.test.mjs)",
  "session.mjs": "needs Redis and the Python side (tests/interop/readme.test.mjs)",
  "proxy-server.mjs": "a server for the Python proxy client, with `ws` (tests/interop/readme-proxy-server.test.mjs)",
  "pgmq-session.mjs": "needs PostgreSQL with pgmq and the Python side (tests/interop/pgmq-readme.test.mjs)",
};

/** Every fenced block whose first line is a comment naming a .mjs/.cjs/.js file. */
function namedBlocks() {
  const blocks = [];
  const fence = /^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  for (const m of readme.matchAll(fence)) {
    const file = /^\/\/\s*([\w.-]+\.(?:mjs|cjs|js))\b/.exec(m[2])?.[1];
    if (file) blocks.push({ file, lang: m[1], code: m[2], line: readme.slice(0, m.index).split("\n").length });
  }
  return blocks;
}

function runNode(file, cwd) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const started = Date.now();
    const timer = setTimeout(() => child.kill("SIGKILL"), BOUND_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: Date.now() - started });
    });
  });
}

test("every README block that names a JavaScript file is JavaScript, and the Node ones run as written and exit 0", T, async () => {
  const blocks = namedBlocks();
  const names = blocks.map((b) => b.file);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], "one block per file name");
  const notJs = blocks.filter((b) => b.lang !== "js").map((b) => `${b.file} (line ${b.line}) is a \`\`\`${b.lang} block`);
  assert.deepEqual(notJs, [], "a block under a JavaScript file name must be JavaScript");
  for (const file of Object.keys(NOT_FOR_NODE)) assert.ok(names.includes(file), `README has no block ${file}`);

  // The README's Install section: ES modules, so `.js` names need "type": "module".
  const dir = mkdtempSync(join(process.cwd(), ".readme-run-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    const runnable = blocks.filter((b) => !Object.hasOwn(NOT_FOR_NODE, b.file));
    for (const b of runnable) writeFileSync(join(dir, b.file), b.code);
    const modulesOfOthers = new Set(runnable.filter((b) => runnable.some((o) => o !== b && o.code.includes(`./${b.file}`))).map((b) => b.file));
    const programs = runnable.filter((b) => !modulesOfOthers.has(b.file));
    assert.ok(programs.length >= 4, `programs: ${programs.map((b) => b.file).join(", ")}`);
    const failed = [];
    for (const b of programs) {
      const r = await runNode(b.file, dir);
      if (r.code !== 0) failed.push(`${b.file} (README line ${b.line}): ${r.signal ? `killed after ${r.ms} ms` : `exit ${r.code}`}\n${r.output}`);
    }
    assert.deepEqual(failed, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every link of the README resolves for npm readers: absolute, an anchor, or a file the package ships", T, () => {
  const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]);
  assert.ok(targets.length > 0);
  const broken = targets.filter((t) => !/^(https?:|mailto:|#)/.test(t) && !existsSync(join(installed, t.split("#")[0])));
  assert.deepEqual(broken, []);
});

test("the README tells npm readers to install the package before its first example", T, () => {
  const install = readme.indexOf("\nnpm install workbus\n");
  const firstExample = readme.search(/^```(ts|js)\n/m);
  assert.ok(install >= 0, "no `npm install workbus` line");
  assert.ok(install < firstExample, "`npm install workbus` comes after the first example");
});
