// The transport contract (tests/node/contract/cases.mjs) over PostgreSQL's pgmq: two PgmqBus
// instances on one channel of a private PostgreSQL server, each with its own pg Pool, in this
// process; the malformed message is sent straight into the near bus's queue.
import { after, before, test } from "node:test";
import * as workbus from "workbus";
import { farWorkers, nearWorkers, runContract } from "../node/contract/cases.mjs";
import { T } from "./helpers.mjs";
import { pgmqFixture, startPostgres } from "./postgres.mjs";

const { Worker } = workbus;

// Polling a queue adds up to pollIntervalMs to every hop: poll often, and allow heartbeats to be
// that much later than the contract's in-memory liveness window does.
const POLL = { pollIntervalMs: 10 };
const PGMQ_LIVENESS = { heartbeatInterval: 100, heartbeatMisses: 5 };

let postgres;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.stop());

let channels = 0;
runContract(test, "pgmq", T, async (t) => {
  const channel = `workbus_contract_${++channels}`;
  const { bus, pool, runnerOn } = pgmqFixture(t, postgres.url, workbus);
  const nearBus = bus({ channel, ...POLL });
  const farBus = bus({ channel, ...POLL });
  await runnerOn(farBus, "far", farWorkers(Worker), PGMQ_LIVENESS);
  const raw = pool();
  const near = await runnerOn(nearBus, "near", nearWorkers(Worker), PGMQ_LIVENESS);
  return {
    workbus,
    near,
    nearBus,
    injectMalformed: () => raw.query("SELECT pgmq.send($1, $2::jsonb)", [nearBus.queue, '{"__type__": "pipecat.bus.messages.BusJobRequestMessage", "__data__": 7}']),
    silenceFar: () => farBus.close(),
    close: () => nearBus.close(),
  };
});
