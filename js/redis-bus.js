// RedisBus: a bus over a Redis pub/sub channel, speaking Pipecat's JSON.

import { LocalBus } from "./buses.js";
import { checkName, checkOptions, describe } from "./checks.js";
import { checkLimit, deliverWireText, wireTextOf } from "./messages.js";

const ECHO_MEMORY = 10000;

/**
 * Why a Redis client given to RedisBus cannot work, or undefined. A node-redis client does
 * nothing until `connect()` (its commands fail with "The client is closed"), and an ioredis
 * client whose connection has ended never reconnects; an ioredis client that is connecting,
 * or waiting with `lazyConnect`, connects on its first command and is fine.
 */
function unusableRedisClient(client) {
  if (typeof client.isOpen === "boolean" && !client.isOpen) {
    return "is a node-redis client that is not connected (isOpen is false): call `await client.connect()` before passing it";
  }
  if (client.status === "end") {
    return 'is an ioredis client whose connection has ended (status is "end"): pass a client that is connected or connecting';
  }
  return undefined;
}

/**
 * A bus joined to every process on a Redis pub/sub channel (Pipecat's `RedisBus`), speaking
 * Pipecat's JSON. Pass a connected node-redis or ioredis client; the bus subscribes on a
 * duplicate of it unless given `subscriber`. Await `ready` before starting runners on it.
 */
export class RedisBus extends LocalBus {
  constructor(options) {
    const o = checkOptions(options, "options");
    if (!o.client || typeof o.client.publish !== "function") {
      throw new TypeError(`options.client must be a connected Redis client (node-redis or ioredis), got ${describe(o.client)}`);
    }
    if (o.subscriber !== undefined && (!o.subscriber || typeof o.subscriber.subscribe !== "function")) {
      throw new TypeError(`options.subscriber must be a Redis client, got ${describe(o.subscriber)}`);
    }
    for (const [client, name] of [[o.client, "options.client"], [o.subscriber, "options.subscriber"]]) {
      const problem = client === undefined ? undefined : unusableRedisClient(client);
      if (problem) throw new TypeError(`${name} ${problem}`);
    }
    const channel = o.channel === undefined ? "pipecat:bus" : checkName(o.channel, "options.channel");
    const maxBytes = checkLimit(o.maxBytes, "options.maxBytes");
    const maxDepth = checkLimit(o.maxDepth, "options.maxDepth");
    const secret = o.secret === undefined ? undefined : checkName(o.secret, "options.secret");
    super();
    this.channel = channel;
    const client = o.client;
    const ownSubscriber = o.subscriber === undefined;
    const subscriber = o.subscriber ?? client.duplicate();
    // Redis sends our own messages back; they were delivered here already.
    const echoes = new Map();
    let subscribed = false;
    const waiting = [];
    // During an outage, report the first failure only, until Redis works again.
    let failing = false;
    const outage = (what, e) => {
      if (!failing) this._report(new Error(`${what}: ${e?.message ?? e}`));
      failing = true;
    };
    const publish = (text) => {
      echoes.set(text, (echoes.get(text) ?? 0) + 1);
      if (echoes.size > ECHO_MEMORY) echoes.delete(echoes.keys().next().value);
      Promise.resolve(client.publish(channel, text)).then(
        () => (failing = false),
        (e) => outage("could not publish to Redis", e),
      );
    };
    // Nothing leaves before the subscription is active, so no reply to us can be missed.
    const id = this._core.addLink((message) => {
      const text = wireTextOf(message, secret);
      if (text !== null) subscribed ? publish(text) : waiting.push(text);
    });
    const receive = (text) => {
      const seen = echoes.get(text);
      if (seen !== undefined) {
        if (seen > 1) echoes.set(text, seen - 1);
        else echoes.delete(text);
        return;
      }
      deliverWireText(this, id, text, { secret, maxBytes, maxDepth });
    };
    const isIoredis = typeof subscriber.status === "string";
    // A connection the bus made is the bus's to watch: an unwatched "error" would crash Node.
    if (ownSubscriber && typeof subscriber.on === "function") subscriber.on("error", (e) => outage("Redis subscriber", e));
    this.ready = (async () => {
      if (ownSubscriber && !isIoredis && typeof subscriber.connect === "function" && !subscriber.isOpen) await subscriber.connect();
      if (isIoredis) {
        subscriber.on("message", (ch, text) => ch === channel && receive(text));
        await subscriber.subscribe(channel);
      } else {
        await subscriber.subscribe(channel, (text) => receive(text));
      }
      subscribed = true;
      waiting.splice(0).forEach(publish);
    })();
    this.ready.catch(() => {}); // reported where awaited
    this._closed = undefined;
    this._closeRedis = async () => {
      this._core.removeLink(id);
      subscribed = false;
      if (ownSubscriber) {
        // At once, even while the server is gone (a polite quit would wait for it forever).
        await Promise.resolve(subscriber.disconnect?.() ?? subscriber.destroy?.()).catch(() => {});
      } else {
        await Promise.resolve(subscriber.unsubscribe(channel)).catch(() => {});
      }
    };
  }

  /** Unsubscribes, and closes the subscriber connection if the bus made it; once. */
  async close() {
    super.close();
    this._closed ??= this._closeRedis();
    await this._closed;
  }
}
