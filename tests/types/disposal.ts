// Type-level tests of disposal (checked with `tsc`, never run). The disposal methods type-check
// with this folder's lib (es2022 + dom), which does not include `esnext.disposable`.
import { LocalBus, WorkerRunner, spawnWorker } from "workbus";
import type { JobContext, JobGroupContext, RealmPool, RemoteRealm } from "workbus";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

async function disposal(runner: WorkerRunner, ctx: JobContext<number>, group: JobGroupContext) {
  const ended: Promise<void> = runner[Symbol.asyncDispose]();
  ctx[Symbol.dispose]();
  const cancelled: Promise<void> = ctx[Symbol.asyncDispose]();
  group[Symbol.dispose]();
  await group[Symbol.asyncDispose]();
  const bus = new LocalBus();
  bus[Symbol.dispose]();
  await bus[Symbol.asyncDispose]();
  const realm: RemoteRealm = await spawnWorker(runner, "./realm.js");
  assertType<Equal<ReturnType<RemoteRealm[typeof Symbol.asyncDispose]>, Promise<void>>>();
  await realm[Symbol.asyncDispose]();
  const pool = await spawnWorker(runner, "./realm.js", { instances: 4, name: "cpu" });
  assertType<Equal<typeof pool, RealmPool>>();
  const first: RemoteRealm = pool.instances[0];
  const runners: string[] = pool.runners;
  const workers: string[] = pool.workers;
  await pool.terminate();
  await pool[Symbol.asyncDispose]();
  const single = await spawnWorker(runner, "./realm.js", { name: "one" });
  assertType<Equal<typeof single, RemoteRealm>>();
  // @ts-expect-error: a pool needs a script to start N times, not a Worker
  await spawnWorker(runner, realm.worker, { instances: 2 });
  // @ts-expect-error: instances is a number
  await spawnWorker(runner, "./realm.js", { instances: "2" });
  void [first, runners, workers];
  await Promise.all([ended, cancelled]);
}
void disposal;
