// The README's "Bundlers" section, done as it says: a fresh project with the packed package
// installed, the section's app.js bundled by its esbuild command line, and the bundle run in a
// page, where it finds its wasm and runs a job. And the trap the section warns about: the same
// app with a plain `init()` fails with an error that says where the wasm was looked for and
// what to pass instead.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { T, launchBrowser, root } from "./harness.mjs";

/** The ```js block "// app.js" and the `npx esbuild ...` line of the README's Bundlers section. */
function bundlersSection() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n### Bundlers\n");
  assert.ok(start >= 0, "the README has no section 'Bundlers'");
  const end = readme.indexOf("\n#", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const app = /```js\n(\/\/ app\.js\n[\s\S]*?)```/.exec(section)?.[1];
  assert.ok(app, "the Bundlers section has no ```js block starting with // app.js");
  const command = /^npx esbuild (.*)$/m.exec(section)?.[1];
  assert.ok(command, "the Bundlers section has no `npx esbuild ...` line");
  return { app, esbuildArgs: command.trim().split(/\s+/) };
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

/** A static server for `dir`; resolves with { origin, requests, close() }. */
async function serve(dir) {
  const requests = [];
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://localhost");
    requests.push(pathname);
    const path = normalize(join(dir, decodeURIComponent(pathname)));
    if (!path.startsWith(dir + sep) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(readFileSync(path));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((ok) => (server.closeAllConnections(), server.close(ok))),
  };
}

let tmp;
let project;
let server;
let browser;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "workbus-bundling-"));
  project = join(tmp, "app");
  mkdirSync(project);
  // `npm install workbus`, from the packed package (no network)
  const packed = JSON.parse(run("npm", ["pack", join(root, "pkg"), "--pack-destination", tmp, "--json", "--loglevel=error"], tmp));
  run("npm", ["init", "-y", "--loglevel=error"], project);
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", join(tmp, packed[0].filename)], project);
  server = await serve(project);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Bundles `code` as app.js with the README's esbuild arguments (outdir renamed to `outdir`). */
function bundle(code, outdir) {
  const { esbuildArgs } = bundlersSection();
  writeFileSync(join(project, "app.js"), code);
  const args = esbuildArgs.map((a) => (a === "--outdir=dist" ? `--outdir=${outdir}` : a));
  run(join(root, "node_modules", ".bin", "esbuild"), [...args, "--log-level=warning"], project);
  // The page loads the bundle as the README says; `ready` settles when its top level has run.
  writeFileSync(
    join(project, `${outdir}.html`),
    `<!doctype html><meta charset="utf-8"><script type="module">window.ready = import("./${outdir}/app.js");</script><body></body>`,
  );
  return readdirSync(join(project, outdir)).sort();
}

async function openBundle(outdir) {
  const page = await browser.context.newPage();
  const failures = [];
  page.on("response", (res) => res.status() >= 400 && failures.push(`${res.status()} ${new URL(res.url()).pathname}`));
  await page.goto(`${server.origin}/${outdir}.html`);
  await page.waitForFunction(() => "ready" in window);
  const outcome = await page.evaluate(() => window.ready.then(() => "ok", (e) => `${e.constructor.name}: ${e.message}`));
  const text = await page.evaluate(() => document.body.textContent);
  await page.close();
  return { outcome, text, failures };
}

test("the README's app, bundled with its esbuild command, finds its wasm and runs a job in the page", T, async () => {
  const { app } = bundlersSection();
  const files = bundle(app, "dist");
  assert.equal(files.length, 2, files.join(", "));
  assert.equal(files[0], "app.js");
  assert.match(files[1], /^core_bg-\w+\.wasm$/);
  const { outcome, text, failures } = await openBundle("dist");
  assert.equal(outcome, "ok");
  assert.deepEqual(failures, []);
  assert.equal(text, "echo says bundled");
  assert.ok(server.requests.includes(`/dist/${files[1]}`), server.requests.join(", "));
});

test("the same app with a plain init() fails naming the 404 and what to pass instead", T, async () => {
  const { app } = bundlersSection();
  const plain = app.replace(/await init\(\{[^\n]*\}\);/, "await init();");
  assert.notEqual(plain, app);
  bundle(plain, "plain");
  const { outcome, failures } = await openBundle("plain");
  assert.deepEqual(failures, ["404 /plain/core_bg.wasm"]);
  assert.equal(
    outcome,
    "Error: workbus could not load its WebAssembly module: failed to fetch Wasm: 404 Not Found fetching " +
      `'${server.origin}/plain/core_bg.wasm'. A bundler that does not copy core_bg.wasm beside its output needs ` +
      'its URL or bytes: init({ module_or_path }) (see the README, "Bundlers")',
  );
});
