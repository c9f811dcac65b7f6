// PgmqBus: Pipecat's PostgreSQL bus (the pgmq extension) over a `pg` Pool the caller owns.
// Fan-out on point-to-point queues, as Pipecat's DirectPgmqBackend does it: each bus creates its
// own queue `<sanitized channel>_<12 hex digits>`, finds its peers by that prefix in
// `pgmq.list_queues()` (cached for 1 s) and sends every message to each of them; a reader polls
// its own queue and deletes what it has delivered ("archive after dispatch").

import { LocalBus } from "./buses.js";
import { checkCount, checkName, checkOptions, describe } from "./checks.js";
import { log } from "./log.js";
import { checkLimit, deliverWireText, wireTextOf } from "./messages.js";

/** Pipecat's `_sanitize_channel`: a queue-name prefix from any channel string. */
export function sanitizeChannel(channel) {
  let safe = channel.replace(/[^A-Za-z0-9_]/g, "_");
  if (/^[0-9]/.test(safe)) safe = `q_${safe}`;
  return safe.slice(0, 30) || "pipecat_bus";
}

/** Orders pgmq's bigint msg_ids, which pg returns as decimal strings. */
const compareIds = (a, b) => {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

const PEER_LIST_TTL_MS = 1000;
const READ_BACKOFF_MS = 1000;

// The pgmq calls of Pipecat's DirectPgmqBackend (through its Python client), except that reads
// do not block in the server (see `read` below) and a batch is deleted in one call.
const SQL = {
  create: "SELECT pgmq.create($1::text)",
  list: "SELECT queue_name FROM pgmq.list_queues()",
  send: "SELECT pgmq.send($1::text, $2::jsonb)",
  // jsonb's text: the message is decoded by workbus's codec (big integers stay exact).
  read: "SELECT msg_id, message::text AS message FROM pgmq.read($1::text, $2::integer, $3::integer)",
  delete: "SELECT pgmq.delete($1::text, $2::bigint[])",
  drop: "SELECT pgmq.drop_queue($1::text)",
};

/** Why an object given as `pool` cannot work, or undefined. */
function unusablePool(pool) {
  // A pg Client is one connection: it works, but a bus and the caller's own queries share it.
  if (typeof pool.totalCount !== "number" && typeof pool.connect === "function" && pool._connected === false && pool._connecting === false) {
    return "is a pg Client that is not connected: call `await client.connect()` first, or pass a pg Pool";
  }
  if (pool.ending === true || pool.ended === true || pool._ending === true) return "has been ended";
  return undefined;
}

/**
 * A bus joined to every process on a pgmq "channel" (Pipecat's `PgmqBus` with its direct
 * backend), speaking Pipecat's JSON. Pass a `pg` Pool (or anything with pg's `query(text,
 * values)`); the database needs the pgmq extension. Await `ready` before starting runners.
 */
export class PgmqBus extends LocalBus {
  constructor(options) {
    const o = checkOptions(options, "options");
    if (!o.pool || typeof o.pool.query !== "function") {
      throw new TypeError(`options.pool must be a pg Pool (or a connected pg Client), got ${describe(o.pool)}`);
    }
    const problem = unusablePool(o.pool);
    if (problem) throw new TypeError(`options.pool ${problem}`);
    const channel = o.channel === undefined ? "pipecat_bus" : checkName(o.channel, "options.channel");
    const visibilityTimeout = o.visibilityTimeout === undefined ? 30 : checkCount(o.visibilityTimeout, "options.visibilityTimeout");
    const batchSize = o.batchSize === undefined ? 10 : checkCount(o.batchSize, "options.batchSize");
    const pollIntervalMs = o.pollIntervalMs === undefined ? 100 : checkCount(o.pollIntervalMs, "options.pollIntervalMs");
    const maxBytes = checkLimit(o.maxBytes, "options.maxBytes");
    const maxDepth = checkLimit(o.maxDepth, "options.maxDepth");
    const secret = o.secret === undefined ? undefined : checkName(o.secret, "options.secret");
    super();
    this._closed = undefined;
    this.channel = channel;
    /** This bus's own queue, once `ready`. */
    this.queue = undefined;
    const pool = o.pool;
    const prefix = `${sanitizeChannel(channel)}_`;
    const query = async (text, values) => (await pool.query(text, values)).rows;

    // During an outage, report the first failure only, until PostgreSQL works again; reads
    // and sends separately (a queue dropped under the reader leaves sending unharmed).
    const failing = { read: false, send: false };
    const outage = (side, what, e) => {
      if (!failing[side]) this._report(new Error(`${what}: ${e?.message ?? e}`));
      failing[side] = true;
    };

    let peers = null; // { at, names }
    const peerQueues = async () => {
      if (peers && Date.now() - peers.at < PEER_LIST_TTL_MS) return peers.names;
      const names = (await query(SQL.list)).map((r) => r.queue_name).filter((n) => n.startsWith(prefix));
      peers = { at: Date.now(), names };
      return names;
    };

    // Messages leave one at a time, in order; each goes to all peers at once. Our own queue is
    // left out: local subscribers had the message already (docs/decisions.md).
    let sending = Promise.resolve();
    const fanOut = async (text) => {
      let names;
      try {
        names = await peerQueues();
      } catch (e) {
        outage("send", "could not list the pgmq queues", e);
        return;
      }
      failing.send = false;
      await Promise.all(
        names
          .filter((name) => name !== this.queue)
          .map((name) =>
            query(SQL.send, [name, text]).catch((e) => {
              // Usually a peer that left since the list was read; the next publish lists again.
              log("warn", `PgmqBus: could not send to the queue '${name}' (${e?.message ?? e}); listing the peers again`);
              peers = null;
            }),
          ),
      );
    };
    const waiting = [];
    let joined = false;
    const publish = (text) => {
      sending = sending.then(() => fanOut(text));
    };
    // Nothing leaves before our queue exists, so no reply to us can be missed.
    const id = this._core.addLink((message) => {
      const text = wireTextOf(message, secret);
      if (text !== null) joined ? publish(text) : waiting.push(text);
    });

    const deliver = (text) => {
      const message = deliverWireText(this, id, text, { secret, maxBytes, maxDepth });
      // A peer that just joined announces itself: make sure the next publish reaches it.
      if (message?.type === "BusWorkerRegistryMessage") peers = null;
    };

    let closed = false;
    let wake = () => {};
    const pause = (ms) =>
      /** @type {Promise<void>} */ (new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => (clearTimeout(timer), resolve());
      }));
    // Reads without blocking in the server and waits here between empty reads, so that
    // close() is immediate and no connection sits in a poll (docs/decisions.md).
    const readLoop = async () => {
      while (!closed) {
        let rows;
        try {
          rows = await query(SQL.read, [this.queue, visibilityTimeout, batchSize]);
        } catch (e) {
          if (closed) return;
          const ended = unusablePool(pool);
          if (ended) {
            // Nothing can bring an ended pool back: stop rather than retry for ever.
            this._report(new Error(`stopped reading the pgmq queue '${this.queue}': the pool ${ended}; close() the bus before ending its pool`));
            return;
          }
          outage("read", `could not read the pgmq queue '${this.queue}'`, e);
          await pause(READ_BACKOFF_MS);
          continue;
        }
        failing.read = false;
        if (closed) return; // unread: the queue goes with us
        // pgmq.read returns its batch in no set order (an UPDATE's RETURNING): deliver by msg_id,
        // the order the messages were sent in.
        rows.sort((a, b) => compareIds(a.msg_id, b.msg_id));
        for (const row of rows) deliver(row.message);
        if (rows.length > 0) {
          // Archive after dispatch: what failed to go reappears after the visibility timeout.
          await query(SQL.delete, [this.queue, rows.map((r) => r.msg_id)]).catch((e) => {
            if (!closed) this._report(new Error(`could not delete ${rows.length} delivered message(s) from '${this.queue}': ${e?.message ?? e}`));
          });
        } else {
          await pause(pollIntervalMs);
        }
      }
    };

    this.ready = (async () => {
      const name = `${prefix}${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      await query(SQL.create, [name]);
      this.queue = name;
      if (closed) return;
      joined = true;
      waiting.splice(0).forEach(publish);
      readLoop();
    })();
    this.ready.catch(() => {}); // reported where awaited

    this._closePgmq = async () => {
      this._core.removeLink(id);
      closed = true;
      joined = false;
      wake();
      await this.ready.catch(() => {});
      // The reader is not awaited: whatever it has in flight is dropped with the queue.
      await sending;
      if (this.queue !== undefined) {
        await query(SQL.drop, [this.queue]).catch((e) => log("warn", `PgmqBus: could not drop the queue '${this.queue}': ${e?.message ?? e}`));
      }
    };
  }

  /** Stops reading, sends what is on its way, and drops this bus's queue; once. */
  async close() {
    super.close();
    this._closed ??= this._closePgmq();
    await this._closed;
  }
}

