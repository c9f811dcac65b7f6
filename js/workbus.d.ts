// Type definitions for workbus.
//
// Conventions: durations are milliseconds and times are `Date.now()`-style milliseconds;
// payloads, responses, updates and stream data are whatever values you pass (in-process they
// are passed by reference). Bad arguments throw `TypeError` (synchronous methods) or reject
// with it (async methods). A worker not attached to a runner throws or rejects with
// `Error("Worker '<w>' is not attached to a runner")`.

// ---------------------------------------------------------------------------------------------
// Platform types: the host's own where its typings declare them (the DOM lib, @types/node),
// else minimal stand-ins, so these typings compile with or without either.
// ---------------------------------------------------------------------------------------------

type HostType<Name extends string, Fallback> = typeof globalThis extends { [K in Name]: { prototype: infer T } } ? T : Fallback;
type HostURL = HostType<"URL", { readonly href: string }>;
type HostResponse = HostType<"Response", never>;
type HostWasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer T } } } ? T : never;
type HostAbortSignal = HostType<"AbortSignal", {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
  throwIfAborted(): void;
}>;
/** An ArrayBuffer, a MessagePort or any other object the platform can transfer. */
type HostTransferable = object;
type HostBufferSource = ArrayBuffer | ArrayBufferView;

// ---------------------------------------------------------------------------------------------
// Disposal (`using` / `await using`)
// ---------------------------------------------------------------------------------------------

// The well-known symbols of explicit resource management, declared as TypeScript's
// `esnext.disposable` lib (and @types/node) declare them, so that the disposal methods below
// type-check without that lib. The `using` syntax itself needs it (`"lib": ["esnext"]` or
// `"esnext.disposable"`); at run time the methods exist where the symbols do (Node >= 20.4,
// recent browsers).
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/**
 * Loads the WebAssembly engine. Browsers, Web Workers and other ESM-only hosts must
 * `await init()` once before using anything else (until then, constructing a worker, runner
 * or bus throws an Error saying so); in Node it is a no-op (the engine loads on
 * import/require). Calling it again is harmless. After bundling, pass the wasm's URL or bytes
 * as `module_or_path` (README, "Bundlers").
 */
export default function init(options?: InitOptions): Promise<void>;

/** Where the browser build finds its WebAssembly module (default: `core_bg.wasm` beside it). */
export interface InitOptions {
  /** A URL, a fetch `Response`, the module's bytes or a compiled `WebAssembly.Module`. */
  module_or_path?: string | HostURL | HostResponse | HostBufferSource | HostWasmModule;
}

/**
 * Loads the WebAssembly engine synchronously from its bytes or a compiled module (browser
 * build); a no-op in Node.
 */
export function initSync(options?: { module: HostBufferSource | HostWasmModule }): void;

/** A log level of workbus's own messages. */
export type LogLevel = "debug" | "warn" | "error";

/**
 * Routes workbus's log lines (listener and handler failures, dropped messages) to `logger`;
 * `null` restores the default, `console.warn` / `console.error`.
 */
export function setLogger(logger: ((level: LogLevel, message: string) => void) | null): void;

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** The final status a worker gives a job. */
export type JobStatus = "completed" | "cancelled" | "failed" | "error";
/** The final status a worker gives a job. */
export declare const JobStatus: {
  /** Success (the default status of a response). */
  readonly COMPLETED: "completed";
  /** The worker handled a cancel, or stopped with the job still active. */
  readonly CANCELLED: "cancelled";
  /** A business or logic failure reported by the handler. */
  readonly FAILED: "failed";
  /** An unexpected runtime error (also what a throwing handler answers). */
  readonly ERROR: "error";
};

/** The kind of an event yielded by a job context. */
export type JobEvent = "update" | "stream_start" | "stream_data" | "stream_end";
/** The kinds of events yielded by a job context. */
export declare const JobEvent: {
  /** A progress update (`job.update(data)`). */
  readonly UPDATE: "update";
  /** `job.streamStart(data)`. */
  readonly STREAM_START: "stream_start";
  /** `job.streamData(data)`. */
  readonly STREAM_DATA: "stream_data";
  /** `job.streamEnd(data)`; also that worker's completion, with `data` as its response. */
  readonly STREAM_END: "stream_end";
};

/** The kind of an event yielded by a job group context (the same values as `JobEvent`). */
export type JobGroupEvent = JobEvent;
/** The kinds of events yielded by a job group context (the same constants as `JobEvent`). */
export declare const JobGroupEvent: typeof JobEvent;

// ---------------------------------------------------------------------------------------------
// Registry data
// ---------------------------------------------------------------------------------------------

/** A worker known to be ready, local or on another runner. */
export interface WorkerReadyData {
  /** The worker's name. */
  workerName: string;
  /** The name of the runner hosting it. */
  runner: string;
}

/** Why a worker left the registry: it stopped, its runner ended, or its runner went silent. */
export type WorkerGoneReason = "stopped" | "runner ended" | "runner silent";

/** A ready instance of a worker, as `registry.instances(name)` lists it. */
export interface WorkerInstance extends WorkerReadyData {
  /**
   * How many of this runner's jobs are pending on that instance, as the choice of an instance
   * counts them: for a pooled name or a worker on another runner. A name whose only instance is
   * on this runner has no choice to make and counts 0.
   */
  pending: number;
}

/** A worker that left the registry (the registry's `"gone"` event). */
export interface WorkerGoneData extends WorkerReadyData {
  /** Why it left. */
  reason: WorkerGoneReason;
}

/** Listener arguments of each registry event. */
export interface WorkerRegistryEventMap {
  /** A worker became ready (local or remote, and again each time it comes back). */
  ready: [data: WorkerReadyData];
  /** A worker left: it stopped, its runner ended, or its runner went silent. */
  gone: [data: WorkerGoneData];
}

/** A registry event name. */
export type WorkerRegistryEventName = keyof WorkerRegistryEventMap;
/** A listener for registry event `E`. Its exceptions are logged and never break delivery. */
export type WorkerRegistryListener<E extends WorkerRegistryEventName> = (...args: WorkerRegistryEventMap[E]) => unknown;

/** A child worker's reported failure (the `"workerFailed"` event). */
export interface WorkerErrorData {
  /** The failing worker. */
  workerName: string;
  /** What it reported through `sendBusErrorMessage`. */
  error: string;
}

/** One ready worker of a runner, as exchanged between runners. */
export interface WorkerRegistryEntry {
  /** The worker's name. */
  name: string;
  /** Its parent worker's name, or `null` for a root worker. */
  parent: string | null;
  /** Whether the worker is active. */
  active: boolean;
  /** Whether the worker bridges pipeline frames. */
  bridged: boolean;
  /** When the worker started (epoch ms), or `null`. */
  startedAt: number | null;
}

// ---------------------------------------------------------------------------------------------
// Bus messages (Pipecat's catalogue as plain objects, fields in camelCase)
// ---------------------------------------------------------------------------------------------

/** Fields every message object has. Message objects may carry extra keys. */
export interface BusMessageBase<T extends string = string> {
  /** Pipecat's class name, e.g. `"BusJobUpdateMessage"`. */
  type: T;
  /** The sending worker or runner. */
  source: string;
  /** The receiving worker, or `null` for a broadcast. */
  target: string | null;
}

/** A frame's direction in a pipeline. */
export type FrameDirection = "DOWNSTREAM" | "UPSTREAM";

/** A bare data-lane message. */
export interface BusDataMessage extends BusMessageBase<"BusDataMessage"> {}
/** A bare system-lane (high priority) message. */
export interface BusSystemMessage extends BusMessageBase<"BusSystemMessage"> {}
/** A pipeline frame carried over the bus. */
export interface BusFrameMessage extends BusMessageBase<"BusFrameMessage"> {
  /** The frame, opaque (`{ __type__, __data__ }` when it came over a Pipecat transport). */
  frame: unknown;
  /** The frame's direction. */
  direction: FrameDirection;
  /** The bridge tag, or `null`. */
  bridge: string | null;
}
/** Asks a pipeline worker to speak a text. */
/** A flush probe from another worker is still making progress (pipeline workers). */
export interface BusFlushProgressMessage extends BusMessageBase<"BusFlushProgressMessage"> {
  /** The probe's id. */
  flushId: number;
}

export interface BusTTSSpeakMessage extends BusMessageBase<"BusTTSSpeakMessage"> {
  /** The text to speak. */
  text: string;
  /** Whether the text is added to the LLM context (Pipecat's default: true). */
  appendToContext: boolean;
}
/** Activates the target worker. */
export interface BusActivateWorkerMessage extends BusMessageBase<"BusActivateWorkerMessage"> {
  /** The activation args in wire form, or `null`. */
  args: Record<string, unknown> | null;
}
/** Deactivates the target worker. */
export interface BusDeactivateWorkerMessage extends BusMessageBase<"BusDeactivateWorkerMessage"> {}
/** Asks every other runner on the bus to end. */
export interface BusEndMessage extends BusMessageBase<"BusEndMessage"> {
  /** Why, or `null`. */
  reason: string | null;
}
/** Asks the target worker to end gracefully. */
export interface BusEndWorkerMessage extends BusMessageBase<"BusEndWorkerMessage"> {
  /** Why, or `null`. */
  reason: string | null;
}
/** Asks every other runner on the bus to cancel. */
export interface BusCancelMessage extends BusMessageBase<"BusCancelMessage"> {
  /** Why, or `null`. */
  reason: string | null;
}
/** Asks the target worker to stop at once. */
export interface BusCancelWorkerMessage extends BusMessageBase<"BusCancelWorkerMessage"> {
  /** Why, or `null`. */
  reason: string | null;
}
/** Local only: hands a worker to the runner. */
export interface BusAddWorkerMessage extends BusMessageBase<"BusAddWorkerMessage"> {
  /** The worker object itself. */
  worker: Worker;
}
/** A runner's snapshot of its ready workers. */
export interface BusWorkerRegistryMessage extends BusMessageBase<"BusWorkerRegistryMessage"> {
  /** The runner's name. */
  runner: string;
  /** Its ready workers. */
  workers: WorkerRegistryEntry[];
}
/** Broadcast when a worker becomes ready. */
export interface BusWorkerReadyMessage extends BusMessageBase<"BusWorkerReadyMessage"> {
  /** The hosting runner's name. */
  runner: string;
  /** The worker's parent, or `null` for a root worker. */
  parent: string | null;
  /** Whether the worker is active. */
  active: boolean;
  /** Whether the worker bridges pipeline frames. */
  bridged: boolean;
  /** When the worker started (epoch ms), or `null`. */
  startedAt: number | null;
}
/** A root worker's reported failure. */
export interface BusWorkerErrorMessage extends BusMessageBase<"BusWorkerErrorMessage"> {
  /** The error text. */
  error: string;
}
/** Local only: a child worker's reported failure, for its parent. */
export interface BusWorkerLocalErrorMessage extends BusMessageBase<"BusWorkerLocalErrorMessage"> {
  /** The error text. */
  error: string;
}
/** A job request, targeted at the worker that should handle it. */
export interface BusJobRequestMessage extends BusMessageBase<"BusJobRequestMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The job name, or `null` for an unnamed job. */
  jobName: string | null;
  /** The payload (`undefined` or `null` when none). */
  payload: unknown;
}
/** A worker's final answer to a job. */
export interface BusJobResponseMessage extends BusMessageBase<"BusJobResponseMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The final status. */
  status: JobStatus;
  /** The response (`undefined` or `null` when none). */
  response: unknown;
}
/** A worker's final answer to a job, on the system lane. */
export interface BusJobResponseUrgentMessage extends BusMessageBase<"BusJobResponseUrgentMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The final status. */
  status: JobStatus;
  /** The response (`undefined` or `null` when none). */
  response: unknown;
}
/** A progress update for a job. */
export interface BusJobUpdateMessage extends BusMessageBase<"BusJobUpdateMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The update. */
  update: unknown;
}
/** A progress update for a job, on the system lane. */
export interface BusJobUpdateUrgentMessage extends BusMessageBase<"BusJobUpdateUrgentMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The update. */
  update: unknown;
}
/** The requester asks the worker for an update. */
export interface BusJobUpdateRequestMessage extends BusMessageBase<"BusJobUpdateRequestMessage"> {
  /** The job (group) id. */
  jobId: string;
}
/** The requester cancels a job. */
export interface BusJobCancelMessage extends BusMessageBase<"BusJobCancelMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** Why, or `null`. */
  reason: string | null;
}
/** A worker starts streaming a job's output. */
export interface BusJobStreamStartMessage extends BusMessageBase<"BusJobStreamStartMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The data sent with the start. */
  data: unknown;
}
/** A chunk of a job's streamed output. */
export interface BusJobStreamDataMessage extends BusMessageBase<"BusJobStreamDataMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The chunk. */
  data: unknown;
}
/** A worker ends streaming; this completes its part of the job with `data` as the response. */
export interface BusJobStreamEndMessage extends BusMessageBase<"BusJobStreamEndMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The final data (recorded as that worker's response). */
  data: unknown;
}
/** A client UI event, for UI workers. */
export interface BusUIEventMessage extends BusMessageBase<"BusUIEventMessage"> {
  /** The event name (`"__cancel_job_group"` is reserved). */
  eventName: string;
  /** The event payload. */
  payload: unknown;
}
/** A command for the client UI. */
export interface BusUICommandMessage extends BusMessageBase<"BusUICommandMessage"> {
  /** The command name. */
  commandName: string;
  /** The command payload. */
  payload: unknown;
}
/** A UI worker started a job group. */
export interface BusUIJobGroupStartedMessage extends BusMessageBase<"BusUIJobGroupStartedMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The group's worker names, or `null`. */
  workers: string[] | null;
  /** The group's label, or `null`. */
  label: string | null;
  /** Whether the UI may cancel the group. */
  cancellable: boolean;
  /** When (epoch ms). */
  at: number;
}
/** A member of a UI worker's job group sent an update. */
export interface BusUIJobUpdateMessage extends BusMessageBase<"BusUIJobUpdateMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The member that sent it. */
  workerName: string;
  /** The update. */
  data: unknown;
  /** When (epoch ms). */
  at: number;
}
/** A member of a UI worker's job group finished. */
export interface BusUIJobCompletedMessage extends BusMessageBase<"BusUIJobCompletedMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** The member that finished. */
  workerName: string;
  /** Its status (a `JobStatus` value). */
  status: string;
  /** Its response. */
  response: unknown;
  /** When (epoch ms). */
  at: number;
}
/** A UI worker's job group finished (completed or cancelled). */
export interface BusUIJobGroupCompletedMessage extends BusMessageBase<"BusUIJobGroupCompletedMessage"> {
  /** The job (group) id. */
  jobId: string;
  /** When (epoch ms). */
  at: number;
}

/** Any message object, discriminated by `type`. */
export type BusMessage =
  | BusDataMessage
  | BusSystemMessage
  | BusFrameMessage
  | BusTTSSpeakMessage
  | BusFlushProgressMessage
  | BusActivateWorkerMessage
  | BusDeactivateWorkerMessage
  | BusEndMessage
  | BusEndWorkerMessage
  | BusCancelMessage
  | BusCancelWorkerMessage
  | BusAddWorkerMessage
  | BusWorkerRegistryMessage
  | BusWorkerReadyMessage
  | BusWorkerErrorMessage
  | BusWorkerLocalErrorMessage
  | BusJobRequestMessage
  | BusJobResponseMessage
  | BusJobResponseUrgentMessage
  | BusJobUpdateMessage
  | BusJobUpdateUrgentMessage
  | BusJobUpdateRequestMessage
  | BusJobCancelMessage
  | BusJobStreamStartMessage
  | BusJobStreamDataMessage
  | BusJobStreamEndMessage
  | BusUIEventMessage
  | BusUICommandMessage
  | BusUIJobGroupStartedMessage
  | BusUIJobUpdateMessage
  | BusUIJobCompletedMessage
  | BusUIJobGroupCompletedMessage;

/** Every message type name. */
export type BusMessageType = BusMessage["type"];
/** The message object of one type, e.g. `BusMessageOf<"BusJobCancelMessage">`. */
export type BusMessageOf<T extends BusMessageType> = Extract<BusMessage, { type: T }>;

/** The message types that never leave their process (`sendBusMessage` refuses them). */
export type LocalOnlyBusMessageType = "BusAddWorkerMessage" | "BusWorkerLocalErrorMessage";
/**
 * A message for `worker.sendBusMessage`: `type`, `target` (none or `null` broadcasts) and the
 * type's fields in camelCase; `source` is the sending worker. Fields with a Pipecat default may
 * be left out; a required one that is missing is a `TypeError` at run time.
 */
export type OutgoingBusMessage = {
  [T in Exclude<BusMessageType, LocalOnlyBusMessageType>]: { type: T; source?: string; target?: string | null } & Partial<
    Omit<BusMessageOf<T>, "type" | "source" | "target">
  >;
}[Exclude<BusMessageType, LocalOnlyBusMessageType>];

// ---------------------------------------------------------------------------------------------
// Bus
// ---------------------------------------------------------------------------------------------

declare const busBrand: unique symbol;

/**
 * A message bus that runners attach to. `LocalBus` is the in-process default; transports that
 * carry the same messages to other runners are buses too.
 */
export interface Bus {
  /** Type-level marker only (no such property exists at run time). */
  readonly [busBrand]: true;
}

/**
 * A postMessage endpoint: a Web Worker, a MessagePort, a worker's own global scope (`self`), or
 * Node's `worker_threads` Worker, MessagePort or `parentPort`.
 */
export interface Endpoint {
  postMessage(message: unknown, transfer?: HostTransferable[]): void;
}

/** One link of a bus to another realm. */
export interface BusLink {
  /** Stops carrying messages through this link. */
  close(): void;
}

/**
 * The embedded in-process bus. A runner creates one when none is given. It can be linked to
 * other realms: what has to leave crosses the links as structured clones, and what arrives is
 * delivered here and relayed to the other links (link realms as a tree, not a cycle).
 */
export declare class LocalBus implements Bus {
  /** Type-level marker only. */
  readonly [busBrand]: true;
  /** A new, empty in-process bus; share it between runners to connect them. */
  constructor();
  /** Links a postMessage endpoint; a `TypeError` if it is not one. */
  connect(endpoint: Endpoint): BusLink;
  /** Links a `BroadcastChannel` of that name (every same-origin page and worker on it). */
  connectChannel(name: string): BusLink;
  /** Closes every link. */
  close(): void;
  /** `using bus = …`: closes every link (as `close()`). */
  [Symbol.dispose](): void;
  /** `await using bus = …`: closes every link; for a `RedisBus`, also unsubscribes. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * `"error"`: a malformed message arrived on a link and was dropped, a link refused a value
   * it cannot carry (`cause`: the link's error, e.g. a `DataCloneError`), or a realm started by
   * `spawnWorker` failed after it was spawned (`cause`: the realm's error). Each is also logged.
   */
  on(event: "error", listener: (error: Error) => unknown): this;
  /** `"message"`: every message routed through this bus, whatever its target (a bus log). */
  on(event: "message", listener: (message: BusMessage) => unknown): this;
  /** Removes a listener (also one added with `once`). */
  off(event: "error", listener: (error: Error) => unknown): this;
  off(event: "message", listener: (message: BusMessage) => unknown): this;
  /** Adds a listener that runs at most once. */
  once(event: "error", listener: (error: Error) => unknown): this;
  once(event: "message", listener: (message: BusMessage) => unknown): this;
}

/** A bus linked to one postMessage endpoint (more can be linked with `connect`). */
export declare class MessagePortBus extends LocalBus {
  /** A `TypeError` if `endpoint` is not a Worker, a MessagePort or a worker's global scope. */
  constructor(endpoint: Endpoint);
}

/** A bus linked to a `BroadcastChannel` (every same-origin page and worker; Node's worker threads). */
export declare class BroadcastChannelBus extends LocalBus {
  constructor(name: string);
}

/** Limits on what a decoder accepts from a peer. */
export interface DecodeLimits {
  /** Bytes of JSON text (default 16 MiB). */
  maxBytes?: number;
  /** Nesting of arrays and objects (default 64). */
  maxDepth?: number;
}

/** A message object in Pipecat's JSON envelope (`JSONMessageSerializer`'s text); a `TypeError` for a local-only or malformed one. */
export function encodeMessage(message: BusMessage): string;

/**
 * A message object from Pipecat's JSON text (or its UTF-8 bytes): `null` for a type outside
 * Pipecat's catalogue (tags are never resolved beyond it); an `Error` naming the problem when
 * the text is malformed, too big or too deep.
 */
export function decodeMessage(text: string | Uint8Array | ArrayBuffer, limits?: DecodeLimits): BusMessage | null;

/** The part of a Redis client (node-redis 4+ or ioredis) that `RedisBus` uses. */
export interface RedisClientLike {
  publish(channel: string, message: string): unknown;
  subscribe(channel: string, ...rest: never[]): unknown;
  duplicate(): RedisClientLike;
}

/** Options of `RedisBus`. */
export interface RedisBusOptions extends DecodeLimits {
  /**
   * A connected node-redis or ioredis client, used to publish. A node-redis client that is not
   * open (`isOpen` false) or an ioredis client whose connection ended (`status` "end") throws a
   * `TypeError`; an ioredis client with `lazyConnect` connects on first use.
   */
  client: RedisClientLike;
  /** A connection to subscribe on (default: `client.duplicate()`, connected and closed by the bus). */
  subscriber?: RedisClientLike;
  /** The pub/sub channel (default `"pipecat:bus"`, as Pipecat's). */
  channel?: string;
  /**
   * A shared secret: messages are sealed with HMAC-SHA256 and only sealed, fresh (≤ 60 s)
   * messages with a matching code are accepted. Only workbus peers with the same secret can then
   * talk on the channel (Python Pipecat does not seal). See docs/security.md.
   */
  secret?: string;
}

/**
 * A bus joined to every process on a Redis pub/sub channel, speaking Pipecat's JSON: Python
 * Pipecat runners on the same channel are peers. Await `ready` before starting runners on it.
 */
export declare class RedisBus extends LocalBus {
  constructor(options: RedisBusOptions);
  /** The pub/sub channel. */
  readonly channel: string;
  /** Resolves once subscribed (nothing is published before). */
  readonly ready: Promise<void>;
  /** Unsubscribes, and closes the subscriber if the bus created it. */
  close(): Promise<void>;
}

/** The part of a `pg` Pool (or connected Client) that `PgmqBus` uses. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): PromiseLike<{ rows: any[] }>;
}

/** Options of `PgmqBus`. */
export interface PgmqBusOptions extends DecodeLimits {
  /**
   * A `pg` Pool (or a connected `pg` Client) on a database with the pgmq extension; the caller
   * keeps it and ends it after `close()`. An ended pool or an unconnected Client throws a
   * `TypeError`.
   */
  pool: PgQueryable;
  /** The channel (default `"pipecat_bus"`, as Pipecat's): queues are named after it. */
  channel?: string;
  /** Seconds a read message stays invisible before it is read again (default 30). */
  visibilityTimeout?: number;
  /** Messages fetched per read (default 10). */
  batchSize?: number;
  /** Milliseconds between reads of an empty queue (default 100). */
  pollIntervalMs?: number;
  /** A shared secret, as for `RedisBus` (Python Pipecat does not seal). */
  secret?: string;
}

/**
 * A bus joined to every process on a pgmq channel of one PostgreSQL database (Pipecat's
 * `PgmqBus` with its direct backend), speaking Pipecat's JSON: Python Pipecat runners on the same
 * channel are peers. Await `ready` before starting runners on it.
 */
export declare class PgmqBus extends LocalBus {
  constructor(options: PgmqBusOptions);
  /** The channel. */
  readonly channel: string;
  /** This bus's own queue (`<sanitized channel>_<12 hex digits>`), once `ready`. */
  readonly queue: string | undefined;
  /** Resolves once this bus's queue exists (nothing is sent before). */
  readonly ready: Promise<void>;
  /** Stops reading, sends what is on its way, and drops this bus's queue. */
  close(): Promise<void>;
}

/** Options of `WebSocketProxyClient`. */
export interface WebSocketProxyClientOptions {
  /** The `WebSocketProxyServer` endpoint, `ws://` or `wss://`. */
  url: string | HostURL;
  /** The worker on the server side this proxy reaches. */
  remoteWorkerName: string;
  /** The worker on this side that the server side answers. */
  localWorkerName: string;
  /** Message types that also cross when `localWorkerName` sends them, e.g. `"BusFrameMessage"`. */
  forwardMessages?: string[];
  /** Headers of the upgrade request (Node's `ws` only; browsers cannot set them). */
  headers?: Record<string, string>;
  /** Connect at start (default false: like Pipecat's, it connects when activated). */
  active?: boolean;
  /** The WebSocket class (default `globalThis.WebSocket`; in Node 20, the `ws` package's). */
  WebSocket?: new (url: string, ...rest: never[]) => unknown;
}

/** Joins this runner to a Python Pipecat `WebSocketProxyServer`, following Pipecat's proxy protocol. */
export declare class WebSocketProxyClient extends Worker {
  constructor(name: string, options: WebSocketProxyClientOptions);
  /** Whether the socket is open. */
  readonly connected: boolean;
}

/**
 * An accepted WebSocket a `WebSocketProxyServer` can drive: the `ws` package's (Node, Bun),
 * `Deno.upgradeWebSocket`'s (served once it opens), or any standard WebSocket.
 */
export interface AcceptedWebSocket {
  /** Called with a `Uint8Array` (binary frames); typed loosely so that every socket type fits. */
  send(data: never): unknown;
  close(): unknown;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => unknown, options?: { once?: boolean }): unknown;
  readonly readyState?: number;
  binaryType?: string;
}

/** Options of `WebSocketProxyServer` (Pipecat's parameters in camelCase). */
export interface WebSocketProxyServerOptions {
  /** The client's connection, already accepted by the application. */
  websocket: AcceptedWebSocket;
  /** The local worker this proxy serves (announced to the client when it is ready). */
  workerName: string;
  /** The worker on the client side that `workerName` answers. */
  remoteWorkerName: string;
  /** Message types that cross whatever their target, e.g. `"BusFrameMessage"`. */
  forwardMessages?: string[];
}

/** Listener arguments of the proxy server's own events. */
export interface WebSocketProxyServerEventMap {
  /** The proxy started serving the client (Pipecat's `on_client_connected`). */
  clientConnected: [websocket: AcceptedWebSocket];
  /** The client left, or the proxy stopped and closed the socket (`on_client_disconnected`). */
  clientDisconnected: [websocket: AcceptedWebSocket];
}

/**
 * The server half of Pipecat's WebSocket proxy: serves the local worker `workerName` to one
 * client proxy (workbus's `WebSocketProxyClient` or Python Pipecat's) over an accepted socket.
 * It announces `workerName` to the client once it is ready; messages from `workerName` to
 * `remoteWorkerName` (or of a `forwardMessages` type) cross to the client; messages from the
 * client for `workerName` (or of a forwarded type) are delivered here, everything else is
 * dropped with a warning. Sends binary frames; accepts text or binary.
 */
export declare class WebSocketProxyServer extends Worker {
  constructor(name: string, options: WebSocketProxyServerOptions);
  /** Whether the client is still connected. */
  readonly connected: boolean;
  on<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
  on<E extends keyof WebSocketProxyServerEventMap>(event: E, listener: (...args: WebSocketProxyServerEventMap[E]) => unknown): this;
  off<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
  off<E extends keyof WebSocketProxyServerEventMap>(event: E, listener: (...args: WebSocketProxyServerEventMap[E]) => unknown): this;
  once<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
  once<E extends keyof WebSocketProxyServerEventMap>(event: E, listener: (...args: WebSocketProxyServerEventMap[E]) => unknown): this;
}

/**
 * Pipecat's `BaseUIWorker`: a worker whose job groups show on a client UI. Every group it
 * requests (through `job`, `jobGroup`, `requestJob`, …) is reported as broadcast UI messages:
 * `BusUIJobGroupStartedMessage` once sent, `BusUIJobUpdateMessage` per update,
 * `BusUIJobCompletedMessage` per worker's answer or stream end, and one
 * `BusUIJobGroupCompletedMessage` when the group completes or is cancelled (workers it cut short
 * are reported `"cancelled"`; later answers add nothing). A `BusUIEventMessage` named
 * `"__cancel_job_group"`, broadcast or addressed to it, with the payload `{ job_id, reason? }`
 * cancels that group if it is cancellable (reason `"cancelled by user"` by default); a malformed
 * one is ignored with a warning.
 */
export declare class UIWorker extends Worker {
  constructor(name: string, options?: WorkerOptions);
}

/** A worker realm started by `spawnWorker`. */
export interface RemoteRealm {
  /** The realm's runner name. */
  readonly runner: string;
  /** The workers it announced. */
  readonly workers: string[];
  /** The platform worker (a Web Worker, or a Node `worker_threads` Worker). */
  readonly worker: Endpoint & { terminate(): unknown };
  /** Terminates the realm; jobs pending on its workers fail at once with "worker '<w>' stopped". */
  terminate(): Promise<void>;
  /** `await using realm = await spawnWorker(…)`: terminates the realm (as `terminate()`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A pool of worker realms started by `spawnWorker(runner, script, { instances })`: N realms of
 * one script, each hosting the same workers. A job (or a group member) to a pooled name runs on
 * exactly one instance, chosen by the requesting runner.
 */
export interface RealmPool {
  /** The instances, in start order (instance `i` is named `${options.name}-${i + 1}`). */
  readonly instances: RemoteRealm[];
  /** The workers the instances announced. */
  readonly workers: string[];
  /** The instances' runner names, in the order of `instances`. */
  readonly runners: string[];
  /** Terminates every instance; jobs pending on them fail with "worker '<w>' stopped". */
  terminate(): Promise<void>;
  /** `await using pool = await spawnWorker(…, { instances })`: terminates every instance (as `terminate()`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of `spawnWorker`. */
export interface SpawnWorkerOptions {
  /** The platform worker's name (with `instances`, instance `i` is named `${name}-${i + 1}`). */
  name?: string;
  /** Milliseconds to wait for the realm (each instance of a pool) to announce its workers (default 10000). */
  timeout?: number;
}

/** Options of `spawnWorker` starting a pool. */
export interface SpawnPoolOptions extends SpawnWorkerOptions {
  /**
   * How many realms of the script to start in parallel (a whole number >= 1). If one fails to
   * start, the others are terminated and `spawnWorker` rejects with its error.
   */
  instances: number;
}

/**
 * Starts `script` as a module Web Worker (or a Node worker thread), links it to `runner.bus`,
 * and resolves once the realm's runner has announced its workers (they are then in
 * `runner.registry`). The realm is terminated when `runner` finishes.
 *
 * Rejects at once (not after `timeout`) with an `Error` naming the script when the script
 * cannot be loaded or throws while loading; its `cause` is the realm's error (in Node the
 * thrown value; in browsers an `Error` with the `ErrorEvent`'s message, as browsers do not hand
 * over the worker's own error). A realm that fails later is reported on `runner.bus`'s
 * `"error"` event and terminated: its workers are gone and jobs pending on them fail with
 * `"worker '<w>' stopped"`. Never an unhandled error, in Node or on the page.
 */
export function spawnWorker(runner: WorkerRunner, script: string | HostURL | (Endpoint & { terminate(): unknown }), options?: SpawnWorkerOptions & { instances?: undefined }): Promise<RemoteRealm>;
/**
 * Starts `options.instances` realms of `script` in parallel (each as above) and resolves with
 * the pool once every one has announced its workers.
 */
export function spawnWorker(runner: WorkerRunner, script: string | HostURL, options: SpawnPoolOptions): Promise<RealmPool>;

/** Options of `serveWorkers`. */
export interface ServeWorkersOptions {
  /** The realm's runner name (default `"runner-<8 hex>"`). */
  name?: string;
  /** Where to serve (default: `self` in a Web Worker, `parentPort` in a worker thread). */
  endpoint?: Endpoint;
  /** Milliseconds between heartbeats (default 1000). */
  heartbeatInterval?: number;
  /** Heartbeats a peer may miss before it is considered gone (default 3). */
  heartbeatMisses?: number;
}

/** In a worker realm: serves `workers` to the realm that started it; resolves with the started runner. */
export function serveWorkers(workers: Worker[], options?: ServeWorkersOptions): Promise<WorkerRunner>;

/**
 * Marks `value` (a payload, response, update or stream data) so that `transferables` are moved,
 * not copied, when it crosses a postMessage link. Returns `value`.
 */
export function transfer<T extends object>(value: T, transferables: HostTransferable[]): T;

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

/** How to request a job. */
export interface JobParams {
  /** The job name, matched against `onJob(name, …)` handlers; unnamed jobs go to the default handler. */
  name?: string;
  /** The payload handed to the handler (`job.payload`), by reference in-process. */
  payload?: unknown;
  /** One deadline in ms covering the wait for readiness and the job; fails with `"timeout"` or `"workers not ready within timeout"`. No deadline when absent. */
  timeout?: number;
  /** A label carried by the job group. */
  label?: string;
  /** Whether `requestCancelJobGroup` may cancel it (default true). Own cancels, timeouts and shutdown always cancel. */
  cancellable?: boolean;
  /**
   * How many times the job may be sent again to another live instance of the worker when the
   * instance running it stops or goes silent before answering (a whole number >= 0, default 0),
   * within the same `timeout`. Answers (`error`, `failed`, `cancelled`) are never retried.
   */
  retries?: number;
  /**
   * Aborting it cancels the job. The reason: the signal's reason if it is a string, `"timeout"`
   * for `AbortSignal.timeout`, `"cancelled"` for `abort()` with no reason, an `Error`'s
   * `message`; the `JobError`'s `cause` is the signal's reason.
   */
  signal?: HostAbortSignal;
}

/** How to request a job group. */
export interface JobGroupParams extends JobParams {
  /** Cancel the whole group when a member answers `error` or `failed` (default true). */
  cancelOnError?: boolean;
}

/** An event yielded by iterating a job context. */
export interface JobEventData {
  /** What happened. */
  type: JobEvent;
  /** The data the worker sent with it. */
  data: unknown;
}

/** An event yielded by iterating a job group context. */
export type JobGroupEventData = JobEventData & {
  /** The group member that sent it. */
  workerName: string;
};

/**
 * A job requested with `job()`. `await ctx` gives the response or rejects with a `JobError`;
 * `for await (const ev of ctx)` yields the events in arrival order (none are lost if the loop
 * starts late), ends when the job completes and throws the job's error when it fails. `break`
 * does not cancel the job. A context never causes an unhandled rejection by itself.
 */
export interface JobContext<R = unknown> extends AsyncIterable<JobEventData>, PromiseLike<R> {
  /** The job id, set once the request is sent. */
  readonly jobId: string | undefined;
  /** Resolves with the job id once sent; rejects with the context's error if never sent. */
  readonly started: Promise<string>;
  /** The response once completed, else `undefined`. */
  readonly response: R | undefined;
  /** The final status a worker answered, if any. */
  readonly status: JobStatus | undefined;
  /** Cancels the job (reason defaults to `"cancelled"`); works before the request is sent too. */
  cancel(reason?: string): Promise<void>;
  /** `using ctx = runner.job(…)`: cancels the job if it has not finished (reason `"cancelled"`). */
  [Symbol.dispose](): void;
  /** The same, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A job group requested with `jobGroup()`. `await group` gives the responses keyed by worker
 * name, or rejects with a `JobGroupError`; `for await` yields every member's events with its
 * `workerName`.
 */
export interface JobGroupContext<R = Record<string, unknown>>
  extends AsyncIterable<JobGroupEventData>,
    PromiseLike<R> {
  /** The job id, set once the requests are sent. */
  readonly jobId: string | undefined;
  /** Resolves with the job id once sent; rejects with the context's error if never sent. */
  readonly started: Promise<string>;
  /** The responses received so far, keyed by worker name. */
  readonly responses: Partial<R>;
  /** Cancels the group (reason defaults to `"cancelled"`); works before the requests are sent too. */
  cancel(reason?: string): Promise<void>;
  /** `using group = runner.jobGroup(…)`: cancels the group if it has not finished (reason `"cancelled"`). */
  [Symbol.dispose](): void;
  /** The same, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A job group as tracked by the worker that requested it. */
export interface JobGroup {
  /** The job id (a UUID). */
  jobId: string;
  /** The members, in dispatch order. */
  workerNames: readonly string[];
  /** The responses so far, keyed by worker name. */
  responses: Record<string, unknown>;
  /** Whether a member's error cancels the group. */
  cancelOnError: boolean;
  /** The label, if any. */
  label?: string;
  /** Whether `requestCancelJobGroup` may cancel it. */
  cancellable: boolean;
  /** Whether the group has completed or failed. */
  readonly isDone: boolean;
  /** Resolves when the group completes; rejects with a `JobGroupError` when it fails. */
  wait(): Promise<void>;
}

/** The argument of the `"jobCompleted"` event. */
export interface JobGroupResponse {
  /** The job id. */
  jobId: string;
  /** Every member's response, keyed by worker name. */
  responses: Record<string, unknown>;
}

/** Extra fields of a `JobError`. */
export interface JobErrorOptions {
  /** The job id, if the job was sent. */
  jobId?: string;
  /** The worker whose answer caused the failure. */
  workerName?: string;
  /** That worker's status. */
  status?: JobStatus;
  /** That worker's response (e.g. `{ error }` from a throwing handler). */
  response?: unknown;
  /** The underlying cause. */
  cause?: unknown;
}

/**
 * A failed job. `message` and `reason` are Pipecat's strings: `"timeout"`,
 * `"workers not ready within timeout"`, `"worker '<w>' errored"`, `"worker '<w>' stopped"`,
 * `"context exited with error"`, `"runner exiting"`, a cancel's reason, or `"cancelled"`.
 * `name` is `"JobError"`.
 */
export declare class JobError extends Error {
  /** A new job error with `message` = `reason`. */
  constructor(reason: string, options?: JobErrorOptions);
  /** Why the job failed (the same as `message`). */
  reason: string;
  /** The job id, if the job was sent. */
  jobId?: string;
  /** Set when a worker's answer caused the failure: that worker. */
  workerName?: string;
  /** Set when a worker's answer caused the failure: its status. */
  status?: JobStatus;
  /** Set when a worker's answer caused the failure: its response, e.g. `{ error: "…" }`. */
  response?: unknown;
  /**
   * What caused it. When a worker's handler threw or rejected: the thrown value (in-process the
   * very object; across realms an `Error` rebuilt with the same `name`, `message` and `stack`;
   * from a Pipecat peer `new Error(response.error)`). When an abort signal cancelled the job:
   * the signal's reason.
   */
  cause?: unknown;
}

/** A failed job group; `name` is `"JobGroupError"`. `instanceof JobError` catches it too. */
export declare class JobGroupError extends JobError {
  /** A new job group error with `message` = `reason`. */
  constructor(reason: string, options?: JobErrorOptions & { responses?: Record<string, unknown> });
  /** The responses received before the failure, keyed by worker name. */
  responses: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

/** A job as its handler sees it. `P` is the payload type you expect (unchecked). */
export interface JobRequest<P = unknown> {
  /** The job id. */
  readonly id: string;
  /** The job name, or `null` for an unnamed job. */
  readonly name: string | null;
  /** The payload the requester sent (by reference in-process). */
  readonly payload: P;
  /** The requester (a worker or runner name). */
  readonly source: string;
  /** Which try this is: 1 first, 2 for the first retry (`JobParams.retries`) on another instance. */
  readonly attempt: number;
  /** Aborts when the job is cancelled or the worker stops. */
  readonly signal: HostAbortSignal;
  /**
   * Sends a progress update to the requester; the job stays active. Rejects (with the link's
   * error as `cause`, e.g. a `DataCloneError`) when `data` cannot cross to the requester's realm;
   * the stream calls below do the same, and the job then stays active.
   */
  update(data?: unknown, options?: { urgent?: boolean }): Promise<void>;
  /** Starts streaming output. */
  streamStart(data?: unknown): Promise<void>;
  /** Sends a chunk of streamed output. */
  streamData(data?: unknown): Promise<void>;
  /** Ends streaming; this completes the job with `data` as its response. */
  streamEnd(data?: unknown): Promise<void>;
  /**
   * Answers the job (status defaults to `"completed"`); the job is no longer active. A response
   * that cannot cross to the requester's realm is replaced by an `"error"` answer
   * `{ error: <the link's error message> }`.
   */
  respond(response?: unknown, options?: { status?: JobStatus; urgent?: boolean }): Promise<void>;
}

/**
 * Handles a job. If the job is still active when the handler settles, a returned value `v`
 * answers `completed` with `v ?? {}`, and a thrown error `e` answers `error` with
 * `{ error: e.message ?? String(e) }`.
 */
export type JobHandler<P = unknown> = (job: JobRequest<P>) => unknown | Promise<unknown>;

/** The payload and response types of one named job, as a worker's handler declares them. */
export interface JobTypes<P = unknown, R = unknown> {
  payload: P;
  response: R;
}

/** Job name → `JobTypes`: the named jobs a worker's `onJob` calls declared. */
export type JobTypeMap = { [jobName: string]: JobTypes };

// Where a worker's type records its named handlers: type-only, there is no such property.
declare const handledJobs: unique symbol;

/**
 * A worker whose named handlers are known to the type checker: what `onJob(name, handler)`
 * returns. `runner.job(worker, { name, payload })` checks the payload against the handler's
 * `JobRequest<P>` and types the response as the handler's return value.
 */
export interface HandlesJobs<J extends JobTypeMap> {
  readonly [handledJobs]?: J;
}

/** The named jobs recorded in a worker's type (`{}` when none are). */
export type JobsOf<W> = W extends { readonly [handledJobs]?: infer J } ? (J extends JobTypeMap ? J : {}) : {};

/**
 * The response type a handler returning `R` gives: a returned `v` answers `v ?? {}`; a handler
 * that returns nothing (it answers with `job.respond` or `job.streamEnd`) gives `unknown`.
 */
export type HandlerResponse<R> = [Awaited<R>] extends [void] ? unknown : Awaited<R> extends null | undefined | void ? {} : Awaited<R>;

/** What `onJob(name, handler)` adds to a worker's type (nothing for a name that is not a literal). */
export type WithJob<W, N extends string, P, R> = string extends N ? W : W & HandlesJobs<{ [K in N]: JobTypes<P, HandlerResponse<R>> }>;

/**
 * The params of a job named `N` of a worker whose jobs are `J`: `name` is required, and
 * `payload` is required unless the handler accepts `undefined` (or does not say).
 */
export type TypedJobParams<J extends JobTypeMap, N extends keyof J & string> = Omit<JobParams, "name" | "payload"> & { name: N } & (unknown extends J[N]["payload"]
    ? { payload?: unknown }
    : undefined extends J[N]["payload"]
      ? { payload?: J[N]["payload"] }
      : { payload: J[N]["payload"] });

/** A worker whose type records no named handler: requests to it are untyped (`unknown`). */
export type UntypedWorker = Worker & { readonly [handledJobs]?: undefined };

/** Options of `onJob(name, handler, options)`. */
export interface OnJobOptions {
  /** Run requests with this name one at a time, in arrival order (default false). */
  sequential?: boolean;
}

/** Options of `new Worker(name, options)`. */
export interface WorkerOptions {
  /** Whether the worker starts active (default true). */
  active?: boolean;
}

/** Listener arguments of each worker event. */
export interface WorkerEventMap {
  /** The worker became active; the activation args as a plain wire-form object, or `null`. */
  activated: [args: Record<string, unknown> | null];
  /** The worker was deactivated. */
  deactivated: [];
  /** The worker has stopped. */
  finished: [];
  /** A watched worker became ready. */
  workerReady: [data: WorkerReadyData];
  /** A child worker reported a failure. */
  workerFailed: [data: WorkerErrorData];
  /** A job request arrived (for every request, after its handler was started). */
  jobRequest: [job: JobRequest];
  /** A response addressed to this worker arrived. */
  jobResponse: [message: BusJobResponseMessage | BusJobResponseUrgentMessage];
  /** An update addressed to this worker arrived. */
  jobUpdate: [message: BusJobUpdateMessage | BusJobUpdateUrgentMessage];
  /** The requester asked for an update of an active job. */
  jobUpdateRequested: [message: BusJobUpdateRequestMessage];
  /** A member of a group this worker requested answered `error` or `failed` (with cancelOnError). */
  jobError: [message: BusJobResponseMessage | BusJobResponseUrgentMessage];
  /** A stream started on a job this worker requested. */
  jobStreamStart: [message: BusJobStreamStartMessage];
  /** A stream chunk arrived for a job this worker requested. */
  jobStreamData: [message: BusJobStreamDataMessage];
  /** A stream ended on a job this worker requested. */
  jobStreamEnd: [message: BusJobStreamEndMessage];
  /** A job this worker was handling was cancelled. */
  jobCancelled: [message: BusJobCancelMessage];
  /** Any message this worker received. */
  busMessage: [message: BusMessage];
  /** Every member of a group this worker requested has answered. */
  jobCompleted: [response: JobGroupResponse];
  /** A handler threw or rejected after its job was already answered: what it threw (also logged). */
  error: [error: unknown];
}

/** A worker event name. */
export type WorkerEventName = keyof WorkerEventMap;
/** A listener for worker event `E`. Its exceptions are logged and never break delivery. */
export type WorkerListener<E extends WorkerEventName> = (...args: WorkerEventMap[E]) => unknown;

/** Options of `activateWorker`. */
export interface ActivateWorkerOptions {
  /** The activation args: a plain object or a `WorkerActivationArgs`. */
  args?: object | WorkerActivationArgs;
  /** Deactivate the calling worker too (default false). */
  deactivateSelf?: boolean;
}

/** A named worker: handles jobs, requests jobs from other workers, and may have children. */
export declare class Worker {
  /** A new worker; `active` defaults to true. Throws `TypeError` for a bad name. */
  constructor(name: string, options?: WorkerOptions);

  /** The worker's name (unique on a bus). */
  readonly name: string;
  /** Whether the worker is active. */
  readonly active: boolean;
  /** The last activation args (wire form), or `null`. */
  readonly activationArgs: Record<string, unknown> | null;
  /** The parent worker's name, or `null` for a root worker. */
  readonly parent: string | null;
  /** The child workers. */
  readonly children: readonly Worker[];
  /** When the worker started (epoch ms), or `null` before it starts. */
  readonly startedAt: number | null;
  /** The runner hosting it, or `null` when not attached. */
  readonly runner: WorkerRunner | null;
  /** The runner's registry, or `null` when not attached. */
  readonly registry: WorkerRegistry | null;
  /** The jobs this worker is handling, by job id. */
  readonly activeJobs: ReadonlyMap<string, JobRequest>;
  /** The groups this worker requested that are still open, by job id. */
  readonly jobGroups: ReadonlyMap<string, JobGroup>;
  /** Resolves when this worker has stopped. */
  readonly finished: Promise<void>;

  // --- worker side ---

  /**
   * Handles jobs named `jobName`. A duplicate name throws. The returned worker's type records
   * the job's payload type (from the handler's `JobRequest<P>`) and response type (what the
   * handler returns), so that `runner.job(worker, { name, payload })` is checked and typed.
   */
  onJob<P = unknown, R = unknown, N extends string = string>(jobName: N, handler: (job: JobRequest<P>) => R, options?: OnJobOptions): WithJob<this, N, P, R>;
  /** The default handler: unnamed jobs and names without a handler. A second default throws. Without one, such jobs answer `error` with `{ error: "no handler for job '<name>'" }`. */
  onJob<P = unknown>(handler: JobHandler<P>): this;
  /** Calls `listener` when `workerName` is ready (at once if it already is). May be called before the worker starts. */
  onWorkerReady(workerName: string, listener: (data: WorkerReadyData) => unknown): this;
  /** Answers an active job (status defaults to `"completed"`). Rejects with `Error("Worker '<w>': no active job '<id>' to respond to")` when not active. */
  sendJobResponse(jobId: string, response?: unknown, options?: { status?: JobStatus; urgent?: boolean }): Promise<void>;
  /** Sends a progress update for an active job. Rejects with `"… no active job '<id>' to update"` when not active. */
  sendJobUpdate(jobId: string, update?: unknown, options?: { urgent?: boolean }): Promise<void>;
  /** Starts streaming for an active job. Rejects with `"… no active job '<id>' to stream"` when not active. */
  sendJobStreamStart(jobId: string, data?: unknown): Promise<void>;
  /** Streams a chunk for an active job. Rejects with `"… no active job '<id>' to stream"` when not active. */
  sendJobStreamData(jobId: string, data?: unknown): Promise<void>;
  /** Ends streaming, completing the job with `data`. Rejects with `"… no active job '<id>' to stream"` when not active. */
  sendJobStreamEnd(jobId: string, data?: unknown): Promise<void>;
  /** Reports a failure: the parent gets `"workerFailed"`. */
  sendBusErrorMessage(error: string): Promise<void>;
  /**
   * Sends any Pipecat bus message (frames, TTS, UI carriers, data) with this worker as its
   * source, to local workers and every remote peer (JavaScript or Python) alike. Rejects with a
   * `TypeError` naming the problem for an unknown type, a missing or mistyped field, a
   * local-only type or a foreign `source`.
   */
  sendBusMessage(message: OutgoingBusMessage): Promise<void>;

  // --- requester side ---

  /**
   * Requests job `params.name` from a worker whose handlers are known (the worker object, e.g.
   * `new Worker("ocr").onJob("read", (job: JobRequest<{ page: number }>) => ({ text: "" }))`):
   * the payload is checked against the handler's and `await` gives its response type. Only the
   * worker's name is sent: the worker may be on this runner or another one.
   */
  job<J extends JobTypeMap, N extends keyof J & string>(worker: Worker & HandlesJobs<J>, params: TypedJobParams<J, N>): JobContext<J[N]["response"]>;
  /** Requests a job from `workerName` (or a worker whose handlers are not typed); `R` is the response type you expect (unchecked). */
  job<R = unknown>(workerName: string | UntypedWorker, params?: JobParams): JobContext<R>;
  /** Requests a job from each of `workerNames` (distinct, non-empty; `TypeError` otherwise). */
  jobGroup<R = Record<string, unknown>>(workerNames: readonly string[], params?: JobGroupParams): JobGroupContext<R>;
  /** Fire-and-forget: resolves with the job id once sent (after waiting for readiness); rejects with a `JobError`. Results arrive through events. `workerName` may be a `Worker` (its name is sent). */
  requestJob(workerName: string | Worker, params?: JobParams): Promise<string>;
  /** Fire-and-forget group: resolves with the job id once sent; rejects with a `JobGroupError`. */
  requestJobGroup(workerNames: readonly string[], params?: JobGroupParams): Promise<string>;
  /** Waits for readiness, sends the requests and resolves with the group. */
  createJobGroupAndRequestJob(workerNames: readonly string[], params?: JobGroupParams): Promise<JobGroup>;
  /** Cancels a group this worker requested (reason defaults to `"cancelled"`). */
  cancelJobGroup(jobId: string, reason?: string): Promise<void>;
  /** Cancels a group unless it is unknown or not cancellable; resolves with whether it did. */
  requestCancelJobGroup(jobId: string, reason?: string): Promise<boolean>;
  /** Asks `workerName` for an update of job `jobId` (its `"jobUpdateRequested"` event). */
  requestJobUpdate(jobId: string, workerName: string): Promise<void>;

  // --- lifecycle and tree ---

  /** Adds child workers and watches them; rejects for a worker that already has a parent. May be called before the worker starts. */
  addWorkers(...children: Worker[]): Promise<void>;
  /** Fires `"workerReady"` when each of these workers becomes ready. */
  watchWorkers(...names: string[]): Promise<void>;
  /** Activates worker `name`, optionally with args and deactivating this worker. */
  activateWorker(name: string, options?: ActivateWorkerOptions): Promise<void>;
  /** Deactivates worker `name`. */
  deactivateWorker(name: string): Promise<void>;
  /**
   * Stops this worker (and its children) only; handlers get `gracePeriod` ms (default 5000) to
   * settle. Resolves when it has finished; rejects when the worker is not attached to a runner.
   */
  stop(options?: { reason?: string; gracePeriod?: number }): Promise<void>;
  /** Asks every runner on the bus to end. */
  endSession(options?: { reason?: string }): Promise<void>;
  /** Asks every runner on the bus to cancel. */
  cancelSession(options?: { reason?: string }): Promise<void>;

  // --- events ---

  /** Adds a listener; it runs after the worker's own handling of the message. */
  on<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
  /** Removes a listener (also one added with `once`). */
  off<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
  /** Adds a listener that runs at most once. */
  once<E extends WorkerEventName>(event: E, listener: WorkerListener<E>): this;
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

/** Options of `new WorkerRunner(options)`. */
export interface WorkerRunnerOptions {
  /** The runner's name (default `"runner-<8 hex>"`). */
  name?: string;
  /** The bus to attach to (default: a new `LocalBus`). */
  bus?: Bus;
  /** Milliseconds between heartbeats to linked realms (default 1000). */
  heartbeatInterval?: number;
  /** Heartbeats a runner may miss before it is considered gone with its workers (default 3). */
  heartbeatMisses?: number;
  /**
   * Milliseconds after which a job (of this runner or of its workers) still waiting for workers
   * that are not ready logs one warning naming them (default 5000). The job goes on waiting.
   */
  notReadyWarning?: number;
}

/** Options of `runner.start()` and `runner.run()`. */
export interface RunnerStartOptions {
  /** Finish once every root worker has finished (default true). A runner with no workers never ends by itself. */
  autoEnd?: boolean;
}

/** Listener arguments of each runner event. */
export interface WorkerRunnerEventMap {
  /** The runner is set up and its workers have started. */
  ready: [];
  /** Something failed in the runner. */
  error: [error: Error];
}

/** A runner event name. */
export type WorkerRunnerEventName = keyof WorkerRunnerEventMap;
/** A listener for runner event `E`. */
export type WorkerRunnerListener<E extends WorkerRunnerEventName> = (...args: WorkerRunnerEventMap[E]) => unknown;

/** Hosts workers on a bus and drives their lifecycle. */
export declare class WorkerRunner {
  /** A new runner, on `options.bus` or a new `LocalBus`. */
  constructor(options?: WorkerRunnerOptions);

  /** The runner's name (default `"runner-<8 hex>"`). */
  readonly name: string;
  /** Which workers are ready, here and on other runners. */
  readonly registry: WorkerRegistry;
  /** The very bus passed in, or the `LocalBus` it created. */
  readonly bus: LocalBus;
  /** Resolves when the runner has finished (never rejects). */
  readonly finished: Promise<void>;

  /** Adds root workers; rejects on a duplicate name or a worker hosted elsewhere. */
  addWorkers(...workers: Worker[]): Promise<void>;
  /** The worker named `name` on this runner, if any. */
  getWorker(name: string): Worker | undefined;
  /** Resolves once the runner is set up and the added workers have started. */
  start(options?: RunnerStartOptions): Promise<void>;
  /** `start()`, then resolves when the runner has finished. */
  run(options?: RunnerStartOptions): Promise<void>;
  /**
   * Ends this runner gracefully: workers accept no new jobs, running handlers get `gracePeriod`
   * ms (default 5000) to settle, then the rest is aborted. The runner's own pending jobs reject
   * with `"runner exiting"` (or `"worker '<w>' stopped"`). Resolves when finished. A string is
   * the reason.
   */
  end(options?: { reason?: string; gracePeriod?: number } | string): Promise<void>;
  /** Like `end()` with no grace period. Resolves when finished. A string is the reason. */
  cancel(options?: { reason?: string } | string): Promise<void>;
  /** `await using runner = new WorkerRunner()`: ends the runner (as `end()`) when the scope is left. */
  [Symbol.asyncDispose](): Promise<void>;

  /**
   * Requests job, as the runner itself, `params.name` from a worker whose handlers are known (the worker object, e.g.
   * `new Worker("ocr").onJob("read", (job: JobRequest<{ page: number }>) => ({ text: "" }))`):
   * the payload is checked against the handler's and `await` gives its response type. Only the
   * worker's name is sent: the worker may be on this runner or another one.
   */
  job<J extends JobTypeMap, N extends keyof J & string>(worker: Worker & HandlesJobs<J>, params: TypedJobParams<J, N>): JobContext<J[N]["response"]>;
  /** Requests a job as the runner itself (`source` = the runner's name); `R` is the response type you expect (unchecked). */
  job<R = unknown>(workerName: string | UntypedWorker, params?: JobParams): JobContext<R>;
  /** Requests a job group as the runner itself. */
  jobGroup<R = Record<string, unknown>>(workerNames: readonly string[], params?: JobGroupParams): JobGroupContext<R>;

  /** Adds a listener. */
  on<E extends WorkerRunnerEventName>(event: E, listener: WorkerRunnerListener<E>): this;
  /** Removes a listener (also one added with `once`). */
  off<E extends WorkerRunnerEventName>(event: E, listener: WorkerRunnerListener<E>): this;
  /** Adds a listener that runs at most once. */
  once<E extends WorkerRunnerEventName>(event: E, listener: WorkerRunnerListener<E>): this;
}

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

/**
 * Which workers are ready, on this runner (local) and on others (remote). Emits `"ready"` and
 * `"gone"` as workers come and go.
 */
export declare class WorkerRegistry {
  /** A new, empty registry for the runner named `runnerName`. */
  constructor(runnerName: string);
  /** The owning runner's name. */
  readonly runnerName: string;
  /** Local worker names, in registration order. */
  readonly localWorkers: string[];
  /** Remote worker names, in registration order. */
  readonly remoteWorkers: string[];
  /** A fresh `{ workerName, runner }` for a ready worker (local first), or `undefined`. */
  get(name: string): WorkerReadyData | undefined;
  /** Whether `name` is ready. */
  has(name: string): boolean;
  /**
   * Every ready instance of `name`, local first, then each runner in the order it became known,
   * with how many of this runner's jobs are pending on it.
   */
  instances(name: string): WorkerInstance[];
  /** Calls `handler` when `name` registers (at once if known); idempotent per (name, handler). */
  watch(name: string, handler: (data: WorkerReadyData) => unknown): Promise<void>;
  /** Removes a handler added with `watch`. */
  unwatch(name: string, handler: (data: WorkerReadyData) => unknown): void;
  /** Registers a ready worker; resolves true if new. Watcher errors are logged, never thrown. */
  register(data: WorkerReadyData): Promise<boolean>;
  /** This runner's ready workers. */
  entries(): WorkerRegistryEntry[];
  /** Adds a listener for `"ready"` or `"gone"`. */
  on<E extends WorkerRegistryEventName>(event: E, listener: WorkerRegistryListener<E>): this;
  /** Removes a listener (also one added with `once`). */
  off<E extends WorkerRegistryEventName>(event: E, listener: WorkerRegistryListener<E>): this;
  /** Adds a listener that runs at most once. */
  once<E extends WorkerRegistryEventName>(event: E, listener: WorkerRegistryListener<E>): this;
}

// ---------------------------------------------------------------------------------------------
// Activation args
// ---------------------------------------------------------------------------------------------

/** Fields of `WorkerActivationArgs`. */
export interface WorkerActivationArgsInit {
  /** Free-form metadata. */
  metadata?: Record<string, unknown> | null;
}

/** Arguments a worker receives when activated. */
export declare class WorkerActivationArgs {
  /** New args from their fields. */
  constructor(init?: WorkerActivationArgsInit);
  /** From a wire-form object; unknown keys are ignored. */
  static fromDict(obj: object): WorkerActivationArgs;
  /** Free-form metadata. */
  metadata?: Record<string, unknown> | null;
  /** The wire-form plain object; `null`/`undefined` fields left out. */
  toDict(): { metadata?: Record<string, unknown> };
}

/** Fields of `LLMWorkerActivationArgs`. */
export interface LLMWorkerActivationArgsInit extends WorkerActivationArgsInit {
  /** LLM context messages to add. */
  messages?: Record<string, unknown>[] | null;
  /** Whether to run the LLM after activation (default: true when `messages` is set). */
  runLlm?: boolean | null;
}

/** Activation args of an LLM worker. */
export declare class LLMWorkerActivationArgs {
  /** New args from their fields. */
  constructor(init?: LLMWorkerActivationArgsInit);
  /** From a wire-form object; accepts `run_llm` or `runLlm`; unknown keys are ignored. */
  static fromDict(obj: object): LLMWorkerActivationArgs;
  /** Free-form metadata. */
  metadata?: Record<string, unknown> | null;
  /** LLM context messages to add. */
  messages?: Record<string, unknown>[] | null;
  /** Whether to run the LLM: as given, else true when `messages` is set, else false. */
  readonly runLlm: boolean;
  /** `{ metadata?, messages?, run_llm? }`; `run_llm` only when it was given. */
  toDict(): { metadata?: Record<string, unknown>; messages?: Record<string, unknown>[]; run_llm?: boolean };
}

export {};
