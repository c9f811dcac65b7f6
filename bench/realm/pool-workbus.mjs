// One instance of the workbus pool of bench/pool.mjs: serves worker "cpu", whose job is one job
// of bench/realm/pool-work.mjs.
import { work } from "./pool-work.mjs";

const { Worker, serveWorkers } = await import(process.env.BENCH_WORKBUS || "workbus");
await serveWorkers([new Worker("cpu").onJob((job) => work(job.payload.seed, job.payload.rounds))]);
