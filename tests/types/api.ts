// Type-level tests of the public surface (checked with `tsc`, never run).
import init, {
  JobError,
  JobEvent,
  JobGroupError,
  JobGroupEvent,
  JobStatus,
  LLMWorkerActivationArgs,
  LocalBus,
  UIWorker,
  Worker,
  WorkerActivationArgs,
  WorkerRegistry,
  WorkerRunner,
} from "workbus";
// What only some users need has its own subpath (the browser's `workbus` does not export it).
import { PgmqBus } from "workbus/pgmq";
import { WebSocketProxyServer } from "workbus/websocket";
import type {
  Bus,
  BusJobCancelMessage,
  BusJobRequestMessage,
  BusMessage,
  BusMessageOf,
  JobContext,
  JobEventData,
  JobGroup,
  JobGroupContext,
  JobGroupEventData,
  JobGroupResponse,
  JobHandler,
  OutgoingBusMessage,
  AcceptedWebSocket,
  JobRequest,
  WorkerErrorData,
  WorkerGoneData,
  WorkerGoneReason,
  WorkerInstance,
  WorkerReadyData,
  WorkerRegistryEntry,
} from "workbus";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// --- loading and constants -------------------------------------------------------------------

const loading: Promise<void> = init();

assertType<Equal<JobStatus, "completed" | "cancelled" | "failed" | "error">>();
assertType<Equal<typeof JobStatus.COMPLETED, "completed">>();
assertType<Equal<typeof JobStatus.ERROR, "error">>();
assertType<Equal<JobEvent, "update" | "stream_start" | "stream_data" | "stream_end">>();
assertType<Equal<typeof JobEvent.STREAM_DATA, "stream_data">>();
assertType<Equal<typeof JobGroupEvent.UPDATE, "update">>();
assertType<Equal<JobGroupEvent, JobEvent>>();

const failed: JobStatus = JobStatus.FAILED;
// @ts-expect-error: not a status
const bogusStatus: JobStatus = "done";
// @ts-expect-error: the constants are read-only
JobStatus.COMPLETED = "completed";

// --- constructors ----------------------------------------------------------------------------

const bus = new LocalBus();
const runner = new WorkerRunner({ name: "main", bus });

// PgmqBus takes anything with pg's query(text, values) (a pg Pool, typically).
const pgPool = { query: async (text: string, values?: unknown[]) => ({ rows: [] as { n: number }[], text, values }) };
const pgmqBus = new PgmqBus({ pool: pgPool, channel: "pipecat_acme", pollIntervalMs: 20, visibilityTimeout: 30, batchSize: 10 });
const pgmqReady: Promise<void> = pgmqBus.ready;
const pgmqQueue: string | undefined = pgmqBus.queue;
const pgmqClosed: Promise<void> = pgmqBus.close();
const pgmqRunner = new WorkerRunner({ bus: pgmqBus });
// @ts-expect-error: a pool is required
new PgmqBus({ channel: "pipecat_bus" });
// @ts-expect-error: not a pool
new PgmqBus({ pool: { send() {} } });
const defaultRunner = new WorkerRunner();
const sameBus: Bus = runner.bus;
const runnerName: string = runner.name;
const registry: WorkerRegistry = runner.registry;
const finished: Promise<void> = runner.finished;

const worker = new Worker("ocr");
const inactive = new Worker("later", { active: false });

// @ts-expect-error: a worker name is a string
new Worker(42);
// @ts-expect-error: unknown option type
new Worker("x", { active: "yes" });
// @ts-expect-error: a bus is a Bus (LocalBus or a transport), not any object
new WorkerRunner({ bus: {} });
// @ts-expect-error: the name is a string
new WorkerRunner({ name: 7 });
const patientRunner = new WorkerRunner({ notReadyWarning: 10_000 });
// @ts-expect-error: the warning delay is in milliseconds
new WorkerRunner({ notReadyWarning: "10s" });

// --- worker properties -----------------------------------------------------------------------

const wName: string = worker.name;
const isActive: boolean = worker.active;
const activation: Record<string, unknown> | null = worker.activationArgs;
const parent: string | null = worker.parent;
const children: readonly Worker[] = worker.children;
const startedAt: number | null = worker.startedAt;
const host: WorkerRunner | null = worker.runner;
const hostRegistry: WorkerRegistry | null = worker.registry;
const active: ReadonlyMap<string, JobRequest> = worker.activeJobs;
const groups: ReadonlyMap<string, JobGroup> = worker.jobGroups;
const workerDone: Promise<void> = worker.finished;
// @ts-expect-error: read-only
worker.name = "other";
// @ts-expect-error: children cannot be mutated through the property
worker.children.push(inactive);

// --- handlers --------------------------------------------------------------------------------

interface OcrPayload {
  page: number;
}

const chained: Worker = worker
  .onJob<OcrPayload>("read", async (job) => {
    const page: number = job.payload.page;
    const id: string = job.id;
    const name: string | null = job.name;
    const from: string = job.source;
    const attempt: number = job.attempt;
    const signal: AbortSignal = job.signal;
    await job.update({ page }, { urgent: true });
    await job.streamStart();
    await job.streamData("chunk");
    await job.streamEnd({ done: true });
    return { page, id, name, from, attempt, aborted: signal.aborted };
  })
  .onJob(
    "check",
    async (job) => {
      await job.respond({ reason: "unreadable" }, { status: JobStatus.FAILED });
    },
    { sequential: true },
  )
  .onJob((job) => {
    const payload: unknown = job.payload;
    return payload ?? {};
  });

const handler: JobHandler = (job) => job.payload;
worker.onJob("echo", handler);

// @ts-expect-error: the handler comes second
worker.onJob(handler, "echo");
// @ts-expect-error: a job name is a string
worker.onJob(1, handler);
// @ts-expect-error: unknown respond status
worker.onJob("bad", (job) => job.respond({}, { status: "done" }));
// @ts-expect-error: the payload is unknown unless a type is given
worker.onJob("untyped", (job) => job.payload.page);

async function workerSide(w: Worker): Promise<void> {
  await w.sendJobResponse("id", { ok: true }, { status: JobStatus.COMPLETED, urgent: false });
  await w.sendJobResponse("id");
  await w.sendJobUpdate("id", { percent: 50 }, { urgent: true });
  await w.sendJobStreamStart("id");
  await w.sendJobStreamData("id", new Uint8Array([1, 2]));
  await w.sendJobStreamEnd("id", { text: "…" });
  await w.sendBusErrorMessage("camera unplugged");
  await w.sendBusMessage({ type: "BusTTSSpeakMessage", target: "voice", text: "hello" });
  await w.sendBusMessage({ type: "BusUIEventMessage", eventName: "clicked", payload: { x: 1 } });
  const outgoing: OutgoingBusMessage = { type: "BusFrameMessage", frame: { __type__: "pipecat.frames.frames.TextFrame", __data__: { text: "hi" } } };
  await w.sendBusMessage(outgoing);
  // @ts-expect-error local-only types never go on a bus
  await w.sendBusMessage({ type: "BusAddWorkerMessage" });
  w.onWorkerReady("translator", (data) => {
    const n: string = data.workerName;
    const r: string = data.runner;
  });
}

// --- worker events ---------------------------------------------------------------------------

worker
  .on("activated", (args) => {
    assertType<Equal<typeof args, Record<string, unknown> | null>>();
  })
  .on("deactivated", () => {})
  .once("finished", () => {})
  .on("workerReady", (data) => {
    assertType<Equal<typeof data, WorkerReadyData>>();
  })
  .on("workerFailed", (data) => {
    assertType<Equal<typeof data, WorkerErrorData>>();
    const text: string = data.error;
  })
  .on("jobRequest", (job) => {
    assertType<Equal<typeof job, JobRequest>>();
  })
  .on("jobResponse", (message) => {
    const status: JobStatus = message.status;
    const type: "BusJobResponseMessage" | "BusJobResponseUrgentMessage" = message.type;
    const target: string | null = message.target;
  })
  .on("jobUpdate", (message) => {
    const id: string = message.jobId;
    const update: unknown = message.update;
  })
  .on("jobUpdateRequested", (message) => {
    assertType<Equal<typeof message.type, "BusJobUpdateRequestMessage">>();
  })
  .on("jobError", (message) => {
    const response: unknown = message.response;
  })
  .on("jobStreamStart", (message) => {
    assertType<Equal<typeof message.type, "BusJobStreamStartMessage">>();
  })
  .on("jobStreamData", (message) => {
    const data: unknown = message.data;
  })
  .on("jobStreamEnd", (message) => {
    assertType<Equal<typeof message.type, "BusJobStreamEndMessage">>();
  })
  .on("jobCancelled", (message) => {
    assertType<Equal<typeof message, BusJobCancelMessage>>();
    const reason: string | null = message.reason;
  })
  .on("jobCompleted", (response) => {
    assertType<Equal<typeof response, JobGroupResponse>>();
    const byName: Record<string, unknown> = response.responses;
  })
  .on("busMessage", (message) => {
    assertType<Equal<typeof message, BusMessage>>();
    switch (message.type) {
      case "BusJobRequestMessage": {
        const name: string | null = message.jobName;
        const payload: unknown = message.payload;
        break;
      }
      case "BusWorkerRegistryMessage": {
        const entries: WorkerRegistryEntry[] = message.workers;
        const started: number | null | undefined = entries[0]?.startedAt;
        break;
      }
      case "BusWorkerReadyMessage": {
        const when: number | null = message.startedAt;
        const bridged: boolean = message.bridged;
        break;
      }
      case "BusFrameMessage": {
        const direction: "DOWNSTREAM" | "UPSTREAM" = message.direction;
        const bridge: string | null = message.bridge;
        break;
      }
      case "BusTTSSpeakMessage": {
        const append: boolean = message.appendToContext;
        break;
      }
      case "BusUIJobCompletedMessage": {
        const at: number = message.at;
        const member: string = message.workerName;
        break;
      }
      case "BusUIEventMessage": {
        const eventName: string = message.eventName;
        break;
      }
      case "BusAddWorkerMessage": {
        const added: Worker = message.worker;
        break;
      }
      default: {
        const source: string = message.source;
      }
    }
  });

const requestMessage: BusMessageOf<"BusJobRequestMessage"> = {
  type: "BusJobRequestMessage",
  source: "a",
  target: "b",
  jobId: "j",
  jobName: null,
  payload: { key: "value" },
};
assertType<Equal<BusMessageOf<"BusJobRequestMessage">, BusJobRequestMessage>>();

const onActivated = (args: Record<string, unknown> | null): void => {};
worker.on("activated", onActivated).off("activated", onActivated);

// @ts-expect-error: "activated" passes the args object, not a number
worker.on("activated", (x: number) => {});
// @ts-expect-error: "jobRequest" passes a JobRequest, not the message object
worker.on("jobRequest", (m: BusJobRequestMessage) => {});
// @ts-expect-error: no such event
worker.on("jobDone", () => {});
// @ts-expect-error: "finished" passes no argument
worker.on("finished", (x: string) => {});

// --- runner ----------------------------------------------------------------------------------

async function runnerLifecycle(): Promise<void> {
  await runner.addWorkers(worker, inactive);
  const found: Worker | undefined = runner.getWorker("ocr");
  await runner.start();
  await runner.start({ autoEnd: false });
  const running: Promise<void> = runner.run({ autoEnd: true });
  runner.on("ready", () => {}).once("error", (error) => {
    assertType<Equal<typeof error, Error>>();
    const message: string = error.message;
  });
  // @ts-expect-error: "ready" passes no argument
  runner.on("ready", (x: string) => {});
  // @ts-expect-error: no such runner event
  runner.on("workerReady", () => {});
  await runner.end();
  await runner.end("bye");
  await runner.end({ reason: "bye", gracePeriod: 1_000 });
  await runner.cancel();
  await runner.cancel("stop");
  await runner.cancel({ reason: "stop" });
  // @ts-expect-error: gracePeriod is a number of ms
  await runner.end({ gracePeriod: "5s" });
  // @ts-expect-error: cancel has no grace period
  await runner.cancel({ reason: "x", gracePeriod: 10 });
  await defaultRunner.run();
}

// --- jobs ------------------------------------------------------------------------------------

interface OcrResult {
  text: string;
}

async function jobs(): Promise<void> {
  const controller = new AbortController();
  const ctx = runner.job<OcrResult>("ocr", {
    name: "read",
    payload: { page: 1 },
    timeout: 500,
    retries: 2,
    label: "page 1",
    cancellable: false,
    signal: controller.signal,
  });
  assertType<Equal<typeof ctx, JobContext<OcrResult>>>();
  const id: string | undefined = ctx.jobId;
  const sent: string = await ctx.started;
  const status: JobStatus | undefined = ctx.status;
  const early: OcrResult | undefined = ctx.response;

  for await (const event of ctx) {
    assertType<Equal<typeof event, JobEventData>>();
    const kind: "update" | "stream_start" | "stream_data" | "stream_end" = event.type;
    if (event.type === JobEvent.UPDATE) {
      const data: unknown = event.data;
    }
    // @ts-expect-error: single-job events have no workerName
    event.workerName;
  }
  const result: OcrResult = await ctx;
  const text: string = result.text;
  // @ts-expect-error: the response type is OcrResult
  const wrong: number = await ctx;

  const untyped = worker.job("translator");
  const anything: unknown = await untyped;
  await untyped.cancel();
  await untyped.cancel("no longer needed");

  // @ts-expect-error: timeout is a number of ms
  runner.job("ocr", { timeout: "1s" });
  // @ts-expect-error: signal is an AbortSignal
  runner.job("ocr", { signal: controller });
  // @ts-expect-error: cancelOnError is a group parameter
  runner.job("ocr", { cancelOnError: false });
}

async function groupsAndErrors(): Promise<void> {
  const group = runner.jobGroup<{ a: OcrResult; b: OcrResult }>(["a", "b"], {
    name: "read",
    cancelOnError: false,
    timeout: 1_000,
  });
  assertType<Equal<typeof group, JobGroupContext<{ a: OcrResult; b: OcrResult }>>>();
  for await (const event of group) {
    assertType<Equal<typeof event, JobGroupEventData>>();
    const member: string = event.workerName;
    const data: unknown = event.data;
  }
  const partial: { a?: OcrResult; b?: OcrResult } = group.responses;
  const all = await group;
  const a: string = all.a.text;

  const byName: Record<string, unknown> = await worker.jobGroup(["x", "y"]);
  // @ts-expect-error: worker names are an array
  worker.jobGroup("x");

  try {
    await worker.jobGroup(["x", "y"]);
  } catch (err) {
    // @ts-expect-error: a caught value is unknown until narrowed
    err.reason;
    if (err instanceof JobGroupError) {
      const reason: string = err.reason;
      const responses: Record<string, unknown> = err.responses;
      const asJobError: JobError = err;
    } else if (err instanceof JobError) {
      const reason: string = err.reason;
      const jobId: string | undefined = err.jobId;
      const from: string | undefined = err.workerName;
      const status: JobStatus | undefined = err.status;
      const response: unknown = err.response;
      const message: string = err.message;
      const asError: Error = err;
      // @ts-expect-error: only JobGroupError has responses
      err.responses;
    }
  }

  const e1 = new JobError("timeout");
  const e2 = new JobGroupError("worker 'x' errored", { workerName: "x", status: "error", responses: {} });
  const base: JobError = e2;
  const cause: unknown = base.cause;
  const withCause = new JobError("worker 'x' errored", { cause: new Error("jammed") });

  const jobId: string = await worker.requestJob("ocr", { payload: { page: 2 } });
  const groupId: string = await worker.requestJobGroup(["a", "b"], { cancelOnError: true });
  const jobGroup: JobGroup = await worker.createJobGroupAndRequestJob(["a"], { label: "x" });
  const names: readonly string[] = jobGroup.workerNames;
  const done: boolean = jobGroup.isDone;
  await jobGroup.wait();
  await worker.cancelJobGroup(jobGroup.jobId, "user");
  const cancelled: boolean = await worker.requestCancelJobGroup(jobGroup.jobId);
  await worker.requestJobUpdate(jobId, "ocr");
}

// --- tree, lifecycle, registry and activation ------------------------------------------------

async function lifecycle(): Promise<void> {
  const parentWorker = new Worker("parent");
  await parentWorker.addWorkers(new Worker("child-1"), new Worker("child-2"));
  await parentWorker.watchWorkers("child-1", "child-2");
  await parentWorker.activateWorker("child-1", { args: { metadata: { lang: "fr" } } });
  await parentWorker.activateWorker("child-2", {
    args: LLMWorkerActivationArgs.fromDict({ messages: [{ role: "user", content: "hi" }], run_llm: false }),
    deactivateSelf: true,
  });
  await parentWorker.activateWorker("child-1", { args: new WorkerActivationArgs({ metadata: { a: 1 } }) });
  await parentWorker.deactivateWorker("child-1");
  await parentWorker.stop({ reason: "done", gracePeriod: 100 });
  await parentWorker.stop();
  await parentWorker.endSession({ reason: "bye" });
  await parentWorker.cancelSession();
  // @ts-expect-error: children are Worker objects
  await parentWorker.addWorkers("child-3");

  const reg = new WorkerRegistry("runner-1");
  const name: string = reg.runnerName;
  const local: string[] = reg.localWorkers;
  const remote: string[] = reg.remoteWorkers;
  const ready: WorkerReadyData | undefined = reg.get("ocr");
  const known: boolean = reg.has("ocr");
  const watcher = (data: WorkerReadyData) => data.workerName;
  await reg.watch("ocr", watcher);
  reg.unwatch("ocr", watcher);
  const isNew: boolean = await reg.register({ workerName: "ocr", runner: "runner-2" });
  const entries: WorkerRegistryEntry[] = reg.entries();
  const instances: WorkerInstance[] = reg.instances("ocr");
  const pending: number = instances[0].pending;
  const asReady: WorkerReadyData = instances[0];
  reg.on("ready", (data) => data.workerName.toUpperCase()).once("gone", (data: WorkerGoneData) => {
    const why: WorkerGoneReason = data.reason;
  });
  const onGone = (data: WorkerGoneData) => data.runner;
  reg.on("gone", onGone).off("gone", onGone);
  // @ts-expect-error: the registry emits "ready" and "gone" only
  reg.on("left", () => {});
  // @ts-expect-error: a "ready" worker has no reason
  reg.on("ready", (data) => data.reason);
  worker.on("error", (error: unknown) => error);
  // @ts-expect-error: registration data is { workerName, runner }
  await reg.register({ name: "ocr" });

  const args = WorkerActivationArgs.fromDict({ metadata: { a: 1 }, extra: true });
  const wire: { metadata?: Record<string, unknown> } = args.toDict();
  const llm = LLMWorkerActivationArgs.fromDict({ runLlm: true });
  const runLlm: boolean = llm.runLlm;
  const llmWire: { run_llm?: boolean } = llm.toDict();
  // @ts-expect-error: runLlm is computed and read-only
  llm.runLlm = false;

  const accepted: WebSocket = new WebSocket("ws://localhost:8000");
  const gateway = new WebSocketProxyServer("gateway", { websocket: accepted, workerName: "assistant", remoteWorkerName: "acme", forwardMessages: ["BusFrameMessage"] });
  gateway.on("clientDisconnected", (ws: AcceptedWebSocket) => ws.close()).on("workerReady", (data) => data.workerName);
  const isConnected: boolean = gateway.connected;
  const ui: Worker = new UIWorker("ui", { active: true });
  await ui.jobGroup(["research"], { label: "Research", cancellable: true });
  // @ts-expect-error: the served worker is required
  new WebSocketProxyServer("gateway", { websocket: accepted, remoteWorkerName: "acme" });
}

export {};
