// Packaging checks of the packed package, as a publisher would run them before `npm publish`.
// Run by tests/node-harness.mjs after it installed the tarball into a fresh project:
//
//   node tests/package-lint.mjs <pkg dir> <tarball> <project dir>
//
//   1. publint (strict: a warning fails) and arethetypeswrong on every entry point;
//   2. each file once: no two files of the tarball have the same bytes;
//   3. source maps: every `sourceMappingURL` names a map in the package, and no map names a
//      source outside the package or leaves out a source's text;
//   4. the typings compile without the DOM lib and without @types/node, through both the
//      CommonJS (`require`) and the ESM (`import`) views, with TypeScript's nodenext resolution.
// Exits non-zero with the reason on the first failure.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [pkgDir, tarball, project] = process.argv.slice(2);
if (!pkgDir || !tarball || !project) {
  console.error("usage: node tests/package-lint.mjs <pkg dir> <tarball> <project dir>");
  process.exit(2);
}
const bin = (name) => join(root, "node_modules", ".bin", name);
const log = (msg) => console.log(`package-lint: ${msg}`);
function fail(msg) {
  console.error(`package-lint: ${msg}`);
  process.exit(1);
}
function run(what, cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
  if (r.error) fail(`${what}: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

// --- 1. publint and arethetypeswrong
for (const tool of ["publint", "attw"]) if (!existsSync(bin(tool))) fail(`${tool} is not installed: run scripts/setup`);
run("publint --strict", bin("publint"), ["--strict", pkgDir]);
log("publint: no error, no warning");
// The main entry must resolve with types in every resolution mode TypeScript has.
run("attw (workbus)", bin("attw"), [tarball, "--entrypoints", ".", "--format", "ascii"]);
// `workbus/web` is the ESM-only browser entry (it needs `await init()` and import.meta.url);
// `require` of it is refused by design, and node10 resolution has no subpath exports.
run("attw (workbus/web)", bin("attw"), [tarball, "--entrypoints", "./web", "--profile", "node16", "--ignore-rules", "cjs-resolves-to-esm", "--format", "ascii"]);
log("arethetypeswrong: workbus (node10, node16 CJS and ESM, bundler) and workbus/web (ESM) resolve with types");

// --- 2. each file once
const installed = join(project, "node_modules", "workbus");
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(p);
  }
})(installed);
const byHash = new Map();
for (const f of files) {
  const hash = createHash("sha256").update(readFileSync(f)).digest("hex");
  const name = relative(installed, f);
  // The folders' one-line package.json files (module type) may well be alike.
  if (byHash.has(hash) && !name.endsWith("package.json")) fail(`${byHash.get(hash)} and ${name} are the same file shipped twice`);
  byHash.set(hash, name);
}
log(`each file once: ${files.length} files, no two alike`);

// --- 3. source maps
let maps = 0;
for (const f of files.filter((f) => /\.(c|m)?js$/.test(f))) {
  const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(f, "utf8"))?.[1];
  if (!url) continue;
  const name = relative(installed, f);
  if (url.startsWith("data:")) continue;
  const mapFile = resolve(dirname(f), url);
  if (!mapFile.startsWith(installed + "/") || !existsSync(mapFile)) fail(`${name} names a source map that is not in the package: ${url}`);
  const map = JSON.parse(readFileSync(mapFile, "utf8"));
  for (const source of map.sources) {
    if (!/^[a-z][a-z0-9+.-]*:/.test(source) && !resolve(dirname(mapFile), source).startsWith(installed + "/")) {
      fail(`${relative(installed, mapFile)} names a source outside the package: ${source}`);
    }
  }
  if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length || map.sourcesContent.some((c) => typeof c !== "string")) {
    fail(`${relative(installed, mapFile)} does not carry the text of every source`);
  }
  maps++;
}
if (maps < 2) fail(`expected source maps for the Node and web entries, found ${maps}`);
log(`source maps: ${maps}, each in the package with the text of its sources`);

// --- 4. typings without the DOM lib or @types/node, through both module views
const dir = join(project, "types-no-dom");
mkdirSync(dir, { recursive: true });
const use = `
const runner = new WorkerRunner({ name: "page" });
const echo = new Worker("echo").onJob((job) => ({ echoed: job.payload, aborted: job.signal.aborted }));
export async function main(): Promise<void> {
  await runner.addWorkers(echo);
  await runner.start();
  const answer: unknown = await runner.job("echo", { payload: 1, timeout: 100 });
  void answer;
  await runner.end();
}
`;
writeFileSync(join(dir, "esm.mts"), `import init, { Worker, WorkerRunner } from "workbus";\nawait init();\n${use}`);
writeFileSync(join(dir, "cjs.cts"), `import workbus = require("workbus");\nconst { Worker, WorkerRunner } = workbus;\nvoid workbus.default;\n${use}`);
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: [], skipLibCheck: false },
    include: ["*.mts", "*.cts"],
  }),
);
run("tsc without the DOM lib", process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], project);
log("typings compile without the DOM lib and @types/node (nodenext, import and require)");
