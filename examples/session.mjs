// A multi-worker session on the in-process bus.
//
// One runner hosts seven workers. The runner asks them for jobs and prints what comes back:
// progress updates, streamed output from a job group, a failing worker, a timeout and a
// cancellation. Every value is checked, so the example doubles as a smoke test: it exits 0 when
// everything behaved as documented and 1 otherwise.
import assert from "node:assert/strict";
import { JobError, Worker, WorkerRunner } from "workbus";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const section = (title) => console.log(`\n== ${title}`);

// If anything hangs, fail loudly instead of waiting forever.
setTimeout(() => fail(new Error("the session did not finish within 10 s")), 10_000).unref();
function fail(err) {
  console.error("\nexample FAILED:", err);
  process.exit(1);
}

// ---------------------------------------------------------------- the workers

const PAGE = "hello world from the workers on the bus";
const FRENCH = { hello: "bonjour", world: "monde", from: "de", the: "les", workers: "ouvriers", on: "sur" };

// "ocr" reads a page, reporting its progress as it goes.
const ocr = new Worker("ocr").onJob("read", async (job) => {
  for (const percent of [20, 40, 60, 80, 100]) {
    await sleep(5);
    await job.update({ percent });
  }
  return { page: job.payload.page, text: PAGE };
});

// "translator" answers with a plain return value.
const translator = new Worker("translator").onJob("translate", (job) => ({
  text: job.payload.text.split(" ").map((word) => FRENCH[word] ?? word).join(" "),
}));

// Three summarizers answer the same job group, each streaming its summary word by word.
const styles = {
  "summarizer-1": (words) => words.slice(0, 3),                    // a headline
  "summarizer-2": (words) => words.filter((w) => w.length > 4),    // the keywords
  "summarizer-3": (words) => [String(words.length), "words"],      // a statistic
};
const summarizers = Object.entries(styles).map(([name, summarize], i) =>
  new Worker(name).onJob("summarize", async (job) => {
    const words = summarize(job.payload.text.split(" "));
    await job.streamStart({ style: name });
    for (const word of words) {
      await sleep(3 + 2 * i);                                        // members interleave
      await job.streamData(word);
    }
    await job.streamEnd({ summary: words.join(" ") });             // completes this member
  }),
);

// "flaky" always throws: its requester gets a JobError.
const flaky = new Worker("flaky").onJob(() => {
  throw new Error("scanner jammed");
});

// "slow" never finishes by itself; it gives up when its job is cancelled.
let slowCancelled = 0;
const slow = new Worker("slow").onJob(
  (job) => new Promise((resolve) => job.signal.addEventListener("abort", () => resolve(slowCancelled++))),
);

// ---------------------------------------------------------------- the session

async function main() {
  const runner = new WorkerRunner({ name: "example" });
  await runner.addWorkers(ocr, translator, ...summarizers, flaky, slow);
  await runner.start();
  console.log(`runner '${runner.name}' started: ${runner.registry.localWorkers.join(", ")}`);

  section("1. a job with progress updates");
  const reading = runner.job("ocr", { name: "read", payload: { page: 1 } });
  const seen = [];
  for await (const event of reading) {
    console.log(`[ocr] ${event.data.percent}%`);
    seen.push(event.data.percent);
  }
  const page = await reading;
  console.log(`[ocr] done: "${page.text}"`);
  assert.deepEqual(seen, [20, 40, 60, 80, 100]);
  assert.deepEqual(page, { page: 1, text: PAGE });
  assert.equal(reading.status, "completed");

  section("2. a plain job");
  const translated = await runner.job("translator", { name: "translate", payload: { text: page.text } });
  console.log(`[translator] "${translated.text}"`);
  assert.equal(translated.text, "bonjour monde de les ouvriers sur les bus");

  section("3. a job group with streamed output");
  const names = Object.keys(styles);
  const group = runner.jobGroup(names, { name: "summarize", payload: { text: page.text }, timeout: 2_000 });
  const chunks = Object.fromEntries(names.map((name) => [name, []]));
  for await (const event of group) {
    if (event.type !== "stream_data") continue;
    console.log(`[${event.workerName}] ${event.data}`);
    chunks[event.workerName].push(event.data);
  }
  const summaries = await group;
  for (const name of names) {
    console.log(`[${name}] summary: "${summaries[name].summary}"`);
    assert.equal(summaries[name].summary, chunks[name].join(" "));
  }
  assert.equal(summaries["summarizer-1"].summary, "hello world from");
  assert.equal(summaries["summarizer-2"].summary, "hello world workers");
  assert.equal(summaries["summarizer-3"].summary, "8 words");

  section("4. a worker that fails");
  const failure = await runner.job("flaky").then(
    () => assert.fail("the flaky job should have failed"),
    (err) => err,
  );
  assert.ok(failure instanceof JobError, `expected a JobError, got ${failure}`);
  console.log(`[flaky] failed: ${failure.reason} (${failure.response.error})`);
  assert.equal(failure.reason, "worker 'flaky' errored");
  assert.equal(failure.workerName, "flaky");
  assert.equal(failure.status, "error");
  assert.deepEqual(failure.response, { error: "scanner jammed" });

  section("5. a job that times out");
  const started = Date.now();
  const timedOut = await runner.job("slow", { timeout: 200 }).then(() => null, (err) => err);
  const elapsed = Date.now() - started;
  console.log(`[slow] failed after ${elapsed} ms: ${timedOut?.reason}`);
  assert.ok(timedOut instanceof JobError);
  assert.equal(timedOut.reason, "timeout");
  assert.ok(elapsed >= 190 && elapsed < 2_000, `timeout after ${elapsed} ms`);

  section("6. a job cancelled with an AbortSignal");
  const controller = new AbortController();
  setTimeout(() => controller.abort("user gave up"), 50);
  const aborted = await runner.job("slow", { signal: controller.signal }).then(() => null, (err) => err);
  console.log(`[slow] failed: ${aborted?.reason}`);
  assert.ok(aborted instanceof JobError);
  assert.equal(aborted.reason, "user gave up");

  section("7. the end");
  await runner.end({ reason: "example done" });
  assert.equal(slowCancelled, 2, "the slow worker saw both of its jobs cancelled");
  console.log("runner finished");
  console.log("\nsummary: 1 job with 5 progress updates, 1 plain job, 1 group of 3 streaming workers,");
  console.log("         1 worker error, 1 timeout, 1 cancellation; every expectation held");
}

main().catch(fail);
