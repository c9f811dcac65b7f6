// The page of smoke.test.mjs (served as smoke.html).
import init, { Worker, WorkerRunner } from "workbus";

// A job between two workers of the page's own runner: proves the package loads and runs.
window.ready = (async () => {
  await init();
  const ocr = new Worker("ocr").onJob("read", async (job) => {
    for (const percent of [50, 100]) await job.update({ percent });
    return { text: `page ${job.payload.page}` };
  });
  const runner = new WorkerRunner({ name: "page" });
  await runner.addWorkers(ocr);
  await runner.start();
  const reading = runner.job("ocr", { name: "read", payload: { page: 7 } });
  const events = [];
  for await (const event of reading) events.push(event);
  window.result = { events, response: await reading, workers: runner.registry.localWorkers };
  await runner.end();
})();
