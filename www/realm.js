// A module Web Worker of the playground: serves the workers described by its URL's query with
// serveWorkers(), linked to the page that spawned it (app.js, spawnWorker()).
//   ?spec=[{"name":"ocr-1","behaviour":"ocr"},{"name":"translate-1","behaviour":"translate","parent":"ocr-1"}]
//   &hb=200&misses=3      heartbeat interval (ms) and misses, the same as the page's
// The realm's runner is named after the Web Worker (new Worker(url, { name })).
// Import maps do not apply inside workers: the package is imported by its URL.
import init, { Worker, serveWorkers } from "./workbus/index.js";
import { makeWorker } from "./behaviours.js";

await init();

const query = new URL(import.meta.url).searchParams;
const spec = JSON.parse(query.get("spec") ?? "[]");
const heartbeatInterval = Number(query.get("hb") ?? 200);
const heartbeatMisses = Number(query.get("misses") ?? 3);

const byName = new Map();
const roots = [];
for (const { name, behaviour, parent } of spec) {
  const worker = makeWorker(Worker, name, behaviour);
  byName.set(name, worker);
  if (parent && byName.has(parent)) await byName.get(parent).addWorkers(worker);
  else roots.push(worker);
}

await serveWorkers(roots, { name: self.name || undefined, heartbeatInterval, heartbeatMisses });
