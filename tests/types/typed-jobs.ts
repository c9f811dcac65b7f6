// Type-level tests of typed job requests: a worker's type records its named handlers, and
// `job(worker, { name, payload })` checks the payload and types the response.
import { JobStatus, Worker, WorkerRunner } from "workbus";
import type { JobContext, JobRequest, JobsOf, JobTypes } from "workbus";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const ocr = new Worker("ocr")
  .onJob("read", (job: JobRequest<{ page: number }>) => ({ text: `page ${job.payload.page}` }))
  .onJob("count", async (job: JobRequest<{ pages: number[] }>) => job.payload.pages.length)
  .onJob("ping", () => "pong")
  .onJob("check", async (job: JobRequest<{ page: number }>) => {
    await job.respond({ ok: false }, { status: JobStatus.FAILED });
  })
  .onJob((job) => ({ unsupported: job.name }));

assertType<Equal<JobsOf<typeof ocr>["read"], JobTypes<{ page: number }, { text: string }>>>();
assertType<Equal<JobsOf<typeof ocr>["count"], JobTypes<{ pages: number[] }, number>>>();
assertType<Equal<JobsOf<Worker>, {}>>();

const runner = new WorkerRunner();
// The worker is still a Worker: every API that takes one takes it.
const added: Promise<void> = runner.addWorkers(ocr);

async function typedRequests() {
  const read = runner.job(ocr, { name: "read", payload: { page: 3 }, timeout: 1000 });
  assertType<Equal<typeof read, JobContext<{ text: string }>>>();
  const { text } = await read;
  assertType<Equal<typeof text, string>>();

  const count: number = await ocr.job(ocr, { name: "count", payload: { pages: [1, 2] } });
  // A handler that does not type its payload takes any payload, or none.
  const pong: string = await runner.job(ocr, { name: "ping" });
  // A handler that answers with job.respond: the response is not known.
  const checked = await runner.job(ocr, { name: "check", payload: { page: 1 } });
  assertType<Equal<typeof checked, unknown>>();

  // @ts-expect-error the payload's field has the wrong type
  runner.job(ocr, { name: "read", payload: { page: "3" } });
  // @ts-expect-error the payload lacks a field
  runner.job(ocr, { name: "read", payload: {} });
  // @ts-expect-error the payload is required
  runner.job(ocr, { name: "read" });
  // @ts-expect-error no handler named "write"
  runner.job(ocr, { name: "write", payload: { page: 3 } });
  // @ts-expect-error the name is required: an unnamed job would go to the default handler
  runner.job(ocr, { payload: { page: 3 } });
  // @ts-expect-error the response is { text: string }, not a number
  const wrong: number = await runner.job(ocr, { name: "read", payload: { page: 3 } });
  const sent: string = await ocr.requestJob(ocr, { name: "read", payload: { page: 1 } });
  return [count, pong, wrong, sent];
}

// Untyped calls keep working: names are `unknown`-typed, or typed as asserted.
async function untypedRequests(plain: Worker) {
  const byName = await runner.job("ocr", { name: "read", payload: { page: "anything" } });
  assertType<Equal<typeof byName, unknown>>();
  const asserted = await runner.job<{ text: string }>("ocr", { name: "read", payload: 1 });
  assertType<Equal<typeof asserted, { text: string }>>();
  // A worker whose handlers are not in its type is requested like a name.
  const fromPlain = await runner.job(plain, { name: "whatever" });
  assertType<Equal<typeof fromPlain, unknown>>();
  // A job name that is not a literal records nothing.
  const dynamic = new Worker("dyn").onJob(String(Math.random()), () => 1);
  const fromDynamic = await runner.job(dynamic, { payload: 1 });
  assertType<Equal<typeof fromDynamic, unknown>>();
  // The old way of typing a handler's payload still works, and records its name.
  const legacy = new Worker("legacy").onJob<{ n: number }>("double", (job) => job.payload.n * 2);
  const doubled = await runner.job(legacy, { name: "double", payload: { n: 2 } });
  return [added, fromPlain, doubled];
}

export { typedRequests, untypedRequests };
