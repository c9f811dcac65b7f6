// Cold start of the package in a fresh process: the time to load, compile and instantiate it
// (a dynamic import of "workbus" resolves when its wasm is instantiated), printed as JSON. The
// specifier is computed so that no runtime can load the package before the clock starts (Deno
// prepares dynamic imports of literal specifiers with the module graph).
const specifier = ["work", "bus"].join("");
const t0 = performance.now();
const { WorkerRunner } = await import(specifier);
const ms = performance.now() - t0;
if (typeof WorkerRunner !== "function") throw new Error("workbus did not load");
console.log(JSON.stringify({ ms }));
