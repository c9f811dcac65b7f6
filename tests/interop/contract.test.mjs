// The transport contract (tests/node/contract/cases.mjs) over Redis: two RedisBus instances on
// one channel of a private redis-server, each with its own client, in this process; a third,
// plain client puts the malformed message on the channel.
import { after, before, test } from "node:test";
import { createClient } from "redis";
import * as workbus from "workbus";
import { LIVENESS, farWorkers, nearWorkers, runContract } from "../node/contract/cases.mjs";
import { T } from "./helpers.mjs";
import { startRedis } from "./redis.mjs";

const { RedisBus, Worker, WorkerRunner } = workbus;

let redis;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

/**
 * A connected client; a runner on a RedisBus of it; when the test ends, the runners are
 * cancelled, then the buses closed, then the clients quit (in that order, so nothing publishes
 * through a closed client).
 */
function fixture(t) {
  const runners = [];
  const buses = [];
  const clients = [];
  t.after(async () => {
    for (const runner of runners) await runner.cancel();
    for (const bus of buses) await bus.close();
    for (const c of clients) await c.quit().catch(() => {});
  });
  return {
    async client() {
      const c = createClient({ url: redis.url });
      c.on("error", () => {}); // a closing server is reported by the commands themselves
      await c.connect();
      clients.push(c);
      return c;
    },
    async runnerOn(bus, name, workers) {
      buses.push(bus);
      await bus.ready;
      const runner = new WorkerRunner({ name, bus, ...LIVENESS });
      runners.push(runner);
      await runner.addWorkers(...workers);
      await runner.start();
      return runner;
    },
  };
}

let channels = 0;
runContract(test, "Redis", T, async (t) => {
  const channel = `workbus-contract-${++channels}`;
  const { client, runnerOn } = fixture(t);
  const nearBus = new RedisBus({ client: await client(), channel });
  const farBus = new RedisBus({ client: await client(), channel });
  await runnerOn(farBus, "far", farWorkers(Worker));
  const raw = await client();
  return {
    workbus,
    near: await runnerOn(nearBus, "near", nearWorkers(Worker)),
    nearBus,
    injectMalformed: () => raw.publish(channel, '{"type": "BusJobRequestMessage", "data": '),
    silenceFar: () => farBus.close(),
    close: () => nearBus.close(),
  };
});
