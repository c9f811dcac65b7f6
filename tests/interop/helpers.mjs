// Shared plumbing of the interop tests: the Python processes (py_session.py, py_proxy_app.py)
// driven by JSON lines, the JavaScript workers mirroring the Python ones, and small utilities.
// Every child process started here is killed when the test process exits, however it exits;
// the Python scripts also exit on their own when their stdin closes.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "workbus";
import { startRedis } from "./redis.mjs";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "..", "..");
export const python = join(root, ".venv", "bin", "python");

/** Every test's options: a hung peer fails the test instead of hanging the suite. */
export const T = { timeout: 30_000 };

const children = new Set();
function killAll() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with `promise`'s value, or throws if it has not settled within `ms`. */
export async function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `predicate` until it is truthy (for a state no event announces); throws after `ms`. */
export async function waitUntil(predicate, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Resolves with the next `count` "error" events of `bus` whose message matches `pattern`; throws
 * after `ms`. Call it before causing the errors.
 */
export function busErrors(bus, pattern, count = 1, ms = 5_000) {
  const seen = [];
  return new Promise((resolve, reject) => {
    const onError = (e) => {
      if (!pattern.test(e.message) || seen.push(e) < count) return;
      clearTimeout(timer);
      bus.off("error", onError);
      resolve(seen);
    };
    const timer = setTimeout(() => {
      bus.off("error", onError);
      reject(new Error(`${seen.length} of ${count} bus error(s) matching ${pattern} within ${ms} ms`));
    }, ms);
    bus.on("error", onError);
  });
}

/** Converts the {"$bytes": base64} form of py_session.py's output into Uint8Arrays. */
export function fromPy(value) {
  if (Array.isArray(value)) return value.map(fromPy);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bytes") return new Uint8Array(Buffer.from(value.$bytes, "base64"));
    return Object.fromEntries(keys.map((k) => [k, fromPy(value[k])]));
  }
  return value;
}

/**
 * Starts a Python script of this directory with the venv's interpreter. Resolves once a line
 * matching `readyWhen` arrives, with { events, waitFor(pred, ms), send(obj), request(obj, ms),
 * stop(), stderr() }.
 */
export async function startPython(script, args, { readyWhen = (e) => e.event === "ready", timeout = 20_000 } = {}) {
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/setup-python`);
  const child = spawn(python, [join(here, script), ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
  });
  children.add(child);
  const events = [];
  const waiters = new Set();
  let stderr = "";
  let buffer = "";
  let exited = false;
  const exit = new Promise((r) =>
    child.once("exit", (code, signal) => {
      exited = true;
      children.delete(child);
      for (const w of waiters) w.fail(new Error(`${script} exited (${signal ?? code}) while waiting\n${stderr}`));
      r({ code, signal });
    }),
  );
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        stderr += `[stdout] ${line}\n`;
        continue;
      }
      events.push(event);
      for (const w of waiters) if (w.pred(event)) w.done(event);
    }
  });
  const waitFor = (pred, ms = 15_000, what = "an event") => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    if (exited) return Promise.reject(new Error(`${script} has exited; no ${what}\n${stderr}`));
    return new Promise((ok, fail) => {
      const w = {
        pred,
        done: (e) => {
          clearTimeout(w.timer);
          waiters.delete(w);
          ok(e);
        },
        fail: (e) => {
          clearTimeout(w.timer);
          waiters.delete(w);
          fail(e);
        },
      };
      w.timer = setTimeout(
        () => w.fail(new Error(`${script}: no ${what} within ${ms} ms\nevents: ${JSON.stringify(events.slice(-20))}\nstderr: ${stderr.slice(-4000)}`)),
        ms,
      );
      waiters.add(w);
    });
  };
  let nextId = 1;
  const send = (obj) => child.stdin.write(`${JSON.stringify(obj)}\n`);
  const request = (obj, ms = 15_000) => {
    const id = nextId++;
    send({ ...obj, id });
    return waitFor((e) => (e.event === "result" || e.event === "bench") && e.id === id, ms, `answer to ${JSON.stringify(obj)}`).then(fromPy);
  };
  const stop = async () => {
    if (!exited) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
    }
    return exit;
  };
  child.stdin.on("error", () => {});
  try {
    await waitFor(readyWhen, timeout, "ready line");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return { child, events, waitFor, send, request, stop, exit, stderr: () => stderr };
}

/**
 * Starts py_session.py on a Redis URL (a RedisBus) or a PostgreSQL URL (a PgmqBus); resolves
 * with the handle of startPython.
 */
export function startPySession(url, { channel, runner = "runner-py", workers = ["py-worker", "py-helper"], requester = "py-requester", watch = [] } = {}) {
  const transport = /^postgres(ql)?:/.test(url) ? "--pgmq" : "--redis";
  const args = [transport, url, "--runner", runner, "--workers", workers.join(","), "--requester", requester];
  if (channel) args.push("--channel", channel);
  if (watch.length) args.push("--watch", watch.join(","));
  return startPython("py_session.py", args);
}

/** The workers py_session.py hosts by default. */
export const PY_WORKERS = ["py-worker", "py-helper", "py-requester"];

/** Waits until py_session.py reports the registration of the worker `name`; resolves with that event. */
export function pyRegistered(py, name, ms = 10_000) {
  return py.waitFor((e) => e.event === "registered" && e.worker === name, ms, `registration of ${name}`);
}

/**
 * A private Redis server with py_session.py (watching `watch`) and a workbus runner
 * (startJsSession, with `workers`) on it. The JS runner starts first when `jsFirst` is set.
 * Resolves with { redis, py, js, stop() } once the JS runner has registered the Python workers
 * and py_session.py has registered every worker named in `seenByPy`. stop() closes all three.
 */
export async function startPyJsSessions({ watch = [], workers = [], jsFirst = false, seenByPy = [] } = {}) {
  const session = { redis: await startRedis(), py: null, js: null };
  session.stop = async () => {
    await session.js?.close();
    await session.py?.stop();
    await session.redis.stop();
  };
  const { url } = session.redis;
  try {
    if (jsFirst) session.js = await startJsSession(url, { workers });
    session.py = await startPySession(url, { watch });
    session.js ??= await startJsSession(url, { workers });
    for (const name of seenByPy) await pyRegistered(session.py, name);
    await waitRegistered(session.js.runner.registry, PY_WORKERS);
  } catch (error) {
    await session.stop();
    throw error;
  }
  return session;
}

/**
 * The test file's fixture: startPyJsSessions(options) before its tests (handing the session to
 * `started`) and the session's stop() after them.
 */
export function usePyJsSessions(options, started) {
  let session;
  before(async () => {
    session = await startPyJsSessions(options);
    started(session);
  });
  after(() => session?.stop());
}

/** A promise that resolves when `signal` aborts, or after `ms`. */
function pause(ms, signal) {
  return new Promise((ok, fail) => {
    if (signal.aborted) return fail(signal.reason);
    const timer = setTimeout(ok, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      fail(signal.reason);
    });
  });
}

/**
 * A JavaScript worker with the job names of py_session.py's PyWorker (see there), recording
 * the cancellations it receives in `cancelled` (message objects), the requests in `requests`
 * and the aborts of its "slow" handlers' signals in `aborted` ({ id, reason }).
 */
export function jsWorker(name) {
  const worker = new Worker(name);
  worker.cancelled = [];
  worker.requests = [];
  worker.aborted = [];
  worker.on("jobRequest", (job) => worker.requests.push({ id: job.id, name: job.name, source: job.source, payload: job.payload }));
  worker.on("jobCancelled", (message) => worker.cancelled.push(message));
  worker
    .onJob((job) => ({ default: true, payload: job.payload }))
    .onJob("echo", (job) => job.payload)
    .onJob("analyze", async (job) => {
      const words = String(job.payload?.text ?? "").split(/\s+/).filter(Boolean);
      await pause((job.payload?.delay ?? 0) * 1000, job.signal);
      await job.update({ percent: 50 });
      await job.update({ percent: 100 });
      await job.streamStart({ words: words.length });
      for (const word of words) await job.streamData({ word });
      await job.streamEnd({ summary: words.join(" ").toUpperCase(), worker: name });
    })
    .onJob("slow", async (job) => {
      const seconds = job.payload?.seconds ?? 30;
      job.signal.addEventListener("abort", () => worker.aborted.push({ id: job.id, reason: job.signal.reason }));
      await pause(seconds * 1000, job.signal);
      return { slept: seconds };
    })
    .onJob("mixed", async (job) => {
      if ((job.payload?.fail ?? []).includes(name)) {
        await job.respond({ error: `${name} failed` }, { status: "failed" });
        return;
      }
      await pause((job.payload?.seconds ?? 0) * 1000, job.signal);
      return { ok: name };
    })
    .onJob("fail", (job) => job.respond({ error: "bad input" }, { status: "failed" }))
    .onJob("throw", () => {
      throw new Error("js handler failed");
    })
    .onJob("cancelled", (job) => job.respond({ reason: "not today" }, { status: "cancelled" }))
    .onJob("urgent", async (job) => {
      await job.update({ alert: true }, { urgent: true });
      await job.respond({ ok: true }, { urgent: true });
    })
    .onJob("bytes", (job) => {
      const data = job.payload?.data;
      return {
        type: data instanceof Uint8Array ? "Uint8Array" : typeof data,
        length: data?.length ?? null,
        reversed: data instanceof Uint8Array ? Uint8Array.from(data).reverse() : null,
      };
    })
    .onJob("ask", async (job) => {
      const { worker: target, name: jobName, payload } = job.payload;
      const answer = await worker.job(target, { name: jobName, payload, timeout: 10_000 });
      return { via: name, answer };
    });
  return worker;
}

/**
 * The events of an "analyze" job on `text` (as the Python and JavaScript workers send them):
 * two updates, then a stream of the words whose end is analyzeResponse(text, worker).
 */
export function analyzeEvents(text, worker) {
  const words = text.split(/\s+/).filter(Boolean);
  return [
    { type: "update", data: { percent: 50 } },
    { type: "update", data: { percent: 100 } },
    { type: "stream_start", data: { words: words.length } },
    ...words.map((word) => ({ type: "stream_data", data: { word } })),
    { type: "stream_end", data: analyzeResponse(text, worker) },
  ];
}

/** The response of an "analyze" job on `text` from `worker`. */
export function analyzeResponse(text, worker) {
  return { summary: text.split(/\s+/).filter(Boolean).join(" ").toUpperCase(), worker };
}

/** Collects a context's events and its outcome: { events, response } or { events, error }. */
export async function collect(ctx) {
  const events = [];
  try {
    for await (const event of ctx) events.push(event);
    return { events, response: await ctx };
  } catch (error) {
    return { events, error };
  }
}

/** Waits until `registry` knows every name. */
export async function waitRegistered(registry, names, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!names.every((n) => registry.has(n))) {
    if (Date.now() > deadline) throw new Error(`not registered within ${ms} ms: ${names.filter((n) => !registry.has(n)).join(", ")}`);
    await sleep(10);
  }
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A workbus runner on a RedisBus (node-redis client) with the given workers; resolves with
 * { client, bus, runner, close() }. close() ends the runner, closes the bus and the client.
 */
export async function startJsSession(redisUrl, { name = "runner-js", workers = [], channel } = {}) {
  const { createClient } = await import("redis");
  const { RedisBus } = await import("workbus");
  const client = createClient({ url: redisUrl });
  client.on("error", () => {}); // a closing server is reported by the commands themselves
  await client.connect();
  const bus = new RedisBus(channel ? { client, channel } : { client });
  return { client, ...(await runOn(bus, { name, workers }, () => client.quit())) };
}

/**
 * A workbus runner on a PgmqBus (a node-postgres pool of 4) with the given workers and runner
 * options; resolves with { pool, bus, runner, close() }. close() ends the runner, closes the
 * bus and ends the pool.
 */
export async function startPgmqJsSession(url, { name = "runner-js", workers = [], ...options } = {}) {
  const { default: pg } = await import("pg");
  const { PgmqBus } = await import("workbus");
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {}); // a stopping server is reported by the queries themselves
  const bus = new PgmqBus({ pool });
  return { pool, ...(await runOn(bus, { name, workers, ...options }, () => pool.end())) };
}

/** Starts a runner on `bus` once it is ready; close() ends it, then closes the bus, then `closeClient()`. */
async function runOn(bus, { workers, ...options }, closeClient) {
  const { WorkerRunner } = await import("workbus");
  await bus.ready;
  const runner = new WorkerRunner({ bus, ...options });
  await runner.addWorkers(...workers);
  await runner.start();
  let closed = null;
  const close = () =>
    (closed ??= (async () => {
      await runner.end({ gracePeriod: 1000 }).catch(() => {});
      await bus.close().catch(() => {});
      await closeClient().catch(() => {});
    })());
  return { bus, runner, close };
}

/** The code blocks of the README section "Joining a Python Pipecat session", keyed by the file name on their first line. */
export function readmeSectionFiles() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n## Joining a Python Pipecat session\n");
  if (start < 0) throw new Error("the README has no section 'Joining a Python Pipecat session'");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files = {};
  for (const [, body] of section.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)) {
    const name = /^(?:#|\/\/) (\S+\.(?:py|mjs))\n/.exec(body)?.[1];
    if (name) files[name] = body;
  }
  return files;
}

/**
 * A temp directory inside tests/interop (so that "workbus" and the clients resolve as in a
 * user's project) for the test file's README programs, removed after its tests: `write(name,
 * text)` puts a program there and `run(cmd, args)` runs one in it, killed after 25 s,
 * resolving with { code, signal, out, err }.
 */
export function useReadmeDir(prefix) {
  let dir;
  before(() => {
    dir = mkdtempSync(join(here, prefix));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    write: (name, text) => writeFileSync(join(dir, name), text),
    run(cmd, args) {
      const child = spawn(cmd, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
      return new Promise((resolve) =>
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, out, err });
        }),
      );
    },
  };
}
