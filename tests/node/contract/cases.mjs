// The transport contract: one set of cases that every transport runs (MessagePort,
// BroadcastChannel, worker thread, Web Worker, Redis, …). It imports nothing, so it runs in Node
// (node:test) and in a browser page alike; each transport's test file builds a `link` for it in
// a few lines (see contract.test.mjs) and hands the package's exports in as `workbus`.
//
// Two sides: the NEAR runner, in the test, hosting "near-echo"; the FAR runner, on the other side
// of the transport (another realm, another bus), hosting `FAR_WORKERS` (farWorkers() below).
//
// A link is { workbus, near, nearBus, injectMalformed(), silenceFar(), close(), route?, lacks? }:
//   near             the near runner, started, with a short liveness window (LIVENESS below)
//   nearBus          its bus ("error" events are checked)
//   injectMalformed  makes the far side put one malformed message on the transport
//   silenceFar       makes the far side stop sending anything, without a goodbye
//   close            near's `close()` of what it opened (the bus or the link)
//   route            how jobs reach the far workers: DIRECT (the default: each by its name) or
//                    THROUGH_HUB (one far worker, FAR_HUB, with each far worker's handler as a
//                    named job: for transports that tunnel a single worker, like Pipecat's proxy)
//   closeEndsFar     true when the near side learns from close() that the far runner ended
//                    (then new jobs to its workers fail "stopped" at once instead of waiting)
//   lacks            { <capability>: why } for what the transport cannot do (CAPABILITIES below):
//                    the cases that need it are reported skipped, with that reason
// Each case gets a fresh link.

/**
 * What a case may need beyond jobs to the far workers:
 *   jobsToNear  a far worker can request a job from a near worker
 *   silence     the near side notices a far side that goes silent (heartbeats)
 */
export const CAPABILITIES = ["jobsToNear", "silence"];

/** Liveness of the near runner and of the far one: gone after 3 × 50 ms without a heartbeat. */
export const LIVENESS = { heartbeatInterval: 50, heartbeatMisses: 3 };

export const FAR_WORKERS = ["echo", "streamer", "blocker", "abort-log", "asker"];

/**
 * The far side's workers, made with the package's `Worker`:
 *   echo       answers { echoed: payload }
 *   streamer   two updates, then a stream of three chunks (its end answers the job)
 *   blocker    sends the update { started: true }, then waits until its job aborts and records the
 *              abort reason
 *   abort-log  answers the reasons blocker recorded
 *   asker      asks the near side's "near-echo" for a job and answers with its response
 */
export function farWorkers(Worker) {
  let asker;
  const handlers = farHandlers(() => asker);
  const workers = FAR_WORKERS.map((name) => new Worker(name).onJob(handlers[name]));
  asker = workers[FAR_WORKERS.indexOf("asker")];
  return workers;
}

/** The one far worker of THROUGH_HUB links. */
export const FAR_HUB = "far-hub";

/** FAR_HUB: one worker with each far worker's handler as a job named after that worker. */
export function farHub(Worker) {
  const hub = new Worker(FAR_HUB);
  const handlers = farHandlers(() => hub);
  for (const name of FAR_WORKERS) hub.onJob(name, handlers[name]);
  return hub;
}

/** The far workers' handlers, by worker name; `asker` requests through `requester()`. */
function farHandlers(requester) {
  const aborts = [];
  return {
    echo: (job) => ({ echoed: job.payload }),
    streamer: async (job) => {
      await job.update({ step: 1 });
      await job.update({ step: 2 });
      await job.streamStart({ n: 0 });
      await job.streamData({ n: 1 });
      await job.streamData({ n: 2 });
      await job.streamEnd({ n: 3 });
    },
    blocker: async (job) => {
      await job.update({ started: true });
      return new Promise((resolve) => {
        const aborted = () => {
          aborts.push(typeof job.signal.reason === "string" ? job.signal.reason : String(job.signal.reason));
          resolve({});
        };
        if (job.signal.aborted) aborted();
        else job.signal.addEventListener("abort", aborted, { once: true });
      });
    },
    "abort-log": () => ({ aborts }),
    asker: async (job) => ({ via: await requester().job("near-echo", { payload: job.payload, timeout: 5000 }) }),
  };
}

/** Each far worker by its own name. */
export const DIRECT = { names: FAR_WORKERS, workerOf: (w) => w, params: (w, params) => params };
/** Every far worker's job through FAR_HUB, as the job named after that worker. */
export const THROUGH_HUB = { names: [FAR_HUB], workerOf: () => FAR_HUB, params: (w, params) => ({ ...params, name: w }) };

/** The near side's one worker. */
export function nearWorkers(Worker) {
  return [new Worker("near-echo").onJob((job) => ({ nearEchoed: job.payload }))];
}

// ----- a small assert that runs anywhere ------------------------------------------------------

/** JSON text with every object's keys sorted: jsonb (pgmq) does not keep their order, nor need it. */
function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}

function same(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function failure(promise, what) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: expected a rejection`);
}

/** Polls `predicate` (sync or async) until it is truthy, or fails after `ms`. */
async function until(predicate, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const routeOf = (link) => link.route ?? DIRECT;

/** A job from the near runner to far worker `worker` (as the link routes it). */
const jobTo = (link, worker, params) => link.near.job(routeOf(link).workerOf(worker), routeOf(link).params(worker, params));

/** What a job cut off from far worker `worker` fails with. */
const stoppedReason = (link, worker) => `worker '${routeOf(link).workerOf(worker)}' stopped`;

/**
 * A job to "blocker", once its handler runs at the far side (its { started: true } update
 * came): `{ ctx }` (wrapped, since returning the thenable context would wait for the job).
 */
async function blockedJob(link, params) {
  await until(() => link.near.registry.has(routeOf(link).workerOf("blocker")), 5000, "blocker in the near registry");
  const ctx = jobTo(link, "blocker", params);
  for await (const event of ctx) if (event.data?.started) break;
  return { ctx };
}

/** The far workers are in the near registry. */
const farKnown = (link) => routeOf(link).names.every((w) => link.near.registry.has(w));
/** The far workers have left the near registry. */
const farGone = (link) => routeOf(link).names.every((w) => !link.near.registry.has(w));

/** Generous bound for "within the liveness window" (window + scheduling slack on a busy CI). */
const GONE_WITHIN_MS = LIVENESS.heartbeatInterval * LIVENESS.heartbeatMisses + 2000;

// ----- the cases ------------------------------------------------------------------------------

export const contractCases = [
  {
    name: "snapshots: the near registry lists every far worker, on the far runner",
    async run(link) {
      const { near } = link;
      await until(() => farKnown(link), 5000, "the far workers in the near registry");
      const runners = new Set(routeOf(link).names.map((w) => near.registry.get(w).runner));
      same(runners.size, 1, "far workers' runners");
      if (runners.has(near.name)) throw new Error("far workers are listed as the near runner's own");
    },
  },
  {
    name: "a job crosses and its response comes back",
    async run(link) {
      const payload = { text: "héllo", list: [1, 2.5, null, true], nested: { deep: ["x"] } };
      same(await jobTo(link, "echo", { payload, timeout: 5000 }), { echoed: payload }, "echo response");
    },
  },
  {
    name: "jobs both ways: a far worker asks a near worker",
    needs: ["jobsToNear"],
    async run(link) {
      same(await jobTo(link, "asker", { payload: { n: 7 }, timeout: 5000 }), { via: { nearEchoed: { n: 7 } } }, "asker response");
    },
  },
  {
    name: "updates and a stream cross in order through for await",
    async run(link) {
      const ctx = jobTo(link, "streamer", { timeout: 5000 });
      const events = [];
      for await (const event of ctx) events.push(event);
      same(
        events,
        [
          { type: "update", data: { step: 1 } },
          { type: "update", data: { step: 2 } },
          { type: "stream_start", data: { n: 0 } },
          { type: "stream_data", data: { n: 1 } },
          { type: "stream_data", data: { n: 2 } },
          { type: "stream_end", data: { n: 3 } },
        ],
        "events",
      );
      same(await ctx, { n: 3 }, "response (the stream's end)");
    },
  },
  {
    name: "a cancel crosses: the job fails with its reason and the far handler's signal aborts with it",
    async run(link) {
      const { ctx } = await blockedJob(link, { timeout: 5000 });
      await ctx.cancel("enough");
      const error = await failure(ctx, "cancelled job");
      same([error.name, error.reason], ["JobError", "enough"], "cancel error");
      await until(async () => (await jobTo(link, "abort-log", { timeout: 5000 })).aborts.includes("enough"), 5000, "the far handler's abort");
    },
  },
  {
    name: "malformed input is dropped and reported on the bus's \"error\" event; jobs go on",
    async run(link) {
      const { nearBus, injectMalformed } = link;
      await until(() => farKnown(link), 5000, "the far workers");
      const reported = new Promise((resolve) => nearBus.once("error", resolve));
      await injectMalformed();
      const error = await reported;
      if (!(error instanceof Error) || !/malformed/.test(error.message)) throw new Error(`expected a "malformed" Error, got ${error}`);
      same(await jobTo(link, "echo", { payload: 1, timeout: 5000 }), { echoed: 1 }, "echo after the malformed message");
    },
  },
  {
    name: "a far side that goes silent: its pending jobs fail \"worker '<w>' stopped\" and its workers leave",
    needs: ["silence"],
    async run(link) {
      await until(() => farKnown(link), 5000, "the far workers");
      const { ctx } = await blockedJob(link);
      await link.silenceFar();
      const started = Date.now();
      const error = await failure(ctx, "job on the silent side");
      same([error.name, error.reason], ["JobError", stoppedReason(link, "blocker")], "silence error");
      if (Date.now() - started > GONE_WITHIN_MS) throw new Error(`took ${Date.now() - started} ms, over ${GONE_WITHIN_MS} ms`);
      await until(() => farGone(link), GONE_WITHIN_MS, "the far workers to leave the registry");
    },
  },
  {
    name: "close(): nothing crosses any more; pending jobs fail \"worker '<w>' stopped\"",
    async run(link) {
      await until(() => farKnown(link), 5000, "the far workers");
      const { ctx } = await blockedJob(link);
      await link.close();
      const error = await failure(ctx, "job across a closed link");
      same([error.name, error.reason], ["JobError", stoppedReason(link, "blocker")], "close error");
      await until(() => farGone(link), GONE_WITHIN_MS, "the far workers to leave the registry");
      const late = await failure(jobTo(link, "echo", { timeout: 300 }), "job after close");
      // A far runner that went silent may come back (the job waits); one that ended may not.
      same(late.reason, link.closeEndsFar ? stoppedReason(link, "echo") : "workers not ready within timeout", "job after close");
    },
  },
];

/**
 * The link to a far realm started with spawnWorker (a worker thread, a Web Worker) that takes
 * commands ("malformed", "silence") through `command(what)`, resolving once it has obeyed.
 */
export function realmLink(workbus, near, command) {
  return {
    workbus,
    near,
    nearBus: near.bus,
    injectMalformed: () => command("malformed"),
    silenceFar: () => command("silence"),
    close: () => near.bus.close(),
  };
}

/**
 * Why case `c` cannot run on a transport that `lacks` ({ capability: why }), or undefined when
 * it can. A capability that is not in CAPABILITIES is a mistake in the transport's test.
 */
export function skipReason(c, lacks = {}) {
  for (const name of Object.keys(lacks)) if (!CAPABILITIES.includes(name)) throw new Error(`unknown capability "${name}"`);
  const missing = (c.needs ?? []).filter((name) => lacks[name] !== undefined);
  return missing.length === 0 ? undefined : missing.map((name) => `no ${name}: ${lacks[name]}`).join("; ");
}

/**
 * Registers every case with a `test(name, options, fn)` function (node:test's): each runs on a
 * fresh link made by `makeLink(t)`, named "<transport> contract: <case>". A case that needs a
 * capability in `lacks` is registered skipped, with the reason (node:test reports it).
 */
export function runContract(test, transport, options, makeLink, lacks = {}) {
  for (const c of contractCases) {
    const skip = skipReason(c, lacks);
    test(`${transport} contract: ${c.name}`, skip === undefined ? options : { ...options, skip }, async (t) => c.run({ ...(await makeLink(t)), lacks }));
  }
}
