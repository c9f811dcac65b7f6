// Benchmark 5 (browser) and the browser half of benchmark 7: runs bench/realm/browser/page.js
// in headless Chromium (playwright-core driving the system's Chromium, CHROMIUM or
// /usr/bin/chromium), served from the repository root by a static server on 127.0.0.1.
//   node bench/crossrealm-browser.mjs --impl raw|comlink|workbus|count|load [--n 20000] [--warmup 5000]
// count: not a timing, what one workbus job costs on each side (bench/realm/browser/count-hooks.js).
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";
import { args, report } from "./lib/common.mjs";

const opt = args({ impl: "raw", n: 20000, warmup: 5000, timeout: 300000 });
const ROOT = resolve(import.meta.dirname, "..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json" };
const ALLOWED = ["/bench/realm/browser/", "/bench/lib/latency.mjs", "/bench/node_modules/comlink/", "/pkg/"];

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = join(ROOT, path);
  let ok = ALLOWED.some((p) => path.startsWith(p)) && file.startsWith(ROOT);
  try {
    ok = ok && statSync(file).isFile();
  } catch {
    ok = false;
  }
  if (!ok) {
    res.writeHead(404).end();
    return;
  }
  // Cross-origin isolation gives performance.now() 5 us resolution instead of 100 us.
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
  });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const { port } = server.address();

const profile = mkdtempSync(join(tmpdir(), "workbus-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let outcome;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("crash", () => errors.push("page crashed"));
  if (process.env.BENCH_DEBUG) page.on("console", (m) => console.error(`[page] ${m.text()}`));
  await page.goto(`http://127.0.0.1:${port}/bench/realm/browser/index.html?impl=${opt.impl}&n=${opt.n}&warmup=${opt.warmup}`);
  await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: opt.timeout, polling: 100 });
  outcome = await page.evaluate(() => window.__bench);
  if (outcome.error && errors.length) outcome.error += `\n${errors.join("\n")}`;
  outcome.browser = context.browser()?.version() ?? null;
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
if (outcome.error) {
  console.error(outcome.error);
  process.exit(1);
}
report({ ...outcome.result, browser: outcome.browser });
