// What a RedisBus does with what it cannot use: a message of a type outside Pipecat's catalogue
// is dropped with a warning on the workbus logger, a malformed one is reported on the bus's
// "error" event, and the session goes on.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, Worker, WorkerRunner, setLogger } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, busErrors, waitUntil } from "./helpers.mjs";

let redis;
const lines = [];

before(async () => {
  setLogger((level, message) => lines.push({ level, message }));
  redis = await startRedis();
});

after(async () => {
  setLogger(null);
  await redis?.stop();
});

test("an unknown message type is a warning, a malformed message an error event, and jobs go on", T, async () => {
  const client = createClient({ url: redis.url });
  client.on("error", () => {});
  await client.connect();
  const bus = new RedisBus({ client, channel: "input-test" });
  const errors = [];
  bus.on("error", (e) => errors.push(e.message));
  await bus.ready;
  const runner = new WorkerRunner({ name: "input-runner", bus });
  await runner.addWorkers(new Worker("echo").onJob((job) => ({ echoed: job.payload })));
  await runner.start({ autoEnd: false });
  try {
    const raw = createClient({ url: redis.url });
    await raw.connect();
    const unknown = JSON.stringify({ __type__: "pipecat.bus.messages.BusFutureMessage", __data__: { source: "elsewhere" } });
    const reported = busErrors(bus, /malformed/);
    await raw.publish("input-test", unknown);
    await raw.publish("input-test", "{not json");
    await reported;
    await raw.quit();
    const warned = () => lines.filter((l) => l.level === "warn" && l.message.includes("outside Pipecat's catalogue"));
    const warnings = await waitUntil(() => warned().length > 0 && warned(), 5000, "the warning about the unknown type");
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.ok(warnings[0].message.includes("BusFutureMessage"), warnings[0].message);
    assert.equal(errors.length, 1, errors.join("; "));
    assert.match(errors[0], /^dropped a malformed message: ./);
    assert.deepEqual(await runner.job("echo", { payload: 7, timeout: 2000 }), { echoed: 7 });
  } finally {
    await runner.cancel().catch(() => {});
    await bus.close().catch(() => {});
    await client.quit().catch(() => {});
  }
});
