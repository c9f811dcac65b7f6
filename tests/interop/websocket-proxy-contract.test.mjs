// The transport contract (tests/node/contract/cases.mjs) through Pipecat's WebSocket proxy, both
// halves workbus's, over the `ws` package: the near runner hosts a WebSocketProxyClient, each
// connection gets a far runner with a WebSocketProxyServer. The proxy tunnels one pair of
// workers, so the far workers are one worker (FAR_HUB, their handlers as named jobs), and the
// client's local worker is the near runner itself (its name is the requester of its jobs).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketServer } from "ws";
import * as workbus from "workbus";
import { FAR_HUB, LIVENESS, THROUGH_HUB, farHub, nearWorkers, runContract } from "../node/contract/cases.mjs";
import { T } from "./helpers.mjs";

const { WebSocketProxyClient, WebSocketProxyServer, Worker, WorkerRunner } = workbus;

/** What the proxy cannot carry, as Pipecat's cannot. */
const LACKS = {
  jobsToNear: "the server forwards only its worker's messages to the client's one local worker, and never learns the client's workers",
  silence: "Pipecat's proxy has no heartbeat: a silent server is noticed only when its socket closes",
};

/** Liveness that never expires a runner within a test. */
const NO_EXPIRY = { heartbeatInterval: 600_000, heartbeatMisses: 3 };

let wss;
let url;
/** The next connection's far side: set by the case about to connect. */
let onConnection;

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket) => onConnection(socket));
  await new Promise((resolve) => wss.once("listening", resolve));
  url = `ws://127.0.0.1:${wss.address().port}/`;
});
after(() => new Promise((resolve) => wss.close(resolve)));

runContract(
  test,
  "WebSocket proxy",
  T,
  async (t) => {
    const far = new WorkerRunner({ name: "far", ...LIVENESS });
    t.after(() => far.cancel());
    const served = new Promise((resolve) => {
      onConnection = async (socket) => {
        const gateway = new WebSocketProxyServer("gateway", { websocket: socket, workerName: FAR_HUB, remoteWorkerName: "near" });
        await far.addWorkers(gateway, farHub(Worker));
        await far.start();
        resolve(socket);
      };
    });
    // A long liveness window: the far runner's heartbeats do not cross the proxy, and the near
    // runner must not give up on it by silence (close() is noticed through the socket instead).
    const near = new WorkerRunner({ name: "near", ...NO_EXPIRY });
    t.after(() => near.cancel());
    const proxy = new WebSocketProxyClient("proxy", { url, remoteWorkerName: FAR_HUB, localWorkerName: "near", active: true, WebSocket });
    await near.addWorkers(...nearWorkers(Worker), proxy);
    await near.start();
    const farSocket = await served;
    return {
      workbus,
      near,
      nearBus: near.bus,
      route: THROUGH_HUB,
      // The client's socket was the only way to the far runner: closing it ends that runner here.
      closeEndsFar: true,
      injectMalformed: () => farSocket.send('{"__type__": "pipecat.bus.messages.BusJobRequestMessage", "__data__": '),
      silenceFar: () => {
        throw new Error("the proxy has no way to go silent that the near side could notice");
      },
      close: () => proxy.stop(),
    };
  },
  LACKS,
);

test(
  "WebSocket proxy: a worker announced through the proxy stays known past the liveness window while the socket is open",
  T,
  async (t) => {
    const far = new WorkerRunner({ name: "far", ...LIVENESS });
    t.after(() => far.cancel());
    onConnection = async (socket) => {
      await far.addWorkers(new WebSocketProxyServer("gateway", { websocket: socket, workerName: FAR_HUB, remoteWorkerName: "near" }), farHub(Worker));
      await far.start();
    };
    const near = new WorkerRunner({ name: "near", ...LIVENESS });
    t.after(() => near.cancel());
    const known = new Promise((resolve) => near.registry.on("ready", (data) => data.workerName === FAR_HUB && resolve()));
    const gone = new Promise((resolve) => near.registry.on("gone", (data) => data.workerName === FAR_HUB && resolve(data.reason)));
    await near.addWorkers(new WebSocketProxyClient("proxy", { url, remoteWorkerName: FAR_HUB, localWorkerName: "near", active: true, WebSocket }));
    await near.start();
    await known;
    // Four liveness windows without a "gone" event.
    const window = LIVENESS.heartbeatInterval * LIVENESS.heartbeatMisses;
    const quiet = new Promise((resolve) => setTimeout(() => resolve("still known"), 4 * window));
    assert.equal(await Promise.race([gone, quiet]), "still known");
  },
);
