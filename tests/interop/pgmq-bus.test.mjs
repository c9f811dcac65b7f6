// PgmqBus between runners of this process on a private PostgreSQL with pgmq (no Python): queue
// naming and peer discovery as Pipecat's DirectPgmqBackend, job groups and timeouts across
// buses, archive after dispatch, junk in a queue, a failing read and its back-off, bad options.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import * as workbus from "workbus";
import { T, busErrors, waitRegistered, waitUntil } from "./helpers.mjs";
import { pgmqFixture, startPostgres } from "./postgres.mjs";

const { JobError, PgmqBus, Worker, setLogger } = workbus;

let postgres;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.stop());

let channels = 0;
const freshChannel = () => `workbus_pgmq_${++channels}`;

/** The names of pgmq's queues now. */
async function queueNames(pool) {
  return (await pool.query("SELECT queue_name FROM pgmq.list_queues()")).rows.map((r) => r.queue_name).sort();
}

/** How many messages a queue holds, read or not. */
async function queueLength(pool, queue) {
  return Number((await pool.query("SELECT queue_length FROM pgmq.metrics($1)", [queue])).rows[0].queue_length);
}

const echo = (name) => new Worker(name).onJob((job) => ({ from: name, echoed: job.payload }));

test("queue names follow Pipecat's sanitized channel prefix; close() drops the queue", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const cases = [
    ["pipecat:acme/v2", /^pipecat_acme_v2_[0-9a-f]{12}$/],
    ["123corp", /^q_123corp_[0-9a-f]{12}$/],
    ["x".repeat(40), new RegExp(`^${"x".repeat(30)}_[0-9a-f]{12}$`)],
  ];
  const buses = cases.map(([channel]) => f.bus({ channel }));
  await Promise.all(buses.map((b) => b.ready));
  cases.forEach(([, pattern], i) => assert.match(buses[i].queue, pattern));
  assert.equal(f.bus().channel, "pipecat_bus");
  const raw = f.pool();
  assert.ok((await queueNames(raw)).includes(buses[0].queue));
  await buses[0].close();
  assert.ok(!(await queueNames(raw)).includes(buses[0].queue), "the queue is dropped on close()");
});

test("a job group spans runners on three buses; each member's response comes back", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  await f.runnerOn(f.bus({ channel }), "far-1", [echo("member-1")]);
  await f.runnerOn(f.bus({ channel }), "far-2", [echo("member-2"), echo("member-3")]);
  const near = await f.runnerOn(f.bus({ channel }), "near", []);
  await waitRegistered(near.registry, ["member-1", "member-2", "member-3"]);
  const responses = await near.jobGroup(["member-1", "member-2", "member-3"], { payload: { n: 7 }, timeout: 10_000 });
  assert.deepEqual(responses, {
    "member-1": { from: "member-1", echoed: { n: 7 } },
    "member-2": { from: "member-2", echoed: { n: 7 } },
    "member-3": { from: "member-3", echoed: { n: 7 } },
  });
});

test("a job past its deadline fails with reason \"timeout\" and the far handler's signal aborts", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  let aborted;
  const abortSeen = new Promise((resolve) => (aborted = resolve));
  const stuck = new Worker("stuck").onJob(
    (job) => new Promise((resolve) => job.signal.addEventListener("abort", () => (aborted(job.signal.reason), resolve()))),
  );
  await f.runnerOn(f.bus({ channel }), "far", [stuck]);
  const near = await f.runnerOn(f.bus({ channel }), "near", []);
  await waitRegistered(near.registry, ["stuck"]);
  const error = await near.job("stuck", { timeout: 300 }).then(
    () => assert.fail("the job completed"),
    (e) => e,
  );
  assert.ok(error instanceof JobError);
  assert.equal(error.reason, "timeout");
  assert.equal(await abortSeen, "timeout");
});

test("archive after dispatch: a delivered message leaves the queue", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  const farBus = f.bus({ channel });
  await f.runnerOn(farBus, "far", [echo("echo")]);
  const nearBus = f.bus({ channel });
  const near = await f.runnerOn(nearBus, "near", []);
  await waitRegistered(near.registry, ["echo"]);
  assert.deepEqual(await near.job("echo", { payload: 1, timeout: 10_000 }), { from: "echo", echoed: 1 });
  const raw = f.pool();
  // Every message has been delivered (the response came back); once deleted, none is left.
  await waitUntil(async () => (await queueLength(raw, nearBus.queue)) === 0 && (await queueLength(raw, farBus.queue)) === 0, 5_000, "empty queues");
  // Deleted, not moved to pgmq's archive table (Pipecat's "archive" is pgmq.delete).
  const archived = await raw.query(`SELECT count(*)::int AS n FROM pgmq."a_${nearBus.queue}"`);
  assert.equal(archived.rows[0].n, 0);
});

test("junk in a queue: reported or warned, deleted, and jobs go on", T, async (t) => {
  const warnings = [];
  setLogger((level, message) => level === "warn" && warnings.push(message));
  t.after(() => setLogger(null));
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  await f.runnerOn(f.bus({ channel }), "far", [echo("echo")]);
  const nearBus = f.bus({ channel });
  const near = await f.runnerOn(nearBus, "near", []);
  await waitRegistered(near.registry, ["echo"]);
  const raw = f.pool();
  const reported = busErrors(nearBus, /^dropped a malformed message/, 3);
  for (const junk of ['{"hello": "world"}', "42", '["BusJobRequestMessage"]', JSON.stringify({ __type__: "pipecat.bus.messages.BusFutureMessage", __data__: { source: "elsewhere" } })]) {
    await raw.query("SELECT pgmq.send($1, $2::jsonb)", [nearBus.queue, junk]);
  }
  assert.equal((await reported).length, 3);
  await waitUntil(() => warnings.some((w) => /outside Pipecat's catalogue: .*BusFutureMessage/.test(w)), 5_000, "the warning");
  await waitUntil(async () => (await queueLength(raw, nearBus.queue)) === 0, 5_000, "the junk deleted");
  assert.deepEqual(await near.job("echo", { payload: "still", timeout: 10_000 }), { from: "echo", echoed: "still" });
});

test("a read that fails is reported once, retried every second, and what arrived meanwhile is delivered", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  // The outage lasts a few seconds: long enough for the runners to miss each other's heartbeats.
  const patient = { heartbeatMisses: 60 };
  await f.runnerOn(f.bus({ channel }), "far", [echo("echo")], patient);
  // The near bus's pool fails its reads while `readsFail` is set, and counts them.
  const pool = f.pool();
  const query = pool.query.bind(pool);
  let readsFail = false;
  const failedReads = [];
  pool.query = (text, values) => {
    if (!(readsFail && text.includes("pgmq.read("))) return query(text, values);
    failedReads.push(Date.now());
    return Promise.reject(new Error("connection terminated unexpectedly"));
  };
  const nearBus = f.bus({ channel, pool });
  const near = await f.runnerOn(nearBus, "near", [], patient);
  await waitRegistered(near.registry, ["echo"]);
  const errors = [];
  nearBus.on("error", (e) => errors.push(e.message));
  readsFail = true;
  // A job whose response arrives in the queue while reads fail.
  const job = near.job("echo", { payload: "meanwhile", timeout: 15_000 });
  await waitUntil(() => failedReads.length >= 3, 10_000, "three failed reads");
  readsFail = false;
  assert.deepEqual(await job, { from: "echo", echoed: "meanwhile" });
  assert.ok(failedReads[2] - failedReads[1] >= 900 && failedReads[1] - failedReads[0] >= 900, `reads 1 s apart: ${failedReads}`);
  assert.deepEqual(errors, [`could not read the pgmq queue '${nearBus.queue}': connection terminated unexpectedly`]);
});

test("bad options are TypeErrors that name the option", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  assert.throws(() => new PgmqBus(), { name: "TypeError", message: /^options\.pool must be a pg Pool .*got undefined/ });
  assert.throws(() => new PgmqBus({ pool: {} }), { name: "TypeError", message: /^options\.pool must be a pg Pool/ });
  const ended = f.pool();
  await ended.end();
  assert.throws(() => new PgmqBus({ pool: ended }), { name: "TypeError", message: /^options\.pool has been ended/ });
  const pool = f.pool();
  assert.throws(() => new PgmqBus({ pool, channel: "" }), { name: "TypeError", message: /^options\.channel must not be empty/ });
  assert.throws(() => new PgmqBus({ pool, visibilityTimeout: 0 }), { name: "TypeError", message: /^options\.visibilityTimeout must be a whole number >= 1/ });
  assert.throws(() => new PgmqBus({ pool, batchSize: 1.5 }), { name: "TypeError", message: /^options\.batchSize must be/ });
  assert.throws(() => new PgmqBus({ pool, pollIntervalMs: "100" }), { name: "TypeError", message: /^options\.pollIntervalMs must be/ });
});

test("a runner that joins just after another has listed its peers still gets its messages", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const channel = freshChannel();
  // The host's start announces it: its bus has just listed the peers (none yet).
  const host = await f.runnerOn(f.bus({ channel }), "host", []);
  const late = await f.runnerOn(f.bus({ channel }), "late", [echo("late-echo")]);
  // The late runner's announcement makes the host list its peers again, well within the 1 s
  // for which a list is kept: the job request reaches the new queue (it would be lost for good).
  await waitRegistered(host.registry, ["late-echo"]);
  assert.deepEqual(await host.job("late-echo", { payload: "hi", timeout: 3_000 }), { from: "late-echo", echoed: "hi" });
  assert.ok(late.registry.get("late-echo"));
});

test("runners on one bus talk without the database: nothing lands in the bus's own queue", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const bus = f.bus({ channel: freshChannel() });
  const requests = [];
  const local = echo("local-echo").on("jobRequest", (job) => requests.push(job.id));
  await f.runnerOn(bus, "worker-side", [local]);
  const asker = await f.runnerOn(bus, "asker-side", []);
  await waitRegistered(asker.registry, ["local-echo"]);
  assert.deepEqual(await asker.job("local-echo", { payload: 5, timeout: 5_000 }), { from: "local-echo", echoed: 5 });
  assert.equal(requests.length, 1);
  // pgmq counts every message ever sent to a queue: none was sent to this bus's own.
  const raw = f.pool();
  const sent = await raw.query("SELECT total_messages FROM pgmq.metrics($1)", [bus.queue]);
  assert.equal(Number(sent.rows[0].total_messages), 0);
});

test("a single connected pg Client serves a bus (reads never block it); an unconnected one is refused", T, async (t) => {
  const unconnected = new pg.Client({ connectionString: postgres.url });
  assert.throws(() => new PgmqBus({ pool: unconnected }), { name: "TypeError", message: /^options\.pool is a pg Client that is not connected/ });
  const f = pgmqFixture(t, postgres.url, workbus);
  const client = new pg.Client({ connectionString: postgres.url });
  client.on("error", () => {});
  await client.connect();
  t.after(() => client.end()); // after the fixture has closed the bus
  const channel = freshChannel();
  await f.runnerOn(f.bus({ channel }), "far", [echo("echo")]);
  const near = await f.runnerOn(f.bus({ channel, pool: client }), "near", []);
  await waitRegistered(near.registry, ["echo"]);
  assert.deepEqual(await near.job("echo", { payload: "one connection", timeout: 5_000 }), { from: "echo", echoed: "one connection" });
});

test("a batch is delivered in the order it was sent, whatever order pgmq.read returns it in", T, async (t) => {
  const f = pgmqFixture(t, postgres.url, workbus);
  const bus = f.bus({ channel: freshChannel() });
  await bus.ready;
  const seen = [];
  bus.on("message", (m) => m.type === "BusUIEventMessage" && seen.push(m.eventName));
  const event = (name) => JSON.stringify({ __type__: "pipecat.bus.ui.messages.BusUIEventMessage", __data__: { source: "elsewhere", event_name: name } });
  const raw = await f.pool().connect();
  try {
    // In one transaction, so that one read takes all four: rewriting the first row moves it to
    // the end of the table, and pgmq.read (an UPDATE … RETURNING) returns it last.
    await raw.query("BEGIN");
    for (const name of ["one", "two", "three", "four"]) await raw.query("SELECT pgmq.send($1, $2::jsonb)", [bus.queue, event(name)]);
    await raw.query(`UPDATE pgmq."q_${bus.queue}" SET read_ct = read_ct WHERE msg_id = (SELECT min(msg_id) FROM pgmq."q_${bus.queue}")`);
    await raw.query("COMMIT");
  } finally {
    raw.release();
  }
  await waitUntil(() => seen.length === 4, 5_000, "four events");
  assert.deepEqual(seen, ["one", "two", "three", "four"]);
});
