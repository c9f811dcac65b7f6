// A worker-thread script of pools.test.mjs (not a test file): pool.worker.mjs, except that an
// instance whose threadId is a multiple of 3 throws while loading, half a second late (after
// the other instances have announced their workers). The threads of one pool of 3 get
// consecutive ids, so exactly one of them fails to start.
import { threadId } from "node:worker_threads";

if (threadId % 3 === 0) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  throw new Error(`the instance on thread ${threadId} refuses to start`);
}
await import("./pool.worker.mjs");
