// Shared plumbing of the browser tests: a static server for the built package and the test
// pages, headless Chromium through playwright-core, and pages that record console errors.
//
// The server (127.0.0.1, a free port) serves
//   /workbus/...  the repository's pkg/web/ (the browser entry of the built package)
//   /contract/... tests/node/contract/ (the transport contract's cases, shared with Node)
//   /readme/...   the README's Web Worker example, extracted from its code blocks (readme.mjs)
//   /...          tests/browser/pages/, where /<name>.html is the page shell (shell.mjs) that runs
//                 pages/<name>.js as its module script
// Test pages load the package with an import map, {"imports": {"workbus": "/workbus/index.js"}},
// so their code imports "workbus" exactly as a user writes it. Import maps do not apply inside
// module Web Workers, so a worker script imports "/workbus/index.js" by its path.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { readmeFiles } from "./readme.mjs";
import { pageHtml } from "./shell.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "..", "..");
const pkgWeb = join(root, "pkg", "web");
const pagesDir = join(here, "pages");
const contractDir = join(root, "tests", "node", "contract");

/** Every test's options: a hung page or worker fails the test instead of hanging the suite. */
export const T = { timeout: 20_000 };

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
};

function fileUnder(base, urlPath) {
  const path = normalize(join(base, decodeURIComponent(urlPath)));
  if (path !== base && !path.startsWith(base + sep)) return null;
  return existsSync(path) && statSync(path).isFile() ? path : null;
}

/** Starts the static server; resolves with { origin, close() }. */
export async function startServer() {
  if (!existsSync(join(pkgWeb, "index.js"))) throw new Error("pkg/web/index.js is missing: run scripts/build");
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://localhost");
    if (pathname === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    let body = null;
    let type = null;
    if (pathname.startsWith("/workbus/")) {
      const file = fileUnder(pkgWeb, pathname.slice("/workbus/".length));
      if (file) [body, type] = [readFileSync(file), TYPES[extname(file)]];
    } else if (pathname.startsWith("/contract/")) {
      const file = fileUnder(contractDir, pathname.slice("/contract/".length));
      if (file) [body, type] = [readFileSync(file), TYPES[extname(file)]];
    } else if (pathname.startsWith("/readme/")) {
      // Read on every request, so the test always runs the README as it is now.
      const files = readmeFiles();
      const name = pathname.slice("/readme/".length);
      if (Object.hasOwn(files, name)) [body, type] = [files[name], TYPES[extname(name)]];
    } else {
      const file = fileUnder(pagesDir, pathname === "/" ? "index.html" : pathname.slice(1));
      const shell = /^\/([\w-]+)\.html$/.exec(pathname);
      if (file) [body, type] = [readFileSync(file), TYPES[extname(file)]];
      else if (shell && fileUnder(pagesDir, `${shell[1]}.js`)) {
        [body, type] = [pageHtml(shell[1], `import "./${shell[1]}.js";`), TYPES[".html"]];
      }
    }
    if (body === null) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${pathname}`);
      return;
    }
    res.writeHead(200, { "content-type": type ?? "application/octet-stream", "cache-control": "no-store" }).end(body);
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

/**
 * Registers the test file's before/after hooks: before its tests, starts a server (`start`,
 * startServer by default; it resolves with an object that has close()) and headless Chromium;
 * after them, closes the browser, then the server. Returns { server, browser }, filled in by
 * the before hook.
 */
export function useServerAndBrowser(start = startServer) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await start();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

const CHROMIUM = process.env.WORKBUS_CHROMIUM || "/usr/bin/chromium";

/** Launches headless Chromium with a fresh profile; resolves with { context, close() }. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "workbus-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in a new page of `context`, recording console errors and uncaught errors of the
 * page and of its Web Workers. Waits until the page sets `window.ready` to a settled promise and
 * fails if that promise rejects. Resolves with { page, errors, logs }.
 */
export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  const logs = [];
  const seen = new Set();
  const onConsole = (where) => (msg) => {
    const loc = msg.location();
    const line = `[${where} ${msg.type()}] ${msg.text()} (${loc.url}:${loc.lineNumber})`;
    logs.push(line);
    // A worker's messages may be reported by both the page and the worker: count them once.
    if (msg.type() === "error" && !seen.has(line.replace(/^\[\w+ /, "["))) {
      seen.add(line.replace(/^\[\w+ /, "["));
      errors.push(line);
    }
  };
  page.on("console", onConsole("page"));
  page.on("worker", (worker) => worker.on("console", onConsole("worker")));
  page.on("pageerror", (error) => errors.push(`[pageerror] ${error.stack ?? error.message}`));
  page.on("requestfailed", (req) => errors.push(`[requestfailed] ${req.url()} ${req.failure()?.errorText}`));
  page.on("response", (res) => {
    if (res.status() >= 400) errors.push(`[http ${res.status()}] ${res.url()}`);
  });
  await page.goto(url);
  const state = await page.evaluate(async () => {
    const deadline = Date.now() + 15_000;
    while (!("ready" in window) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!("ready" in window)) return { error: "the page never set window.ready" };
    try {
      await window.ready;
      return { ok: true };
    } catch (error) {
      return { error: String(error?.stack ?? error) };
    }
  });
  if (state.error) assert.fail(`${url}: ${state.error}\n${logs.join("\n")}\n${errors.join("\n")}`);
  return { page, errors, logs };
}

/** Fails when a page recorded console errors. */
export function assertNoErrors({ errors, logs }, what = "page") {
  assert.deepEqual(errors, [], `${what}: console errors\n--- console:\n${logs.join("\n")}`);
}
