// Helpers shared by the benchmark scripts: argument parsing, timing statistics, memory
// sampling, and the one-line JSON result each script prints for bench/run.mjs to collect.

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

/** Quantile (0..1) of an array of numbers (sorted in place). */
export function quantile(values, q) {
  values.sort((a, b) => a - b);
  if (values.length === 0) return NaN;
  const pos = (values.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return values[lo] + (values[hi] - values[lo]) * (pos - lo);
}

/**
 * Runs `once()` (which awaits one operation) n times after `warmup` untimed calls and returns
 * per-call latency in microseconds (p50, p99, mean) and calls per second over the timed loop.
 */
export async function latency(once, { n, warmup }) {
  for (let i = 0; i < warmup; i++) await once(i);
  const samples = new Float64Array(n);
  const start = performance.now();
  let prev = start;
  for (let i = 0; i < n; i++) {
    await once(i);
    const now = performance.now();
    samples[i] = (now - prev) * 1000;
    prev = now;
  }
  const totalMs = performance.now() - start;
  const arr = Array.from(samples);
  return {
    p50_us: quantile(arr, 0.5),
    p99_us: quantile(arr, 0.99),
    mean_us: (totalMs * 1000) / n,
    per_s: n / (totalMs / 1000),
  };
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
