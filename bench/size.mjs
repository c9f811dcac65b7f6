// Benchmark 7: package size and load time.
//   node bench/size.mjs [--pkg pkg] [--loads 1]
// Sizes (bytes, gzip at level 9 and at the default level 6) of the wasm module and of the JS
// glue a browser downloads (pkg/web/index.js: the façade and the wasm-bindgen glue, minified,
// in one file), of the browser files loaded only when used (web_apart: realms.js and the
// subpaths, concatenated), and of the Node entry's JS (pkg/node/core.js + index.cjs, not minified).
// load+instantiate: wall time of `require("workbus")` in this fresh process (read + compile +
// instantiate the wasm, evaluate the JS), and of compiling + instantiating the wasm alone.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { args, report } from "./lib/common.mjs";

const t0 = performance.now();
const require = createRequire(import.meta.url);
const opt = args({ pkg: resolve(import.meta.dirname, "../pkg") });
const wb = require(join(opt.pkg, "node/index.cjs"));
const loadMs = performance.now() - t0;
if (typeof wb.WorkerRunner !== "function") throw new Error("workbus did not load");

const sizes = (files) => {
  const buf = Buffer.concat(files.map((f) => readFileSync(join(opt.pkg, f))));
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, gzip6: gzipSync(buf).length };
};
const wasm = sizes(["web/core_bg.wasm"]);
const glue = sizes(["web/index.js"]);
// What a page downloads beyond index.js only when it uses it: web/realms.js (spawnWorker,
// serveWorkers) and the subpaths with the chunks they share (web/wire.js, web/shared-*.js, …).
const webFiles = readdirSync(join(opt.pkg, "web")).filter((f) => f.endsWith(".js") && f !== "index.js").map((f) => `web/${f}`);
const apart = sizes(webFiles);
const nodeJs = sizes(["node/core.js", "node/index.cjs"]);

const bytes = readFileSync(join(opt.pkg, "web/core_bg.wasm"));
const t1 = performance.now();
const module = await WebAssembly.compile(bytes);
const compileMs = performance.now() - t1;
report({
  wasm_raw: wasm.raw, wasm_gzip: wasm.gzip, wasm_gzip6: wasm.gzip6,
  glue_raw: glue.raw, glue_gzip: glue.gzip, glue_gzip6: glue.gzip6,
  web_apart_raw: apart.raw, web_apart_gzip: apart.gzip,
  node_js_raw: nodeJs.raw, node_js_gzip: nodeJs.gzip,
  load_ms: loadMs, wasm_compile_ms: compileMs, imports: WebAssembly.Module.imports(module).length,
});
