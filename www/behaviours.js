// The demo workers' job handlers, shared by the page (app.js) and the Web Workers (realm.js).
// This module imports nothing: the caller passes the package's `Worker` class, because the page
// loads the package through its import map and a Web Worker by URL (import maps do not apply
// inside workers).
//
// Every behaviour streams its output chunk by chunk and sends a progress update
// ({ percent, step }) after each chunk, with `delay` ms between chunks. The payload is an object
// or a string (taken as `text`); fields every behaviour reads:
//   text    the input text (default "workers cooperate over a message bus")
//   delay   ms per step (default depends on the behaviour)
//   steps   number of steps, where the behaviour has no natural count
//   fail    true: throw half-way, so the job answers status "error"

export const BEHAVIOURS = {
  ocr: "reads pages: one line per page",
  translate: "translates the text word by word",
  planner: "plans, then asks the formatter",
  formatter: "formats the text in chunks",
  slow: "long-running ticks (cancel or kill it)",
};

const DEFAULT_TEXT = "workers cooperate over a message bus";

const WORDS = {
  workers: "travailleurs",
  cooperate: "coopèrent",
  over: "sur",
  a: "un",
  message: "message",
  bus: "bus",
  the: "le",
  job: "tâche",
  hello: "bonjour",
  world: "monde",
};

function options(payload, defaults) {
  const p = typeof payload === "string" ? { text: payload } : payload && typeof payload === "object" ? payload : {};
  const num = (v, d) => (Number.isFinite(Number(v)) && v !== null && v !== "" ? Number(v) : d);
  return {
    text: typeof p.text === "string" && p.text.trim() ? p.text : DEFAULT_TEXT,
    delay: Math.max(0, num(p.delay, defaults.delay)),
    steps: Math.max(1, Math.min(200, Math.round(num(p.steps, defaults.steps)))),
    fail: p.fail === true,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Streams `chunks` with a progress update after each one, then ends the stream with `final`.
 * Stops quietly when the job is cancelled (the worker answers "cancelled" itself).
 */
async function work(job, name, opts, chunks, final) {
  await job.streamStart({ steps: chunks.length });
  for (let i = 0; i < chunks.length; i++) {
    await sleep(opts.delay, job.signal);
    if (job.signal.aborted) return;
    if (opts.fail && i >= Math.floor(chunks.length / 2)) {
      throw new Error(`${name} failed on purpose (payload.fail) at step ${i + 1}/${chunks.length}`);
    }
    await job.streamData(chunks[i]);
    await job.update({ percent: Math.round((100 * (i + 1)) / chunks.length), step: i + 1 });
  }
  await job.streamEnd(final);
}

const handlers = {
  ocr: (worker) => async (job) => {
    const o = options(job.payload, { delay: 160, steps: 4 });
    const lines = Array.from({ length: o.steps }, (_, i) => `page ${i + 1}: ${o.text}\n`);
    await work(job, worker.name, o, lines, { pages: o.steps, by: worker.name });
  },
  translate: (worker) => async (job) => {
    const o = options(job.payload, { delay: 120, steps: 1 });
    const words = o.text.split(/\s+/).filter(Boolean).map((w) => WORDS[w.toLowerCase()] ?? w.toUpperCase());
    await work(job, worker.name, o, words.map((w, i) => (i ? ` ${w}` : w)), { text: words.join(" "), by: worker.name });
  },
  planner: (worker) => async (job) => {
    const o = options(job.payload, { delay: 150, steps: 1 });
    const plan = ["read the request\n", "pick the workers\n", "schedule the steps\n"];
    await job.streamStart({ steps: plan.length + 1 });
    for (let i = 0; i < plan.length; i++) {
      await sleep(o.delay, job.signal);
      if (job.signal.aborted) return;
      if (o.fail && i === 1) throw new Error(`${worker.name} failed on purpose (payload.fail) at step 2/4`);
      await job.streamData(plan[i]);
      await job.update({ percent: Math.round((100 * (i + 1)) / (plan.length + 1)), step: i + 1 });
    }
    // A job of its own to another worker, when there is one: shows worker-to-worker traffic.
    let formatted = null;
    if (worker.registry?.has("formatter") && worker.name !== "formatter") {
      const asked = await worker.job("formatter", { payload: { text: o.text, delay: 20 }, signal: job.signal, timeout: 5000 });
      formatted = asked.text;
      await job.streamData(`formatter says: ${formatted}\n`);
    } else {
      await job.streamData("no formatter to ask\n");
    }
    await job.update({ percent: 100, step: plan.length + 1 });
    await job.streamEnd({ steps: plan.length + 1, formatted, by: worker.name });
  },
  formatter: (worker) => async (job) => {
    const o = options(job.payload, { delay: 90, steps: 1 });
    const title = o.text.replace(/\b\p{L}/gu, (c) => c.toUpperCase());
    const chunks = title.match(/.{1,6}/gsu) ?? [title];
    await work(job, worker.name, o, chunks, { text: title, by: worker.name });
  },
  slow: (worker) => async (job) => {
    const o = options(job.payload, { delay: 500, steps: 24 });
    const ticks = Array.from({ length: o.steps }, (_, i) => `tick ${i + 1}/${o.steps}\n`);
    await work(job, worker.name, o, ticks, { ticks: o.steps, by: worker.name });
  },
};

/** A new worker `name` with the job handler of `behaviour` (a key of BEHAVIOURS). */
export function makeWorker(Worker, name, behaviour) {
  const make = handlers[behaviour];
  if (!make) throw new TypeError(`unknown behaviour '${behaviour}'`);
  const worker = new Worker(name);
  worker.onJob(make(worker));
  return worker;
}
