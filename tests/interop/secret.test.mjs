// Shared-secret sealing on RedisBus: peers with the secret talk; a peer with another secret or
// none cannot join, read or inject, a message sealed with the right secret is obeyed only within
// 60 s of its time (sealed here with node:crypto), and every refused message is reported on the bus.
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, Worker, WorkerRunner, JobError, setLogger } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, busErrors, waitRegistered, waitUntil, within } from "./helpers.mjs";

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

/** A message sealed as a RedisBus with `secret` seals it (src/wire/auth.rs), at time `t` (ms). */
function sealAt(secret, t, msg) {
  const mac = createHmac("sha256", secret).update(`${t}.${msg}`).digest("hex");
  return JSON.stringify({ workbus_sealed: 1, t, mac, msg });
}
const CANCEL = (reason) => JSON.stringify({ __type__: "pipecat.bus.messages.BusCancelMessage", __data__: { source: "x", reason } });

async function rawClient() {
  const raw = createClient({ url: redis.url });
  await raw.connect();
  return raw;
}

test("only peers with the same secret see each other and run jobs", T, async () => {
  const a = await session("sealed-a", [new Worker("vault").onJob((job) => ({ opened: job.payload }))], "s3cret");
  const b = await session("sealed-b", [new Worker("teller")], "s3cret");
  const wrong = await session("wrong-key", [new Worker("thief")], "guess");
  const plain = await session("no-key", [new Worker("passer-by")]);
  await waitRegistered(b.runner.registry, ["vault"]);
  assert.deepEqual(await b.runner.job("vault", { payload: "box 7", timeout: 2000 }), { opened: "box 7" });
  await waitRegistered(a.runner.registry, ["teller"]);
  // The other two have announced themselves to `a`, and the sealed peers to them, and each
  // refused what it could not open: only then do their registries say something.
  const refused = (s, text) => s.errors.some((m) => m.includes(text));
  await waitUntil(() => refused(a, "wrong authentication code") && refused(a, "unauthenticated message"), 10_000, `a's refusals (${a.errors})`);
  await waitUntil(() => refused(wrong, "wrong authentication code"), 10_000, `wrong-key's refusals (${wrong.errors})`);
  await waitUntil(() => plain.errors.length > 0, 10_000, "no-key's refusals");
  assert.deepEqual(a.runner.registry.remoteWorkers, ["teller"], "the sealed peers know only each other");
  assert.deepEqual(wrong.runner.registry.remoteWorkers, []);
  assert.deepEqual(plain.runner.registry.remoteWorkers, []);
  const error = await wrong.runner.job("vault", { timeout: 200 }).then(() => null, (e) => e);
  assert.ok(error instanceof JobError);
  assert.equal(error.message, "workers not ready within timeout");
});

test("a forged message is refused", T, async () => {
  const a = await session("sealed-c", [new Worker("safe").onJob(() => "opened")], "k3y");
  const raw = await rawClient();
  const refusals = busErrors(a.bus, /wrong authentication code/, 2);
  const forged = JSON.stringify({ workbus_sealed: 1, t: Date.now(), mac: "0".repeat(64), msg: CANCEL("forged") });
  await raw.publish("secret-test", forged);
  const stale = JSON.stringify({ workbus_sealed: 1, t: Date.now() - 3_600_000, mac: "0".repeat(64), msg: "{}" });
  await raw.publish("secret-test", stale);
  await refusals;
  await raw.quit();
  assert.equal(a.runner.bus.channel, "secret-test");
  assert.equal(await a.runner.job("safe", { timeout: 1000 }), "opened", "the forged cancel did not end the runner");
});

test("a message sealed with the right secret but older than 60 s (or as far ahead) is refused; sealed now, it is obeyed", T, async () => {
  const a = await session("sealed-d", [new Worker("safe").onJob(() => "opened")], "k3y");
  let finished = false;
  a.runner.finished.then(() => (finished = true));
  const raw = await rawClient();
  const late = busErrors(a.bus, /authenticated message too old/, 2);
  await raw.publish("secret-test", sealAt("k3y", Date.now() - 61_000, CANCEL("replayed late")));
  await raw.publish("secret-test", sealAt("k3y", Date.now() + 61_000, CANCEL("from a clock ahead")));
  await late;
  assert.equal(await a.runner.job("safe", { timeout: 1000 }), "opened", "the late cancels did not end the runner");
  assert.equal(finished, false);
  // The same message sealed now: accepted, so the refusals above were for its age alone.
  await raw.publish("secret-test", sealAt("k3y", Date.now(), CANCEL("on time")));
  await within(a.runner.finished, 5_000, "the runner ending on the fresh cancel");
  await raw.quit();
});
