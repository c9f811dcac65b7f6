// Browser / Web Worker / bundler / Deno entry of the package. The wasm-bindgen `web` core must be
// instantiated before first use: `await init()` fetches `core_bg.wasm` next to the module (or
// takes `{ module_or_path }`: a URL, Response, bytes or a WebAssembly.Module); `initSync({ module })`
// does the same synchronously from bytes or a compiled module.
export * from "./workbus.js";
export { default, initSync } from "./core.js";
