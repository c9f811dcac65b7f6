// The worker-thread script of realm-failures.test.mjs (a worker script, not a test file).
// workerData.mode:
//   "throw"  throws while loading, before serving anything
//   default  serves, over parentPort:
//     answers   answers with a value that cannot be cloned (a function inside)
//     sends     tries an update, a stream chunk and a stream end that cannot be cloned, and
//               answers with what each call did (rejected: the error's message and cause's name)
//     crashes   throws from a timer after its job started: an uncaught error in this realm
import { isMainThread, workerData } from "node:worker_threads";
import { Worker, serveWorkers } from "workbus";

if (isMainThread) throw new Error("realm-failures.worker.mjs runs in a worker thread");
if (workerData?.mode === "throw") throw new Error("boom while loading");

const uncloneable = () => {};

const answers = new Worker("answers").onJob(() => ({ fn: uncloneable }));

const outcome = (p) =>
  p.then(
    () => ({ sent: true }),
    (e) => ({ message: e.message, cause: e.cause?.name, causeMessage: e.cause?.message }),
  );
const sends = new Worker("sends").onJob(async (job) => ({
  update: await outcome(job.update({ fn: uncloneable })),
  streamData: await outcome(job.streamData({ fn: uncloneable })),
  streamEnd: await outcome(job.streamEnd({ fn: uncloneable })),
}));

const crashes = new Worker("crashes").onJob(() => {
  setTimeout(() => {
    throw new Error("late boom");
  }, 20);
  return new Promise(() => {}); // never answers: the realm dies first
});

await serveWorkers([answers, sends, crashes]);
