// Deno entry of the package (the `deno` export condition; also imported by file path or URL).
// The engine is instantiated when this module loads: no `init()` call is needed (it exists,
// and returns at once, so that code shared with browsers runs unchanged).
//   - From files (an npm package, a path): the wasm is imported as a module source, which Deno
//     loads and compiles like any module: no --allow-read needed.
//   - From a URL: Deno's module graph cannot hold a remote wasm-bindgen module (it would try to
//     load the wasm's own imports as modules), so the wasm is fetched: --allow-net for that host.
import init, { initSync } from "../web/index.js";

if (new URL(import.meta.url).protocol === "file:") {
  initSync({ module: await import.source("../web/core_bg.wasm") });
} else {
  await init({ module_or_path: new URL("../web/core_bg.wasm", import.meta.url) });
}

export * from "../web/index.js";
// Deno's `workbus` has every name, as Node's does; each subpath module shares this instance.
export * from "../web/wire.js";
export * from "../web/redis.js";
export * from "../web/pgmq.js";
export * from "../web/websocket.js";
export default init;
