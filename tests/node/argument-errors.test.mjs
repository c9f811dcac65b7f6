// Every public method's bad-argument error names the argument that is wrong: a table of bad
// calls with the exact TypeError each gives (thrown by constructors and synchronous methods,
// a rejection from async ones), and the cases that used to blame another argument.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LLMWorkerActivationArgs,
  LocalBus,
  MessagePortBus,
  RedisBus,
  WebSocketProxyClient,
  Worker,
  WorkerActivationArgs,
  WorkerRegistry,
  WorkerRunner,
  decodeMessage,
  serveWorkers,
  setLogger,
  spawnWorker,
  transfer,
} from "workbus";
import { T, startRunner } from "./helpers.mjs";

const fn = () => {};

/** [call, exact message, "throws" | "rejects"] for a started runner and its worker `w`. */
function badCalls(runner, w) {
  return [
    // onJob: the argument at fault, whichever it is
    ["w.onJob(null, fn)", () => w.onJob(null, fn), "jobName must be a string, got null", "throws"],
    ["w.onJob(undefined, fn)", () => w.onJob(undefined, fn), "jobName must be a string, got undefined", "throws"],
    ["w.onJob(5, fn)", () => w.onJob(5, fn), "jobName must be a string, got the number 5", "throws"],
    ["w.onJob('', fn)", () => w.onJob("", fn), "jobName must not be empty", "throws"],
    ["w.onJob('a')", () => w.onJob("a"), "handler must be a function, got undefined", "throws"],
    ["w.onJob('a', null)", () => w.onJob("a", null), "handler must be a function, got null", "throws"],
    ["w.onJob()", () => w.onJob(), "handler must be a function (onJob(handler) or onJob(jobName, handler)), got undefined", "throws"],
    ["w.onJob(5)", () => w.onJob(5), "handler must be a function (onJob(handler) or onJob(jobName, handler)), got the number 5", "throws"],
    ["w.onJob('a', fn, 5)", () => w.onJob("a", fn, 5), "options must be an object, got the number 5", "throws"],
    ["w.onJob('a', fn, { sequential: 1 })", () => w.onJob("a", fn, { sequential: 1 }), "options.sequential must be a boolean, got the number 1", "throws"],
    // activation args: the option's path
    ["new WorkerActivationArgs({ metadata: 5 })", () => new WorkerActivationArgs({ metadata: 5 }), "init.metadata must be an object, got the number 5", "throws"],
    ["WorkerActivationArgs.fromDict({ metadata: 5 })", () => WorkerActivationArgs.fromDict({ metadata: 5 }), "obj.metadata must be an object, got the number 5", "throws"],
    ["WorkerActivationArgs.fromDict(5)", () => WorkerActivationArgs.fromDict(5), "obj must be an object, got the number 5", "throws"],
    ["new LLMWorkerActivationArgs({ messages: 5 })", () => new LLMWorkerActivationArgs({ messages: 5 }), "init.messages must be an array, got the number 5", "throws"],
    ["new LLMWorkerActivationArgs({ metadata: [] })", () => new LLMWorkerActivationArgs({ metadata: [] }), "init.metadata must be an object, got an array", "throws"],
    ["new LLMWorkerActivationArgs({ runLlm: 5 })", () => new LLMWorkerActivationArgs({ runLlm: 5 }), "init.runLlm must be a boolean, got the number 5", "throws"],
    ["LLMWorkerActivationArgs.fromDict({ messages: 5 })", () => LLMWorkerActivationArgs.fromDict({ messages: 5 }), "obj.messages must be an array, got the number 5", "throws"],
    ["LLMWorkerActivationArgs.fromDict({ run_llm: 5 })", () => LLMWorkerActivationArgs.fromDict({ run_llm: 5 }), "obj.run_llm must be a boolean, got the number 5", "throws"],
    ["LLMWorkerActivationArgs.fromDict({ runLlm: 'yes' })", () => LLMWorkerActivationArgs.fromDict({ runLlm: "yes" }), 'obj.runLlm must be a boolean, got the string "yes"', "throws"],
    // serveWorkers: its options' endpoint
    ["serveWorkers([], { endpoint: 5 })", () => serveWorkers([], { endpoint: 5 }), "options.endpoint must be a Worker, a MessagePort or a worker's global scope, got the number 5", "rejects"],
    ["serveWorkers(5)", () => serveWorkers(5), "workers must be an array of Workers, got the number 5", "rejects"],
    ["serveWorkers([5])", () => serveWorkers([5]), "workers[0] must be a Worker, got the number 5", "rejects"],
    // runner
    ["new WorkerRunner(5)", () => new WorkerRunner(5), "options must be an object, got the number 5", "throws"],
    ["new WorkerRunner({ name: '' })", () => new WorkerRunner({ name: "" }), "options.name must not be empty", "throws"],
    ["new WorkerRunner({ bus: {} })", () => new WorkerRunner({ bus: {} }), "options.bus must be a bus such as LocalBus, got an object", "throws"],
    ["new WorkerRunner({ heartbeatInterval: -1 })", () => new WorkerRunner({ heartbeatInterval: -1 }), "options.heartbeatInterval must be a finite number of milliseconds >= 0, got the number -1", "throws"],
    ["new WorkerRunner({ heartbeatMisses: 0 })", () => new WorkerRunner({ heartbeatMisses: 0 }), "options.heartbeatMisses must be a whole number >= 1, got the number 0", "throws"],
    ["new WorkerRunner({ notReadyWarning: 'soon' })", () => new WorkerRunner({ notReadyWarning: "soon" }), 'options.notReadyWarning must be a finite number of milliseconds >= 0, got the string "soon"', "throws"],
    ["runner.addWorkers(w, 5)", () => runner.addWorkers(new Worker("fresh"), 5), "workers[1] must be a Worker, got the number 5", "rejects"],
    ["runner.getWorker(5)", () => runner.getWorker(5), "name must be a string, got the number 5", "throws"],
    ["runner.start({ autoEnd: 1 })", () => runner.start({ autoEnd: 1 }), "options.autoEnd must be a boolean, got the number 1", "rejects"],
    ["runner.end({ gracePeriod: -1 })", () => runner.end({ gracePeriod: -1 }), "options.gracePeriod must be a finite number of milliseconds >= 0, got the number -1", "rejects"],
    ["runner.cancel({ reason: 5 })", () => runner.cancel({ reason: 5 }), "options.reason must be a string, got the number 5", "rejects"],
    ["runner.on('nope', fn)", () => runner.on("nope", fn), 'event must be one of ready, error; got the string "nope"', "throws"],
    ["runner.on('ready', 5)", () => runner.on("ready", 5), "listener must be a function, got the number 5", "throws"],
    ["runner.off('ready')", () => runner.off("ready"), "listener must be a function, got undefined", "throws"],
    // jobs
    ["runner.job(5)", () => runner.job(5), "workerName must be a string, got the number 5", "throws"],
    ["runner.job('')", () => runner.job(""), "workerName must not be empty", "throws"],
    ["runner.job('w', 5)", () => runner.job("w", 5), "params must be an object, got the number 5", "throws"],
    ["runner.job('w', { name: 5 })", () => runner.job("w", { name: 5 }), "params.name must be a string, got the number 5", "throws"],
    ["runner.job('w', { timeout: NaN })", () => runner.job("w", { timeout: NaN }), "params.timeout must be a finite number of milliseconds >= 0, got the number NaN", "throws"],
    ["runner.job('w', { label: 5 })", () => runner.job("w", { label: 5 }), "params.label must be a string, got the number 5", "throws"],
    ["runner.job('w', { cancellable: 1 })", () => runner.job("w", { cancellable: 1 }), "params.cancellable must be a boolean, got the number 1", "throws"],
    ["runner.job('w', { signal: {} })", () => runner.job("w", { signal: {} }), "params.signal must be an AbortSignal, got an object", "throws"],
    ["runner.jobGroup('w')", () => runner.jobGroup("w"), 'workerNames must be an array of worker names, got the string "w"', "throws"],
    ["runner.jobGroup(['w', 5])", () => runner.jobGroup(["w", 5]), "workerNames[1] must be a string, got the number 5", "throws"],
    ["runner.jobGroup([])", () => runner.jobGroup([]), "workerNames must not be empty", "throws"],
    ["runner.jobGroup(['w', 'w'])", () => runner.jobGroup(["w", "w"]), "workerNames has 'w' more than once", "throws"],
    ["runner.jobGroup(['w'], { cancelOnError: 0 })", () => runner.jobGroup(["w"], { cancelOnError: 0 }), "params.cancelOnError must be a boolean, got the number 0", "throws"],
    ["ctx.cancel(5)", () => runner.job("w").cancel(5), "reason must be a string, got the number 5", "rejects"],
    // registry
    ["registry.get(5)", () => runner.registry.get(5), "name must be a string, got the number 5", "throws"],
    ["registry.has(null)", () => runner.registry.has(null), "name must be a string, got null", "throws"],
    ["registry.watch('w', 5)", () => runner.registry.watch("w", 5), "handler must be a function, got the number 5", "rejects"],
    ["registry.unwatch(5, fn)", () => runner.registry.unwatch(5, fn), "name must be a string, got the number 5", "throws"],
    ["registry.register({ workerName: 'x' })", () => runner.registry.register({ workerName: "x" }), "data.runner must be a string, got undefined", "rejects"],
    ["new WorkerRegistry('')", () => new WorkerRegistry(""), "runnerName must not be empty", "throws"],
    // worker
    ["new Worker()", () => new Worker(), "name must be a string, got undefined", "throws"],
    ["new Worker('a', { active: 1 })", () => new Worker("a", { active: 1 }), "options.active must be a boolean, got the number 1", "throws"],
    ["w.onWorkerReady(5, fn)", () => w.onWorkerReady(5, fn), "workerName must be a string, got the number 5", "throws"],
    ["w.onWorkerReady('a', 5)", () => w.onWorkerReady("a", 5), "listener must be a function, got the number 5", "throws"],
    ["w.sendJobResponse(5)", () => w.sendJobResponse(5), "jobId must be a string, got the number 5", "rejects"],
    ["w.sendJobResponse('id', {}, { status: 'done' })", () => w.sendJobResponse("id", {}, { status: "done" }), 'options.status must be one of completed, cancelled, failed, error; got the string "done"', "rejects"],
    ["w.sendJobUpdate('id', {}, { urgent: 1 })", () => w.sendJobUpdate("id", {}, { urgent: 1 }), "options.urgent must be a boolean, got the number 1", "rejects"],
    ["w.sendJobStreamData(5)", () => w.sendJobStreamData(5), "jobId must be a string, got the number 5", "rejects"],
    ["w.sendBusErrorMessage(5)", () => w.sendBusErrorMessage(5), "error must be a string, got the number 5", "rejects"],
    ["w.requestJob(5)", () => w.requestJob(5), "workerName must be a string, got the number 5", "rejects"],
    ["w.requestJobGroup(5)", () => w.requestJobGroup(5), "workerNames must be an array of worker names, got the number 5", "rejects"],
    ["w.createJobGroupAndRequestJob(['a'], { timeout: -1 })", () => w.createJobGroupAndRequestJob(["a"], { timeout: -1 }), "params.timeout must be a finite number of milliseconds >= 0, got the number -1", "rejects"],
    ["w.cancelJobGroup('id', 5)", () => w.cancelJobGroup("id", 5), "reason must be a string, got the number 5", "rejects"],
    ["w.requestCancelJobGroup(5)", () => w.requestCancelJobGroup(5), "jobId must be a string, got the number 5", "rejects"],
    ["w.requestJobUpdate('id', '')", () => w.requestJobUpdate("id", ""), "workerName must not be empty", "rejects"],
    ["w.addWorkers(5)", () => w.addWorkers(5), "workers[0] must be a Worker, got the number 5", "rejects"],
    ["w.watchWorkers('a', 5)", () => w.watchWorkers("a", 5), "names[1] must be a string, got the number 5", "rejects"],
    ["w.activateWorker('a', { args: [] })", () => w.activateWorker("a", { args: [] }), "options.args must be an object, got an array", "rejects"],
    ["w.activateWorker('a', { deactivateSelf: 1 })", () => w.activateWorker("a", { deactivateSelf: 1 }), "options.deactivateSelf must be a boolean, got the number 1", "rejects"],
    ["w.deactivateWorker(null)", () => w.deactivateWorker(null), "name must be a string, got null", "rejects"],
    ["w.stop({ gracePeriod: 'long' })", () => w.stop({ gracePeriod: "long" }), 'options.gracePeriod must be a finite number of milliseconds >= 0, got the string "long"', "rejects"],
    ["w.endSession(5)", () => w.endSession(5), "options must be an object, got the number 5", "rejects"],
    ["w.cancelSession({ reason: [] })", () => w.cancelSession({ reason: [] }), "options.reason must be a string, got an array", "rejects"],
    // buses, realms, codec, logger
    ["bus.connect({})", () => new LocalBus().connect({}), "endpoint must be a Worker, a MessagePort or a worker's global scope, got an object", "throws"],
    ["bus.connectChannel('')", () => new LocalBus().connectChannel(""), "name must not be empty", "throws"],
    ["bus.on('message', 5)", () => new LocalBus().on("message", 5), "listener must be a function, got the number 5", "throws"],
    ["new MessagePortBus(null)", () => new MessagePortBus(null), "endpoint must be a Worker, a MessagePort or a worker's global scope, got null", "throws"],
    ["spawnWorker({}, 'x')", () => spawnWorker({}, "x"), "runner must be a WorkerRunner, got an object", "rejects"],
    ["spawnWorker(runner, 5)", () => spawnWorker(runner, 5), "script must be a URL, a string or a Worker, got the number 5", "rejects"],
    ["spawnWorker(runner, 'x', { name: 5 })", () => spawnWorker(runner, "x", { name: 5 }), "options.name must be a string, got the number 5", "rejects"],
    ["transfer(5, [])", () => transfer(5, []), "value must be an object, got the number 5", "throws"],
    ["transfer({}, {})", () => transfer({}, {}), "transferables must be an array, got an object", "throws"],
    ["decodeMessage(null)", () => decodeMessage(null), "text must be a string or bytes, got null", "throws"],
    ["decodeMessage('{}', { maxDepth: 0 })", () => decodeMessage("{}", { maxDepth: 0 }), "limits.maxDepth must be a whole number >= 1, got the number 0", "throws"],
    ["setLogger('console')", () => setLogger("console"), 'logger must be a function or null, got the string "console"', "throws"],
    ["new RedisBus({})", () => new RedisBus({}), "options.client must be a connected Redis client (node-redis or ioredis), got undefined", "throws"],
    ["new RedisBus({ client, channel: 5 })", () => new RedisBus({ client: { publish: fn, duplicate: fn }, channel: 5 }), "options.channel must be a string, got the number 5", "throws"],
    ["new WebSocketProxyClient('p', { url: 'ws://h', remoteWorkerName: 5 })", () => new WebSocketProxyClient("p", { url: "ws://h", remoteWorkerName: 5 }), "options.remoteWorkerName must be a string, got the number 5", "throws"],
    ["new WebSocketProxyClient(5, options)", () => new WebSocketProxyClient(5, { url: "ws://h", remoteWorkerName: "r", localWorkerName: "l" }), "name must be a string, got the number 5", "throws"],
  ];
}

test("each bad call fails with a TypeError that names the argument at fault, thrown or rejected as the method is", T, async (t) => {
  const runner = await startRunner(t, [new Worker("w")]);
  const w = runner.getWorker("w");
  const wrong = [];
  for (const [label, call, message, how] of badCalls(runner, w)) {
    let thrown;
    let result;
    try {
      result = call();
    } catch (e) {
      thrown = e;
    }
    let rejected;
    if (thrown === undefined) {
      if (!result || typeof result.then !== "function") {
        wrong.push(`${label}: returned ${String(result)} instead of failing`);
        continue;
      }
      rejected = await Promise.resolve(result).then(
        () => undefined,
        (e) => e,
      );
    }
    const error = thrown ?? rejected;
    const got = thrown !== undefined ? "throws" : rejected !== undefined ? "rejects" : "resolves";
    if (got !== how) wrong.push(`${label}: ${got} instead of ${how} (${error?.message})`);
    else if (!(error instanceof TypeError)) wrong.push(`${label}: ${error?.name} instead of TypeError: ${error?.message}`);
    else if (error.message !== message) wrong.push(`${label}: "${error.message}" instead of "${message}"`);
  }
  assert.deepEqual(wrong, []);
});
