// Cloudflare Workers / workerd entry of the package (the `workerd` export condition). workerd
// imports a `.wasm` module as a compiled `WebAssembly.Module`, so the engine is instantiated
// synchronously when this module loads: no `init()` call is needed (it exists, and returns at
// once, so that code shared with browsers runs unchanged).
//
// Both imports are self-references through the package's `exports` map ("./web" and
// "./core_bg.wasm"), so they resolve the same way in a bundler (wrangler) and in a workerd
// config that names its modules `workbus`, `workbus/web` and `workbus/core_bg.wasm`.
import wasm from "workbus/core_bg.wasm";
import init, { initSync } from "workbus/web";

initSync({ module: wasm });

export * from "workbus/web";
export default init;
