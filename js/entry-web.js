// Browser / Web Worker / bundler / Deno entry of the package. The wasm-bindgen `web` core must be
// instantiated before first use: `await init()` fetches `core_bg.wasm` next to the module (or
// takes `{ module_or_path }`: a URL, Response, bytes or a WebAssembly.Module); `initSync({ module })`
// does the same synchronously from bytes or a compiled module. Until then, the first use throws
// an Error that says so (rather than failing inside the wasm glue).
import coreInit, { initSync as coreInitSync } from "./core.js";
import * as internals from "./internals.js";
import { expectInit, markLoaded } from "./loading.js";

export * from "./workbus.js";
// For the subpath bundles beside this file (web/wire.js, …): not public API (js/internals.js).
export { internals as __internals };

expectInit();

export default async function init(options) {
  try {
    await coreInit(options);
  } catch (e) {
    const given = options !== null && typeof options === "object" && options.module_or_path !== undefined;
    throw new Error(
      `workbus could not load its WebAssembly module: ${e?.message ?? e}` +
        (given
          ? ""
          : ". A bundler that does not copy core_bg.wasm beside its output needs its URL or bytes: " +
            "init({ module_or_path }) (see the README, \"Bundlers\")"),
      { cause: e },
    );
  }
  markLoaded();
}

export function initSync(options) {
  coreInitSync(options);
  markLoaded();
}
