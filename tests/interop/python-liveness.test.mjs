// Python Pipecat's runners send no heartbeats: a workbus runner must keep their workers for as
// long as the bus links them, however short its liveness window.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, WorkerRunner } from "workbus";
import { PY_WORKERS, T, startPySession, waitRegistered } from "./helpers.mjs";
import { startRedis } from "./redis.mjs";

const LIVENESS = { heartbeatInterval: 100, heartbeatMisses: 3 };

let redis;
let py;
let client;
let bus;
let runner;
before(async () => {
  redis = await startRedis();
  py = await startPySession(redis.url);
  client = createClient({ url: redis.url });
  client.on("error", () => {});
  await client.connect();
  bus = new RedisBus({ client });
  await bus.ready;
  runner = new WorkerRunner({ name: "runner-js", bus, ...LIVENESS });
  await runner.start();
});
after(async () => {
  await runner?.cancel();
  await bus?.close();
  await client?.quit().catch(() => {});
  await py?.stop();
  await redis?.stop();
});

test(
  "a Python runner's workers stay registered past the liveness window, and still take jobs",
  T,
  async () => {
    await waitRegistered(runner.registry, PY_WORKERS);
    const gone = new Promise((resolve) => runner.registry.once("gone", (data) => resolve(`${data.workerName} gone: ${data.reason}`)));
    // Four liveness windows without a "gone" event.
    const quiet = new Promise((resolve) => setTimeout(() => resolve("still registered"), 4 * LIVENESS.heartbeatInterval * LIVENESS.heartbeatMisses));
    assert.equal(await Promise.race([gone, quiet]), "still registered");
    const response = await runner.job("py-worker", { name: "analyze", payload: { text: "still there" }, timeout: 5000 });
    assert.ok(response);
  },
);
