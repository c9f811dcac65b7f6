// Redis going away and coming back: two workbus runners (A requests, B works) on RedisBus over
// a private redis-server. The server is killed (SIGKILL) while a slow job A→B runs: the job
// must fail within the liveness bound (B's heartbeats stop arriving at A) with "worker 'b'
// stopped", not hang. Then a new redis-server is started on the same port; the node-redis
// clients reconnect by themselves, and a new job A→B must work within a few seconds.
// Run twice: with the subscriber connection the bus makes itself (client.duplicate()), and with
// a subscriber passed in `subscriber`.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobError, RedisBus, Worker, WorkerRunner } from "workbus";
import { sleep, waitRegistered } from "./helpers.mjs";
import { freePort } from "../lib/free-port.mjs";
import { ping } from "./redis.mjs";

const REDIS = process.env.WORKBUS_REDIS_SERVER || "redis-server";
const HEARTBEAT = { heartbeatInterval: 100, heartbeatMisses: 3 }; // gone after 300 ms of silence


// The server is run directly (not through redis.mjs's guard), so that the test can SIGKILL the
// very redis-server process; every server started here is killed when the test process exits.
const servers = new Set();
process.on("exit", () => {
  for (const s of servers) s.kill("SIGKILL");
});
const dir = mkdtempSync(join(tmpdir(), "workbus-redis-outage-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts redis-server on `port`; resolves with its ChildProcess once it answers PING. */
async function startServer(port) {
  const args = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"];
  const child = spawn(REDIS, args, { stdio: ["ignore", "ignore", "pipe"] });
  servers.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.exited = new Promise((r) => child.once("exit", () => (servers.delete(child), r())));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await ping(port)) return child;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not start on port ${port}: ${stderr.trim() || "(no output)"}`);
}

/**
 * A runner on a RedisBus with a node-redis client (reconnecting by itself, the default); with
 * `ownSubscriber`, the bus gets a subscriber connection made here (with an "error" listener).
 */
async function startSide(url, name, workers, ownSubscriber) {
  const { createClient } = await import("redis");
  const client = createClient({ url, socket: { reconnectStrategy: () => 100 } });
  const clientErrors = [];
  client.on("error", (e) => clientErrors.push(e)); // connection loss is expected here
  await client.connect();
  let subscriber;
  if (ownSubscriber) {
    subscriber = client.duplicate();
    subscriber.on("error", (e) => clientErrors.push(e));
    await subscriber.connect();
  }
  const bus = new RedisBus(ownSubscriber ? { client, subscriber } : { client });
  await bus.ready;
  const runner = new WorkerRunner({ name, bus, ...HEARTBEAT });
  await runner.addWorkers(...workers);
  await runner.start({ autoEnd: false });
  const close = async () => {
    await runner.cancel().catch(() => {});
    await Promise.race([bus.close().catch(() => {}), sleep(1000)]);
    for (const c of [client, subscriber]) {
      if (!c) continue;
      await Promise.race([c.quit().catch(() => {}), sleep(1000)]);
      if (c.isOpen) c.destroy?.();
    }
  };
  return { client, bus, runner, close, clientErrors };
}

for (const ownSubscriber of [false, true]) {
test(
  `Redis killed mid-job: the job fails with "worker 'b' stopped" within the liveness bound; after Redis comes back on the same port, a new job works (${ownSubscriber ? "subscriber passed in" : "the bus's own subscriber"})`,
  { timeout: 60_000 },
  async (t) => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let server = await startServer(port);
    t.after(() => server?.kill("SIGKILL"));

    const requester = new Worker("a");
    const handled = [];
    const b = new Worker("b")
      .onJob("slow", async (job) => {
        handled.push(job.id);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          job.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
        return { slept: true };
      })
      .onJob("echo", (job) => ({ echoed: job.payload }));
    const sideA = await startSide(url, "runner-a", [requester], ownSubscriber);
    t.after(() => sideA.close());
    const sideB = await startSide(url, "runner-b", [b], ownSubscriber);
    t.after(() => sideB.close());
    await waitRegistered(sideA.runner.registry, ["b"], 10_000);
    await waitRegistered(sideB.runner.registry, ["a"], 10_000);

    // Before the outage: the pair works.
    assert.deepEqual(await requester.job("b", { name: "echo", payload: 1, timeout: 5000 }), { echoed: 1 });

    // A slow job, running in B's handler, when the server dies.
    const slow = requester.job("b", { name: "slow", timeout: 20_000 });
    const slowId = await slow.started;
    const deadline = Date.now() + 5000;
    while (!handled.includes(slowId) && Date.now() < deadline) await sleep(10);
    assert.ok(handled.includes(slowId), "B's handler is running the slow job");

    const t0 = Date.now();
    server.kill("SIGKILL");
    await server.exited;
    let error;
    try {
      await slow;
      assert.fail("the slow job completed during the outage");
    } catch (e) {
      error = e;
    }
    const elapsed = Date.now() - t0;
    assert.ok(error instanceof JobError, `a JobError, got ${error}`);
    assert.equal(error.reason, "worker 'b' stopped");
    assert.equal(error.message, "worker 'b' stopped");
    // 300 ms of silence, plus a heartbeat interval of slack and timer jitter.
    assert.ok(elapsed < 2000, `failed ${elapsed} ms after the server died (bound: 3 × 100 ms)`);
    assert.equal(sideA.runner.registry.has("b"), false, "b left A's registry");

    // Redis comes back on the same port; the clients reconnect by themselves.
    server = await startServer(port);
    const back = Date.now();
    const reconnected = Date.now() + 10_000;
    while (!(sideA.client.isReady && sideB.client.isReady) && Date.now() < reconnected) await sleep(20);
    assert.ok(sideA.client.isReady && sideB.client.isReady, "both node-redis clients reconnected");

    // A new job A→B works within a few seconds (it waits for b to be known again).
    const again = await requester.job("b", { name: "echo", payload: "after the outage", timeout: 5000 }).then(
      (response) => ({ response }),
      (error) => ({ error }),
    );
    assert.equal(again.error, undefined, `the job after reconnect failed: ${again.error?.reason ?? again.error}`);
    assert.deepEqual(again.response, { echoed: "after the outage" });
    t.diagnostic(`job after reconnect answered ${Date.now() - back} ms after Redis came back`);
    assert.equal(sideA.runner.registry.has("b"), true);
    assert.equal(sideB.runner.registry.has("a"), true);

    // The requester keeps no state of the failed job. (The worker's side ends it only if it too
    // noticed the outage in time: the requester's cancel was sent while Redis was down.)
    assert.equal(requester.jobGroups.size, 0);
  },
);
}
