// Node entry of the package. The wasm-bindgen `nodejs` core (./core.js) loads and instantiates
// the wasm synchronously with `fs` when it is first required, so there is nothing to initialise:
// `init()` and `initSync()` exist only so that the same code runs unchanged in a browser.
import { setFlagsFromString } from "node:v8";

export * from "./workbus.js";

// V8 11 (Node 20) can crash in its deoptimizer ("Fatal error ... unreachable code") when it has
// inlined calls from JavaScript into WebAssembly; workbus makes many such calls, so it turns that
// inlining off there. Later V8 versions are left alone.
if (Number.parseInt(process.versions.v8, 10) <= 11) setFlagsFromString("--no-turbo-inline-js-wasm-calls");

export default async function init() {}

export function initSync() {}
