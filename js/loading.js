// Whether the engine is loaded. The Node entry loads it on import, the edge entries when they
// load; only the web entry starts unloaded, until `init()` or `initSync()` (see entry-web.js).
// Kept out of workbus.js so that the entries' `export *` does not make it public.
let loaded = true;

export function expectInit() {
  loaded = false;
}

export function markLoaded() {
  loaded = true;
}

/** Throws, before any call into the engine, when the web entry has not been initialised. */
export function assertLoaded() {
  if (!loaded) {
    throw new Error('workbus is not initialised: call `await init()` (the default export of "workbus") once before using it');
  }
}
