// The worker side of jobs: onJob handlers (named, default, sequential), JobRequest, automatic
// responses, update/stream/respond, cancellation as the handler sees it, and the
// "no active job" errors.
//
// Assumptions (readings of the contract where it is not explicit):
// - Registering a second handler for the same name, or a second default handler, throws an
//   `Error` (the class is not specified; Pipecat raises ValueError).
// - A `FAILED` response rejects the requester with "worker '<w>' errored" (the API contract: "status error
//   or failed"), with `status` "failed" and `response` the worker's response.
// - `JobRequest.respond/update/stream*` on a job that is no longer active reject with the same
//   "Worker '<w>': no active job '<id>' to …" errors as the worker methods.
// - A request that reaches a worker with no handler still fires "jobRequest".
// - The "jobCancelled" event carries the `BusJobCancelMessage` with the cancel's `reason`.
// - With `sequential: true` a handler's start waits until the previous request's handler of that
//   name has settled; requests sent one after the other arrive in that order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, JobError, JobStatus } from "workbus";
import { T, UUID, sleep, quietFor, deferred, startPair, catchError, waitFor } from "./helpers.mjs";
import { catchSync, drain, record, blockingHandler, assertMessage, assertJobError, requestInOrder } from "./helpers.mjs";

test("named handlers and the default handler", T, async (t) => {
  const calls = [];
  const { r } = await startPair(t, (w) => {
    assert.equal(
      w.onJob("add", (job) => {
        calls.push(["add", job.name]);
        return { sum: job.payload.a + job.payload.b };
      }),
      w,
    );
    w.onJob("mul", (job) => {
      calls.push(["mul", job.name]);
      return { product: job.payload.a * job.payload.b };
    });
    assert.equal(
      w.onJob((job) => {
        calls.push(["default", job.name]);
        return { fallback: job.name };
      }),
      w,
    );
  });
  assert.deepEqual(await r.job("w", { name: "add", payload: { a: 2, b: 3 } }), { sum: 5 });
  assert.deepEqual(await r.job("w", { name: "mul", payload: { a: 2, b: 3 } }), { product: 6 });
  assert.deepEqual(await r.job("w", { name: "other" }), { fallback: "other" });
  assert.deepEqual(await r.job("w"), { fallback: null });
  assert.deepEqual(calls, [
    ["add", "add"],
    ["mul", "mul"],
    ["default", "other"],
    ["default", null],
  ]);
});

test("duplicate onJob name throws; a second default handler throws", T, () => {
  const w = new Worker("w").onJob("x", () => {});
  const dup = catchSync(() => w.onJob("x", () => {}));
  assert.ok(dup instanceof Error);
  w.onJob(() => {});
  const dupDefault = catchSync(() => w.onJob(() => {}));
  assert.ok(dupDefault instanceof Error);
  // Other names are still fine.
  assert.equal(
    w.onJob("y", () => {}, { sequential: true }),
    w,
  );
});

test("JobRequest fields: id, name, payload by reference, source, signal", T, async (t) => {
  let seen;
  let activeDuring;
  const { r, w } = await startPair(t, (w) => {
    w.onJob("inspect", (job) => {
      seen = job;
      activeDuring = w.activeJobs.get(job.id);
      return "ok";
    });
  });
  const payload = { nested: { list: [1, 2, 3] } };
  const ctx = r.job("w", { name: "inspect", payload });
  assert.equal(await ctx, "ok");
  assert.match(seen.id, UUID);
  assert.equal(seen.id.length, 36);
  assert.equal(seen.id, ctx.jobId);
  assert.equal(seen.name, "inspect");
  assert.equal(seen.payload, payload, "the very same object");
  assert.equal(seen.source, "r");
  assert.ok(seen.signal instanceof AbortSignal);
  assert.equal(seen.signal.aborted, false);
  for (const m of ["update", "streamStart", "streamData", "streamEnd", "respond"]) {
    assert.equal(typeof seen[m], "function", m);
  }
  assert.ok(activeDuring, "the job is in activeJobs while its handler runs");
  assert.equal(activeDuring.id, seen.id);
  assert.equal(w.activeJobs.has(seen.id), false, "and leaves once answered");
  assert.equal(w.activeJobs.size, 0);
});

/** A handler that logs "start <payload>", waits `delays[payload]` ms, logs "end <payload>" and answers the payload. */
function timedHandler(log, delays) {
  return async (job) => {
    log.push(`start ${job.payload}`);
    await sleep(delays[job.payload]);
    log.push(`end ${job.payload}`);
    return job.payload;
  };
}

test("sequential: true runs one at a time in FIFO order", T, async (t) => {
  const log = [];
  const { r } = await startPair(t, (w) => w.onJob("seq", timedHandler(log, { 1: 30, 2: 15, 3: 1 }), { sequential: true }));
  const contexts = await requestInOrder(r, "w", "seq", [1, 2, 3]);
  assert.deepEqual(await Promise.all(contexts), [1, 2, 3]);
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
});

test("without sequential, handlers of one name overlap", T, async (t) => {
  const log = [];
  const { r } = await startPair(t, (w) => w.onJob("par", timedHandler(log, { 1: 60, 2: 30, 3: 1 })));
  const contexts = await requestInOrder(r, "w", "par", [1, 2, 3]);
  assert.deepEqual(await Promise.all(contexts), [1, 2, 3]);
  assert.deepEqual(log, ["start 1", "start 2", "start 3", "end 3", "end 2", "end 1"]);
});

test("a sequential name does not block other names", T, async (t) => {
  const gate = deferred();
  const { r } = await startPair(t, (w) => {
    w.onJob("slow", async () => {
      await gate.promise;
      return "slow done";
    }, { sequential: true });
    w.onJob("fast", () => "fast done", { sequential: true });
  });
  const slow = r.job("w", { name: "slow" });
  await slow.started;
  assert.equal(await r.job("w", { name: "fast" }), "fast done");
  gate.resolve();
  assert.equal(await slow, "slow done");
});

test("automatic response: the returned value (by reference), {} for undefined or null", T, async (t) => {
  const obj = { big: "object" };
  const { r } = await startPair(t, (w) => {
    w.onJob("obj", () => obj);
    w.onJob("async", async () => {
      await sleep(1);
      return obj;
    });
    w.onJob("undef", () => undefined);
    w.onJob("null", () => null);
    w.onJob("zero", () => 0);
  });
  const ctx = r.job("w", { name: "obj" });
  assert.equal(await ctx, obj, "the very same object");
  assert.equal(ctx.status, "completed");
  assert.equal(await r.job("w", { name: "async" }), obj);
  assert.deepEqual(await r.job("w", { name: "undef" }), {});
  assert.deepEqual(await r.job("w", { name: "null" }), {});
  assert.equal(await r.job("w", { name: "zero" }), 0);
});

test("a throwing handler answers error: JobError \"worker 'w' errored\" with { error }", T, async (t) => {
  const { r, w } = await startPair(t, (w) => {
    w.onJob("sync", () => {
      throw new Error("boom");
    });
    w.onJob("async", async () => {
      await sleep(1);
      throw new TypeError("async boom");
    });
    w.onJob("string", () => {
      throw "plain string";
    });
  });
  const ctx = r.job("w", { name: "sync" });
  const err = await catchError(ctx);
  assert.ok(err instanceof Error);
  const reason = "worker 'w' errored";
  const fields = { name: "JobError", message: reason, reason, jobId: ctx.jobId, workerName: "w", status: "error" };
  assertJobError(err, { ...fields, response: { error: "boom" } });
  assert.equal(ctx.status, "error");

  const err2 = await catchError(r.job("w", { name: "async" }));
  assert.equal(err2.message, "worker 'w' errored");
  assert.deepEqual(err2.response, { error: "async boom" });

  const err3 = await catchError(r.job("w", { name: "string" }));
  assert.equal(err3.message, "worker 'w' errored");
  assert.deepEqual(err3.response, { error: "plain string" });
  assert.equal(w.activeJobs.size, 0);
});

test("no handler: answers error 'no handler for job …' (named and unnamed)", T, async (t) => {
  const { r, w } = await startPair(t, () => {});
  const requests = record(w, "jobRequest");
  const named = await catchError(r.job("w", { name: "foo" }));
  assert.ok(named instanceof JobError);
  assert.equal(named.message, "worker 'w' errored");
  assert.equal(named.status, "error");
  assert.equal(named.workerName, "w");
  assert.deepEqual(named.response, { error: "no handler for job 'foo'" });
  const unnamed = await catchError(r.job("w"));
  assert.equal(unnamed.message, "worker 'w' errored");
  assert.deepEqual(unnamed.response, { error: "no handler for job" });
  await waitFor(() => requests.length === 2, { what: "jobRequest events" });
  assert.deepEqual(
    requests.map((j) => j.name),
    ["foo", null],
  );
  assert.equal(w.activeJobs.size, 0);
});

test("named jobs with only other named handlers answer 'no handler for job '<name>''", T, async (t) => {
  const { r } = await startPair(t, (w) => {
    w.onJob("known", () => "ok");
  });
  const err = await catchError(r.job("w", { name: "unknown" }));
  assert.deepEqual(err.response, { error: "no handler for job 'unknown'" });
  assert.equal(await r.job("w", { name: "known" }), "ok");
});

test("respond: normal, urgent, explicit status", T, async (t) => {
  const { r } = await startPair(t, (w) => {
    w.onJob("normal", async (job) => {
      await job.respond({ n: 1 });
      return "ignored: already answered";
    });
    w.onJob("urgent", async (job) => {
      await job.respond({ u: 1 }, { urgent: true });
    });
    w.onJob("completed", async (job) => {
      await job.respond({ c: 1 }, { status: JobStatus.COMPLETED });
    });
    w.onJob("failed", async (job) => {
      await job.respond({ why: "bad input" }, { status: JobStatus.FAILED });
    });
    w.onJob("error", async (job) => {
      await job.respond({ error: "custom" }, { status: "error", urgent: true });
    });
  });
  const responses = record(r, "jobResponse");
  assert.deepEqual(await r.job("w", { name: "normal" }), { n: 1 });
  assert.deepEqual(await r.job("w", { name: "urgent" }), { u: 1 });
  const completed = r.job("w", { name: "completed" });
  assert.deepEqual(await completed, { c: 1 });
  assert.equal(completed.status, "completed");

  const failedCtx = r.job("w", { name: "failed" });
  const failed = await catchError(failedCtx);
  assertJobError(failed, { message: "worker 'w' errored", status: "failed", response: { why: "bad input" } });
  assert.equal(failedCtx.status, "failed");

  const errored = await catchError(r.job("w", { name: "error" }));
  assertJobError(errored, { message: "worker 'w' errored", status: "error", response: { error: "custom" } });

  await waitFor(() => responses.length === 5, { what: "5 jobResponse events" });
  assert.deepEqual(
    responses.map((m) => [m.type, m.status]),
    [
      ["BusJobResponseMessage", "completed"],
      ["BusJobResponseUrgentMessage", "completed"],
      ["BusJobResponseMessage", "completed"],
      ["BusJobResponseMessage", "failed"],
      ["BusJobResponseUrgentMessage", "error"],
    ],
  );
});

test("a worker-sent 'cancelled' rejects with the response's reason, or 'cancelled'", T, async (t) => {
  const { r } = await startPair(t, (w) => {
    w.onJob("with-reason", (job) => job.respond({ reason: "not today" }, { status: JobStatus.CANCELLED }));
    w.onJob("without", (job) => job.respond(undefined, { status: "cancelled" }));
  });
  const ctx = r.job("w", { name: "with-reason" });
  const err = await catchError(ctx);
  assertJobError(err, { message: "not today", reason: "not today", status: "cancelled", workerName: "w" });
  assert.equal(ctx.status, "cancelled");
  const err2 = await catchError(r.job("w", { name: "without" }));
  assert.equal(err2.message, "cancelled");
});

test("update: normal and urgent updates reach the requester; the job stays active", T, async (t) => {
  let stillActive;
  const { r, w } = await startPair(t, (w) => {
    w.onJob(async (job) => {
      // Pauses between sends so that an urgent update cannot overtake an earlier one.
      await job.update({ step: 1 });
      await sleep(5);
      await job.update({ step: 2 }, { urgent: true });
      await sleep(5);
      await w.sendJobUpdate(job.id, { step: 3 });
      await sleep(5);
      await w.sendJobUpdate(job.id, { step: 4 }, { urgent: false });
      stillActive = w.activeJobs.has(job.id);
      await sleep(5);
      return "done";
    });
  });
  const updates = record(r, "jobUpdate");
  const ctx = r.job("w");
  assert.equal(await ctx, "done");
  assert.equal(stillActive, true);
  assert.deepEqual(await drain(ctx), [
    { type: "update", data: { step: 1 } },
    { type: "update", data: { step: 2 } },
    { type: "update", data: { step: 3 } },
    { type: "update", data: { step: 4 } },
  ]);
  await waitFor(() => updates.length === 4, { what: "jobUpdate events" });
  assert.deepEqual(
    updates.map((m) => [m.type, m.update.step]),
    [
      ["BusJobUpdateMessage", 1],
      ["BusJobUpdateUrgentMessage", 2],
      ["BusJobUpdateMessage", 3],
      ["BusJobUpdateMessage", 4],
    ],
  );
});

test("streams: start/data/end; the stream end completes the job with its data", T, async (t) => {
  const endData = { final: true };
  let afterEnd;
  const { r, w } = await startPair(t, (w) => {
    w.onJob(async (job) => {
      await job.streamStart({ s: 0 });
      await job.streamData({ d: 1 });
      await w.sendJobStreamData(job.id, { d: 2 });
      await job.streamEnd(endData);
      afterEnd = w.activeJobs.has(job.id);
      return "ignored: the stream end answered";
    });
  });
  const ctx = r.job("w");
  const result = await ctx;
  assert.equal(result, endData, "the very same object");
  assert.equal(ctx.response, endData);
  assert.equal(ctx.status, "completed");
  assert.equal(afterEnd, false, "the job is no longer active after streamEnd");
  assert.deepEqual(await drain(ctx), [
    { type: "stream_start", data: { s: 0 } },
    { type: "stream_data", data: { d: 1 } },
    { type: "stream_data", data: { d: 2 } },
    { type: "stream_end", data: { final: true } },
  ]);
});

test("worker.sendJob* via the worker with the job id", T, async (t) => {
  const { r } = await startPair(t, (w) => {
    w.onJob(async (job) => {
      await w.sendJobStreamStart(job.id, "start");
      await w.sendJobStreamEnd(job.id, "end");
    });
    w.onJob("resp", async (job) => {
      await w.sendJobResponse(job.id, { via: "worker" }, { status: "completed", urgent: true });
    });
  });
  const ctx = r.job("w");
  assert.equal(await ctx, "end");
  assert.deepEqual(await drain(ctx), [
    { type: "stream_start", data: "start" },
    { type: "stream_end", data: "end" },
  ]);
  assert.deepEqual(await r.job("w", { name: "resp" }), { via: "worker" });
});

test("'no active job' errors after the job is done (worker methods and JobRequest methods)", T, async (t) => {
  let captured;
  const { r, w } = await startPair(t, (w) => {
    w.onJob((job) => {
      captured = job;
      return "done";
    });
  });
  assert.equal(await r.job("w"), "done");
  const id = captured.id;
  const expect = async (promise, what) => {
    const err = await catchError(promise);
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof TypeError));
    assert.equal(err.message, `Worker 'w': no active job '${id}' to ${what}`);
  };
  await expect(w.sendJobResponse(id, {}), "respond to");
  await expect(w.sendJobResponse(id), "respond to");
  await expect(w.sendJobUpdate(id, { late: 1 }), "update");
  await expect(w.sendJobUpdate(id, { late: 1 }, { urgent: true }), "update");
  await expect(w.sendJobStreamStart(id, 1), "stream");
  await expect(w.sendJobStreamData(id, 1), "stream");
  await expect(w.sendJobStreamEnd(id, 1), "stream");
  await expect(captured.respond({}), "respond to");
  await expect(captured.update({}), "update");
  await expect(captured.streamStart(), "stream");
  await expect(captured.streamData(), "stream");
  await expect(captured.streamEnd(), "stream");

  const unknown = await catchError(w.sendJobResponse("no-such-id", {}));
  assert.equal(unknown.message, "Worker 'w': no active job 'no-such-id' to respond to");
});

test("answering twice: the second answer rejects; a stream end after a response rejects", T, async (t) => {
  const errors = [];
  const { r } = await startPair(t, (w) => {
    w.onJob(async (job) => {
      await job.respond("first");
      errors.push(await catchError(job.respond("second")));
      errors.push(await catchError(job.streamEnd("third")));
    });
  });
  assert.equal(await r.job("w"), "first");
  await waitFor(() => errors.length === 2, { what: "second answers rejected" });
  assert.match(errors[0].message, /^Worker 'w': no active job '.+' to respond to$/);
  assert.match(errors[1].message, /^Worker 'w': no active job '.+' to stream$/);
});

test("a handler that answers and then throws: the first answer counts", T, async (t) => {
  const { r, w } = await startPair(t, (w) => {
    w.onJob(async (job) => {
      await job.respond({ ok: true });
      throw new Error("after the answer");
    });
  });
  assert.deepEqual(await r.job("w"), { ok: true });
  await quietFor(10); // the throw after the answer brings nothing back
  assert.equal(w.activeJobs.size, 0);
});

test("cancel: the handler's signal aborts, 'jobCancelled' fires, the requester rejects with the reason", T, async (t) => {
  const { handler, started } = blockingHandler();
  const { r, w } = await startPair(t, (worker) => worker.onJob(handler));
  const cancelled = record(w, "jobCancelled");
  const ctx = r.job("w");
  const job = await started;
  assert.equal(job.signal.aborted, false);
  assert.equal(w.activeJobs.has(job.id), true);
  await ctx.cancel("changed my mind");
  const err = await catchError(ctx);
  assert.ok(err instanceof JobError);
  assert.equal(err.message, "changed my mind");
  assert.equal(err.jobId, job.id);
  await waitFor(() => job.signal.aborted, { what: "signal aborted" });
  await waitFor(() => cancelled.length === 1, { what: "jobCancelled" });
  assertMessage(cancelled[0], {
    type: "BusJobCancelMessage",
    jobId: job.id,
    source: "r",
    target: "w",
    reason: "changed my mind",
  });
  await waitFor(() => w.activeJobs.size === 0, { what: "job no longer active" });
  // The late answer of the aborted handler is refused, not delivered.
  const late = await catchError(job.respond("too late"));
  assert.match(late.message, /no active job .* to respond to$/);
});

test("the worker keeps working after errors, cancels and missing handlers", T, async (t) => {
  const { r, w } = await startPair(t, (w) => {
    w.onJob("boom", () => {
      throw new Error("x");
    });
    w.onJob("ok", (job) => job.payload);
  });
  await catchError(r.job("w", { name: "boom" }));
  await catchError(r.job("w", { name: "none" }));
  const ctx = r.job("w", { name: "ok", payload: 1 });
  await ctx.cancel();
  await catchError(ctx);
  assert.equal(await r.job("w", { name: "ok", payload: 2 }), 2);
  await waitFor(() => w.activeJobs.size === 0, { what: "no active jobs" });
  assert.equal(r.jobGroups.size, 0);
});
