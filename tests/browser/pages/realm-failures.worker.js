// The module Web Worker of realm-failures.test.mjs. Named "throw" (new Worker(url, { name })),
// it throws while loading; otherwise it serves:
//   answers   answers with a value that cannot be cloned (a function inside)
//   sends     tries an update, a stream chunk and a stream end that cannot be cloned, and
//             answers with what each call did (rejected: the error's message and cause's name)
//   crashes   throws from a timer after its job started: an uncaught error in this realm
// Import maps do not apply inside workers: the package is imported by its path.
import init, { Worker, serveWorkers } from "/workbus/index.js";

await init();
if (self.name === "throw") throw new Error("boom while loading");

const uncloneable = () => {};
const outcome = (p) =>
  p.then(
    () => ({ sent: true }),
    (e) => ({ message: e.message, cause: e.cause?.name, causeMessage: e.cause?.message }),
  );

const answers = new Worker("answers").onJob(() => ({ fn: uncloneable }));
const sends = new Worker("sends").onJob(async (job) => ({
  update: await outcome(job.update({ fn: uncloneable })),
  streamData: await outcome(job.streamData({ fn: uncloneable })),
  streamEnd: await outcome(job.streamEnd({ fn: uncloneable })),
}));
const crashes = new Worker("crashes").onJob(() => {
  setTimeout(() => {
    throw new Error("late boom");
  }, 20);
  return new Promise(() => {});
});

await serveWorkers([answers, sends, crashes]);
