// Shared-secret sealing on RedisBus: peers with the secret talk; a peer with another secret or
// none cannot join, read or inject, and every refused message is reported on the bus.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, Worker, WorkerRunner, JobError, setLogger } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, sleep, waitRegistered } from "./helpers.mjs";

let redis;
const sessions = [];

async function session(name, workers, secret) {
  const client = createClient({ url: redis.url });
  client.on("error", () => {});
  await client.connect();
  const bus = new RedisBus({ client, channel: "secret-test", ...(secret ? { secret } : {}) });
  const errors = [];
  bus.on("error", (e) => errors.push(e.message));
  await bus.ready;
  const runner = new WorkerRunner({ name, bus });
  await runner.addWorkers(...workers);
  await runner.start({ autoEnd: false });
  const s = { client, bus, runner, errors };
  sessions.push(s);
  return s;
}

before(async () => {
  setLogger(() => {});
  redis = await startRedis();
});

after(async () => {
  for (const s of sessions) {
    await s.runner.cancel().catch(() => {});
    await s.bus.close().catch(() => {});
    await s.client.quit().catch(() => {});
  }
  setLogger(null);
  await redis?.stop();
});

test("only peers with the same secret see each other and run jobs", T, async () => {
  const a = await session("sealed-a", [new Worker("vault").onJob((job) => ({ opened: job.payload }))], "s3cret");
  const b = await session("sealed-b", [new Worker("teller")], "s3cret");
  const wrong = await session("wrong-key", [new Worker("thief")], "guess");
  const plain = await session("no-key", [new Worker("passer-by")]);
  await waitRegistered(b.runner.registry, ["vault"]);
  assert.deepEqual(await b.runner.job("vault", { payload: "box 7", timeout: 2000 }), { opened: "box 7" });
  await sleep(200);
  assert.deepEqual(a.runner.registry.remoteWorkers, ["teller"], "the sealed peers know only each other");
  assert.deepEqual(wrong.runner.registry.remoteWorkers, []);
  assert.deepEqual(plain.runner.registry.remoteWorkers, []);
  const refused = await wrong.runner.job("vault", { timeout: 200 }).then(() => null, (e) => e);
  assert.ok(refused instanceof JobError);
  assert.equal(refused.message, "workers not ready within timeout");
  assert.ok(a.errors.some((m) => m.includes("wrong authentication code")), a.errors.join("; "));
  assert.ok(a.errors.some((m) => m.includes("unauthenticated message")), a.errors.join("; "));
});

test("a forged or replayed-late message is refused", T, async () => {
  const a = await session("sealed-c", [new Worker("safe").onJob(() => "opened")], "k3y");
  const raw = createClient({ url: redis.url });
  await raw.connect();
  const forged = JSON.stringify({
    workbus_sealed: 1,
    t: Date.now(),
    mac: "0".repeat(64),
    msg: '{"__type__":"pipecat.bus.messages.BusCancelMessage","__data__":{"source":"x"}}',
  });
  await raw.publish("secret-test", forged);
  const stale = JSON.stringify({ workbus_sealed: 1, t: Date.now() - 3_600_000, mac: "0".repeat(64), msg: "{}" });
  await raw.publish("secret-test", stale);
  await sleep(200);
  await raw.quit();
  assert.equal(a.runner.bus.channel, "secret-test");
  assert.ok(a.errors.filter((m) => m.includes("wrong authentication code")).length >= 2, a.errors.join("; "));
  assert.equal(await a.runner.job("safe", { timeout: 1000 }), "opened", "the forged cancel did not end the runner");
});
