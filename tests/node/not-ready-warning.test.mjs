// A job waiting for a worker that is not ready does not wait in silence: after the runner's
// `notReadyWarning` delay (5000 ms by default) it logs one warning, through the logger, naming
// the job, its requester and the workers it still waits for; then it goes on waiting.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { Worker, setLogger } from "workbus";
import { T, startRunner, waitFor, echoWorker } from "./helpers.mjs";

afterEach(() => setLogger(null));

function captureWarnings() {
  const warnings = [];
  setLogger((level, message) => {
    if (level === "warn") warnings.push(message);
  });
  return warnings;
}

test("a job to a worker that never appears warns once, through the logger, naming it, and still completes when it comes", T, async (t) => {
  const warnings = captureWarnings();
  const runner = await startRunner(t, [], { name: "main", notReadyWarning: 50 });
  const started = Date.now();
  const job = runner.job("summarizer", { name: "summarize", payload: "text" });
  await waitFor(() => warnings.length > 0, { timeout: 2000, what: "the warning" });
  assert.ok(Date.now() - started >= 45, "not before the delay");
  assert.deepEqual(warnings, [
    "job 'summarize' from 'main' has waited 50 ms for worker 'summarizer' that is not ready; it waits until it is ready or its timeout, if any, passes",
  ]);
  await runner.addWorkers(echoWorker("summarizer"));
  assert.deepEqual(await job, { from: "summarizer", payload: "text" });
  assert.equal(warnings.length, 1, "once per job");
});

test("a worker's job group names only the members still missing; a job sent in time stays silent", T, async (t) => {
  const warnings = captureWarnings();
  const caller = new Worker("caller");
  const runner = await startRunner(t, [caller, echoWorker("here")], { notReadyWarning: 50 });
  const quick = runner.job("here", { payload: 1 });
  const group = caller.jobGroup(["here", "a", "b"]);
  await waitFor(() => warnings.length > 0, { timeout: 2000, what: "the warning" });
  assert.deepEqual(await quick, { from: "here", payload: 1 });
  assert.deepEqual(warnings, [
    "a job from 'caller' has waited 50 ms for workers 'a', 'b' that are not ready; it waits until they are ready or its timeout, if any, passes",
  ]);
  await group.cancel("enough");
  await assert.rejects(group, { reason: "enough" });
});
