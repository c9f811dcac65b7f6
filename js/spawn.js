// spawnWorker and serveWorkers, which load js/realms.js on their first call: in the browser
// build it is a file of its own (web/realms.js), so that a page that links no other realm does
// not download it. Both are async, so the load adds no new way to fail: a realm that cannot load
// the module rejects the call with the import's error.

/** See js/realms.js. */
export async function spawnWorker(runner, script, options) {
  return (await import("./realms.js")).spawnWorker(runner, script, options);
}

/** See js/realms.js. */
export async function serveWorkers(workers, options) {
  return (await import("./realms.js")).serveWorkers(workers, options);
}
