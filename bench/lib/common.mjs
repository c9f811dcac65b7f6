// Helpers shared by the benchmark scripts: argument parsing, timing statistics, memory
// sampling, and the one-line JSON result each script prints for bench/run.mjs to collect.
// The timing helpers live in ./latency.mjs (usable in the browser page as well).

export { echoPayload, latency, measureEcho, quantile, spawnEchoRealm } from "./latency.mjs";

export function args(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new TypeError(`unexpected argument ${argv[i]}`);
    let value = m[2];
    if (value === undefined) value = argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") ? argv[++i] : "true";
    const key = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    out[key] = typeof defaults[key] === "number" ? Number(value) : value;
  }
  return out;
}

export const macrotask = () => new Promise((resolve) => setImmediate(resolve));

/** Full GC (needs --expose-gc), with macrotask turns so FinalizationRegistry callbacks run. */
export async function settleGc(rounds = 4) {
  if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
  for (let i = 0; i < rounds; i++) {
    globalThis.gc();
    await macrotask();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  globalThis.gc();
}

/** Bytes in use: JS heap + memory outside it (ArrayBuffers, including the wasm memory). */
export function memory() {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external, rss: m.rss };
}

/** Prints the result line bench/run.mjs looks for. */
export function report(result) {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
}

/**
 * The package under test: "workbus" (pkg/, through node_modules/workbus), or the entry file
 * named by BENCH_WORKBUS (bench/run.mjs points it at a copy whose wasm keeps its function
 * names, for readable profiles).
 */
export function loadWorkbus() {
  return import(process.env.BENCH_WORKBUS || "workbus");
}
