// Benchmark 4: stream events per second through `for await`. Worker "s" answers one job with
// streamStart, M x streamData (each awaited, as a handler naturally writes), streamEnd; the
// requester counts the events with `for await (const ev of ctx)`. Events/s = events seen /
// wall time from the request to the end of the loop.
//
//   node bench/stream.mjs [--events 200000] [--kind data|update] [--impl workbus|baseline]
//
// --impl baseline: the same producer/consumer shape with plain JavaScript — an async
// generator the consumer iterates with `for await`, fed by an awaited producer through a
// queue (one promise per event), for scale.
import { args, loadWorkbus, report } from "./lib/common.mjs";

const opt = args({ events: 200000, kind: "data", impl: "workbus", warmup: 20000 });

async function workbusRun(M) {
  const { Worker, WorkerRunner } = await loadWorkbus();
  const s = new Worker("s").onJob("stream", async (job) => {
    const n = job.payload.n;
    if (opt.kind === "update") {
      for (let i = 0; i < n; i++) await job.update(i);
      return { done: n };
    }
    await job.streamStart({ n });
    for (let i = 0; i < n; i++) await job.streamData(i);
    await job.streamEnd({ done: n });
  });
  const a = new Worker("a");
  const runner = new WorkerRunner();
  await runner.addWorkers(a, s);
  await runner.start();
  const once = async (n) => {
    let seen = 0;
    const t0 = performance.now();
    const ctx = a.job("s", { name: "stream", payload: { n } });
    for await (const ev of ctx) if (ev.type === "stream_data" || ev.type === "update") seen++;
    await ctx;
    const ms = performance.now() - t0;
    if (seen !== n) throw new Error(`saw ${seen} of ${n} events`);
    return ms;
  };
  await once(opt.warmup);
  const ms = await once(M);
  await runner.end();
  return ms;
}

async function baselineRun(M) {
  const once = async (n) => {
    let queue = [];
    let head = 0;
    let wake = null;
    const push = (v) => {
      queue.push(v);
      if (wake) { const w = wake; wake = null; w(); }
    };
    async function* events() {
      for (;;) {
        if (head === queue.length) {
          queue = [];
          head = 0;
          await new Promise((r) => (wake = r));
        }
        const v = queue[head++];
        if (v === undefined) return;
        yield v;
      }
    }
    const producer = (async () => {
      for (let i = 0; i < n; i++) await Promise.resolve(push({ type: "stream_data", data: i }));
      push(undefined);
    })();
    let seen = 0;
    const t0 = performance.now();
    for await (const ev of events()) if (ev.type === "stream_data") seen++;
    await producer;
    if (seen !== n) throw new Error(`saw ${seen} of ${n}`);
    return performance.now() - t0;
  };
  await once(opt.warmup);
  return once(M);
}

const ms = opt.impl === "baseline" ? await baselineRun(opt.events) : await workbusRun(opt.events);
report({ impl: opt.impl, kind: opt.kind, events: opt.events, ms, per_s: opt.events / (ms / 1000), per_event_us: (ms * 1000) / opt.events });
