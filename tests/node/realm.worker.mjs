// The worker-thread script of realms.test.mjs (a worker script, not a test file): serves the
// workers below from this thread with serveWorkers(), over the thread's parentPort.
//
// workerData (optional): { n = 1, heartbeatInterval?, heartbeatMisses? }. The workers are named
// after n, so that two threads host distinct names:
//   ocr-<n>    "read": two updates, then a stream; completes with the stream's end data
//   who-<n>    answers who it is (its thread) and how the payload arrived (structured clone)
//   slow-<n>   default: sends the update "started", then waits until its job.signal aborts and
//              records that; "aborts": answers the records (so the main thread can check them)
//   ask-<n>    requests a job from "main-echo" (a worker of the main thread) and answers with it
//   bytes-<n>  "sum": sums the bytes of payload.buf; "make": sends an update whose ArrayBuffer is
//              transferred, and answers whether its own buffer got detached
//   raw-<n>    posts malformed messages straight onto parentPort, then answers
//   freeze-<n> sends the update "started", then blocks the thread's event loop for 5 s: the
//              thread stays alive but goes silent (no heartbeats, no exit)
import { isMainThread, parentPort, threadId, workerData } from "node:worker_threads";
import { Worker, serveWorkers, transfer } from "workbus";

if (isMainThread) throw new Error("realm.worker.mjs runs in a worker thread");

const { n = 1, ...liveness } = workerData ?? {};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const ocr = new Worker(`ocr-${n}`).onJob("read", async (job) => {
  const { page } = job.payload;
  for (const percent of [50, 100]) await job.update({ percent });
  await job.streamStart({ lines: 2 });
  await job.streamData(`page ${page}, line 1`);
  await job.streamData(`page ${page}, line 2`);
  await job.streamEnd({ text: `page ${page}: 2 lines`, threadId });
});

const who = new Worker(`who-${n}`).onJob((job) => describe(`who-${n}`, job));

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
ask.onJob(async (job) => ({ via: ask.name, answer: await ask.job("main-echo", { payload: job.payload, timeout: 3000 }) }));

const bytes = new Worker(`bytes-${n}`)
  .onJob("sum", (job) => {
    const { buf } = job.payload;
    return {
      isArrayBuffer: buf instanceof ArrayBuffer,
      byteLength: buf.byteLength,
      sum: new Uint8Array(buf).reduce((a, b) => a + b, 0),
    };
  })
  .onJob("make", async (job) => {
    const buf = new Uint8Array([1, 2, 3, 4]).buffer;
    await job.update(transfer({ buf }, [buf]));
    // The update leaves this thread when the link posts it: give that a moment.
    for (let i = 0; i < 100 && buf.byteLength !== 0; i++) await sleep(10);
    return { detached: buf.byteLength === 0 };
  });

const raw = new Worker(`raw-${n}`).onJob(() => {
  parentPort.postMessage("garbage");
  parentPort.postMessage({ type: "BusJobRequestMessage" });
  return { posted: 2 };
});

const freeze = new Worker(`freeze-${n}`).onJob(async (job) => {
  await job.update("started");
  await sleep(20); // let the update leave
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    // busy: this thread answers nothing until the main thread terminates it
  }
});

/** What a worker answers about itself and the payload it received. */
function describe(name, job) {
  const p = job.payload;
  return {
    worker: name,
    threadId,
    source: job.source,
    date: p?.when instanceof Date ? p.when.toISOString() : null,
    map: p?.map instanceof Map ? [...p.map] : null,
  };
}

await serveWorkers([ocr, who, slow, ask, bytes, raw, freeze], liveness);
