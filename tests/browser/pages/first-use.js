// The page of first-use.test.mjs (served as first-use.html): what each entry point does when
// used before `await init()`, then the same calls after it.
import init, { LocalBus, Worker, WorkerRegistry, WorkerRunner, setLogger } from "workbus";
import { decodeMessage, encodeMessage } from "workbus/wire";

const calls = {
  "new Worker": () => new Worker("w"),
  "new WorkerRunner": () => new WorkerRunner(),
  "new LocalBus": () => new LocalBus(),
  "new WorkerRegistry": () => new WorkerRegistry("r"),
  encodeMessage: () => encodeMessage({ type: "BusJobCancelMessage", source: "a", target: "b", jobId: "j" }),
  decodeMessage: () => decodeMessage("{}"),
  setLogger: () => setLogger(null),
};

function attempt(call) {
  try {
    call();
    return "ok";
  } catch (e) {
    return `${e.constructor.name}: ${e.message}`;
  }
}

window.ready = (async () => {
  const before = Object.fromEntries(Object.entries(calls).map(([name, call]) => [name, attempt(call)]));
  await init();
  const after = Object.fromEntries(
    Object.entries(calls)
      .filter(([name]) => name !== "decodeMessage")
      .map(([name, call]) => [name, attempt(call)]),
  );
  const runner = new WorkerRunner({ name: "page" });
  await runner.addWorkers(new Worker("echo").onJob((job) => ({ echoed: job.payload })));
  await runner.start();
  const response = await runner.job("echo", { payload: "after init" });
  await runner.end();
  window.result = { before, after, response };
})();
