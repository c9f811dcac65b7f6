// The example session of examples/session.mjs as a module any runtime can run: one runner on the
// in-process bus, a job with progress updates, a job group whose members stream their output, a
// failing worker, a timeout and a cancellation. Every value is checked; a mismatch throws.
//
// `runSession(workbus)` takes the package's module namespace, so that each runtime imports
// "workbus" its own way (workerd, Deno, Bun and Node each resolve a different entry), and
// resolves to a summary of what it saw. No Node API is used: it runs in workerd as well.

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

function check(ok, what) {
  if (!ok) throw new Error(`session check failed: ${what}`);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
function checkSame(actual, expected, what) {
  check(same(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const PAGE = "hello world from the workers on the bus";
const FRENCH = { hello: "bonjour", world: "monde", from: "de", the: "les", workers: "ouvriers", on: "sur" };
const STYLES = {
  "summarizer-1": (words) => words.slice(0, 3),
  "summarizer-2": (words) => words.filter((w) => w.length > 4),
  "summarizer-3": (words) => [String(words.length), "words"],
};

export async function runSession({ JobError, Worker, WorkerRunner }) {
  const ocr = new Worker("ocr").onJob("read", async (job) => {
    for (const percent of [20, 40, 60, 80, 100]) {
      await sleep(5, job.signal);
      await job.update({ percent });
    }
    return { page: job.payload.page, text: PAGE };
  });
  const translator = new Worker("translator").onJob("translate", (job) => ({
    text: job.payload.text.split(" ").map((word) => FRENCH[word] ?? word).join(" "),
  }));
  const summarizers = Object.entries(STYLES).map(([name, summarize], i) =>
    new Worker(name).onJob("summarize", async (job) => {
      const words = summarize(job.payload.text.split(" "));
      await job.streamStart({ style: name });
      for (const word of words) {
        await sleep(3 + 2 * i, job.signal);
        await job.streamData(word);
      }
      await job.streamEnd({ summary: words.join(" ") });
    }),
  );
  const flaky = new Worker("flaky").onJob(() => {
    throw new Error("scanner jammed");
  });
  let slowCancelled = 0;
  const slow = new Worker("slow").onJob(
    (job) => new Promise((resolve) => job.signal.addEventListener("abort", () => resolve(slowCancelled++))),
  );

  const runner = new WorkerRunner({ name: "session" });
  const summary = {};
  try {
    await runner.addWorkers(ocr, translator, ...summarizers, flaky, slow);
    await runner.start();

    // 1. a job with progress updates
    const reading = runner.job("ocr", { name: "read", payload: { page: 1 } });
    const percents = [];
    for await (const event of reading) percents.push(event.data.percent);
    const page = await reading;
    checkSame(percents, [20, 40, 60, 80, 100], "ocr updates");
    checkSame(page, { page: 1, text: PAGE }, "ocr response");
    checkSame(reading.status, "completed", "ocr status");
    summary.updates = percents.length;

    // 2. a plain job
    const translated = await runner.job("translator", { name: "translate", payload: { text: page.text } });
    checkSame(translated.text, "bonjour monde de les ouvriers sur les bus", "translation");

    // 3. a job group with streamed output
    const names = Object.keys(STYLES);
    const group = runner.jobGroup(names, { name: "summarize", payload: { text: page.text }, timeout: 2_000 });
    const chunks = Object.fromEntries(names.map((name) => [name, []]));
    const kinds = new Set();
    for await (const event of group) {
      kinds.add(event.type);
      if (event.type === "stream_data") chunks[event.workerName].push(event.data);
    }
    const summaries = await group;
    for (const name of names) checkSame(summaries[name].summary, chunks[name].join(" "), `${name} stream`);
    checkSame(summaries["summarizer-1"].summary, "hello world from", "summarizer-1");
    checkSame(summaries["summarizer-2"].summary, "hello world workers", "summarizer-2");
    checkSame(summaries["summarizer-3"].summary, "8 words", "summarizer-3");
    checkSame([...kinds].sort(), ["stream_data", "stream_end", "stream_start"], "group event types");
    summary.streamed = Object.values(chunks).reduce((n, c) => n + c.length, 0);

    // 4. a worker that fails
    const failure = await runner.job("flaky").then(() => null, (err) => err);
    check(failure instanceof JobError, `flaky: expected a JobError, got ${failure}`);
    checkSame(failure.reason, "worker 'flaky' errored", "flaky reason");
    checkSame([failure.workerName, failure.status], ["flaky", "error"], "flaky worker and status");
    checkSame(failure.response, { error: "scanner jammed" }, "flaky response");
    summary.failure = failure.reason;

    // 5. a job that times out
    const started = Date.now();
    const timedOut = await runner.job("slow", { timeout: 200 }).then(() => null, (err) => err);
    const elapsed = Date.now() - started;
    check(timedOut instanceof JobError, `slow: expected a JobError, got ${timedOut}`);
    checkSame(timedOut.reason, "timeout", "slow reason");
    check(elapsed >= 190 && elapsed < 2_000, `timeout after ${elapsed} ms`);
    summary.timeout = timedOut.reason;

    // 6. a job cancelled with an AbortSignal
    const controller = new AbortController();
    const aborting = sleep(50).then(() => controller.abort("user gave up"));
    const aborted = await runner.job("slow", { signal: controller.signal }).then(() => null, (err) => err);
    await aborting;
    check(aborted instanceof JobError, `abort: expected a JobError, got ${aborted}`);
    checkSame(aborted.reason, "user gave up", "abort reason");
    summary.cancelled = aborted.reason;
  } finally {
    await runner.end({ reason: "session done" });
  }
  checkSame(slowCancelled, 2, "the slow worker saw both of its jobs cancelled");
  return summary;
}

/** Which platform APIs this runtime has (for the transports table of the README). */
export function platformApis() {
  let unref = false;
  try {
    const t = setTimeout(() => {}, 1);
    unref = typeof t?.unref === "function";
    clearTimeout(t);
  } catch {}
  return {
    BroadcastChannel: typeof globalThis.BroadcastChannel === "function",
    MessageChannel: typeof globalThis.MessageChannel === "function",
    Worker: typeof globalThis.Worker === "function",
    setInterval: typeof globalThis.setInterval === "function",
    "setTimeout unref": unref,
    "crypto.getRandomValues": typeof globalThis.crypto?.getRandomValues === "function",
    "crypto.randomUUID": typeof globalThis.crypto?.randomUUID === "function",
    queueMicrotask: typeof globalThis.queueMicrotask === "function",
  };
}
