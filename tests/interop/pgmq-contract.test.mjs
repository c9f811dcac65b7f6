// The transport contract (tests/node/contract/cases.mjs) over PostgreSQL's pgmq: two PgmqBus
// instances on one channel of a private PostgreSQL server, each with its own pg Pool, in this
// process; the malformed message is sent straight into the near bus's queue.
import { after, before, test } from "node:test";
import pg from "pg";
import * as workbus from "workbus";
import { LIVENESS, farWorkers, nearWorkers, runContract } from "../node/contract/cases.mjs";
import { T } from "./helpers.mjs";
import { startPostgres } from "./postgres.mjs";

const { PgmqBus, Worker, WorkerRunner } = workbus;

let postgres;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.stop());

/**
 * A pg Pool; a runner on a PgmqBus of it; when the test ends, the runners are cancelled, then
 * the buses closed, then the pools ended (in that order, so nothing uses an ended pool).
 */
function fixture(t) {
  const runners = [];
  const buses = [];
  const pools = [];
  t.after(async () => {
    for (const runner of runners) await runner.cancel();
    for (const bus of buses) await bus.close();
    for (const p of pools) await p.end().catch(() => {});
  });
  return {
    pool() {
      const p = new pg.Pool({ connectionString: postgres.url, max: 4 });
      p.on("error", () => {}); // an idle connection the server closed is replaced on next use
      pools.push(p);
      return p;
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
runContract(test, "pgmq", T, async (t) => {
  const channel = `workbus_contract_${++channels}`;
  const { pool, runnerOn } = fixture(t);
  const nearBus = new PgmqBus({ pool: pool(), channel });
  const farBus = new PgmqBus({ pool: pool(), channel });
  await runnerOn(farBus, "far", farWorkers(Worker));
  const raw = pool();
  const near = await runnerOn(nearBus, "near", nearWorkers(Worker));
  return {
    workbus,
    near,
    nearBus,
    injectMalformed: () => raw.query("SELECT pgmq.send($1, $2::jsonb)", [nearBus.queue, '{"type": "BusJobRequestMessage", "data": 7}']),
    silenceFar: () => farBus.close(),
    close: () => nearBus.close(),
  };
});
