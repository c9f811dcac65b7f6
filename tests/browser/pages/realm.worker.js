// The module Web Worker of realms.test.mjs: serves the workers below with serveWorkers() over
// the worker's `self`. Its name (new Worker(url, { name })) is "realm-<n>"; the workers are
// named after n, so that two Web Workers host distinct names:
//   ocr-<n>    "read": two updates, then a stream; completes with the stream's end data
//   who-<n>    answers who it is and how the payload arrived (structured clone)
//   slow-<n>   default: sends the update "started", then waits until its job.signal aborts and
//              records that; "aborts": answers the records
//   ask-<n>    requests a job from "page-echo" (a worker of the page) and answers with it
// Import maps do not apply inside workers: the package is imported by its path.
import init, { Worker, serveWorkers } from "/workbus/index.js";

await init();

const n = self.name.replace(/^realm-/, "");
const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

const ocr = new Worker(`ocr-${n}`).onJob("read", async (job) => {
  const { page } = job.payload;
  for (const percent of [50, 100]) await job.update({ percent });
  await job.streamStart({ lines: 2 });
  await job.streamData(`page ${page}, line 1`);
  await job.streamData(`page ${page}, line 2`);
  await job.streamEnd({ text: `page ${page}: 2 lines`, realm: self.name, inWorker });
});

const who = new Worker(`who-${n}`).onJob((job) => ({
  worker: `who-${n}`,
  realm: self.name,
  inWorker,
  source: job.source,
  date: job.payload?.when instanceof Date ? job.payload.when.toISOString() : null,
  map: job.payload?.map instanceof Map ? [...job.payload.map] : null,
}));

const aborts = [];
const slow = new Worker(`slow-${n}`)
  .onJob("aborts", () => aborts)
  .onJob(async (job) => {
    await job.update("started");
    await new Promise((resolve) => {
      const seen = () => {
        aborts.push({ jobId: job.id, payload: job.payload, aborted: job.signal.aborted });
        resolve();
      };
      if (job.signal.aborted) seen();
      else job.signal.addEventListener("abort", seen, { once: true });
    });
  });

const ask = new Worker(`ask-${n}`);
ask.onJob(async (job) => ({ via: ask.name, answer: await ask.job("page-echo", { payload: job.payload, timeout: 3000 }) }));

await serveWorkers([ocr, who, slow, ask], { heartbeatInterval: 50, heartbeatMisses: 3 });
