// Timing helpers that use no Node API, so that they run in Node and in a browser page alike:
// bench/lib/common.mjs re-exports them, bench/realm/browser/page.js imports them directly.

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

/**
 * Checks that `once(-1)` answers with { i: -1 } (the handler's echo comes back), then measures
 * latency(once, { n, warmup }) and awaits finish() before returning the measurement.
 */
export async function measureEcho(once, { n, warmup }, finish = () => {}) {
  const check = await once(-1);
  if (check?.i !== -1) throw new Error(`unexpected response ${JSON.stringify(check)}`);
  const result = await latency(once, { n, warmup });
  await finish();
  return result;
}

/** The payload of the cross-realm echo job number i. */
export const echoPayload = (i) => ({ i, text: "hello" });

/**
 * The workbus side of the cross-realm benchmarks: starts `runner`, spawns the realm `target`
 * (a Web Worker URL or a worker_threads Worker) that serves worker "echo", and returns
 * { once(i), finish() }: one "echo" job, and ending the runner and the realm.
 */
export async function spawnEchoRealm(wb, runner, target) {
  await runner.start();
  const realm = await wb.spawnWorker(runner, target);
  return {
    once: (i) => runner.job("echo", { name: "echo", payload: echoPayload(i) }),
    finish: async () => {
      await runner.end();
      await realm.terminate();
    },
  };
}
