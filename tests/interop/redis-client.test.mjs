// A RedisBus refuses, at once and by name, a Redis client that cannot work: a node-redis
// client never connected (or already quit) would otherwise give a bus whose every publish
// fails with "The client is closed", and an ioredis client whose connection ended never
// reconnects. An ioredis client with lazyConnect connects on its first command: it works.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createClient } from "redis";
import Redis from "ioredis";
import { RedisBus, Worker, WorkerRunner } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, waitRegistered } from "./helpers.mjs";

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

const NODE_REDIS_CLOSED =
  /^options\.client is a node-redis client that is not connected \(isOpen is false\): call `await client\.connect\(\)` before passing it$/;

test("a node-redis client that was never connected is refused at once, naming the problem", T, () => {
  const client = createClient({ url: redis.url });
  assert.throws(() => new RedisBus({ client }), (e) => e instanceof TypeError && NODE_REDIS_CLOSED.test(e.message));
});

test("a node-redis client that has quit is refused the same way", T, async () => {
  const client = createClient({ url: redis.url });
  await client.connect();
  await client.quit();
  assert.throws(() => new RedisBus({ client }), (e) => e instanceof TypeError && NODE_REDIS_CLOSED.test(e.message));
});

test("a node-redis subscriber that is not connected is refused, naming options.subscriber", T, async () => {
  const client = await createClient({ url: redis.url }).connect();
  try {
    const subscriber = createClient({ url: redis.url });
    assert.throws(
      () => new RedisBus({ client, subscriber }),
      (e) => e instanceof TypeError && e.message.startsWith("options.subscriber is a node-redis client that is not connected"),
    );
  } finally {
    await client.quit();
  }
});

test("an ioredis client whose connection has ended is refused, naming its status", T, async () => {
  const client = new Redis(redis.url);
  await once(client, "ready");
  const ended = once(client, "end");
  await client.quit();
  await ended;
  assert.throws(
    () => new RedisBus({ client }),
    (e) =>
      e instanceof TypeError &&
      e.message === 'options.client is an ioredis client whose connection has ended (status is "end"): pass a client that is connected or connecting',
  );
});

test("an ioredis client with lazyConnect connects on first use and carries jobs to another process's bus", T, async () => {
  const lazy = new Redis(redis.url, { lazyConnect: true });
  assert.equal(lazy.status, "wait");
  const other = await createClient({ url: redis.url }).connect();
  const requesterBus = new RedisBus({ client: lazy, channel: "lazy-test" });
  const workerBus = new RedisBus({ client: other, channel: "lazy-test" });
  const requester = new WorkerRunner({ name: "lazy-requester", bus: requesterBus });
  const host = new WorkerRunner({ name: "lazy-host", bus: workerBus });
  try {
    await Promise.all([requesterBus.ready, workerBus.ready]);
    await host.addWorkers(new Worker("echo").onJob((job) => ({ echoed: job.payload })));
    await Promise.all([host.start({ autoEnd: false }), requester.start({ autoEnd: false })]);
    await waitRegistered(requester.registry, ["echo"]);
    assert.deepEqual(await requester.job("echo", { payload: "over redis", timeout: 5000 }), { echoed: "over redis" });
  } finally {
    await Promise.all([requester.cancel(), host.cancel()]);
    await Promise.all([requesterBus.close(), workerBus.close()]);
    lazy.disconnect();
    await other.quit();
  }
});
