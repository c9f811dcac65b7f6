// The Web Worker side of bench/crossrealm-browser.mjs (a module worker): ?impl=raw|comlink|workbus|count
const impl = new URLSearchParams(self.location.search).get("impl");
if (impl === "raw") {
  self.onmessage = ({ data }) => self.postMessage({ id: data.id, response: data.payload });
} else if (impl === "comlink") {
  const Comlink = await import("/bench/node_modules/comlink/dist/esm/comlink.mjs");
  Comlink.expose({ echo: (payload) => payload });
  self.postMessage("ready"); // messages sent before expose() would be lost
} else if (impl === "workbus") {
  // >>> workbus cross-realm slot (worker side)
  const wb = await import("/pkg/web/index.js");
  await wb.default();
  await wb.serveWorkers([new wb.Worker("echo").onJob("echo", (job) => job.payload)]);
  // <<<
} else if (impl === "count") {
  // The counters are installed before the package loads; worker "counts" resets and reads them.
  const { installCounters, resetCounters, countsPerJob } = await import("./count-hooks.js");
  installCounters(self, self);
  const wb = await import("/pkg/web/index.js");
  await wb.default();
  const counts = new wb.Worker("counts").onJob("reset", () => resetCounters()).onJob("take", (job) => countsPerJob(job.payload.jobs));
  await wb.serveWorkers([new wb.Worker("echo").onJob("echo", (job) => job.payload), counts]);
}
