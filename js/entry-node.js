// Node entry of the package. The wasm-bindgen `nodejs` core (./core.js) loads and instantiates
// the wasm synchronously with `fs` when it is first required, so there is nothing to initialise:
// `init()` and `initSync()` exist only so that the same code runs unchanged in a browser.
export * from "./workbus.js";

export default async function init() {}

export function initSync() {}
