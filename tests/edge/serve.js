// The HTTP side of the edge tests, one ES module for workerd, Deno and Bun: it serves the
// README's streaming handler (edge.js, extracted from README.md next to this file) and adds
//   GET /session   runs the example session (session.js) and answers its summary as JSON
//   GET /timers    how many timers are pending now (set, neither fired nor cleared)
//   GET /apis      which platform APIs this runtime has
// Timers are counted by wrapping setTimeout/clearTimeout before any request runs; the engine
// looks both up on the global object at call time, so its timers are counted too.
import * as workbus from "workbus";
import edge from "./edge.js";
import { platformApis, runSession } from "./session.js";

const pending = new Set();
const { setTimeout: realSet, clearTimeout: realClear } = globalThis;
globalThis.setTimeout = function setTimeout(callback, ms, ...args) {
  const handle = realSet(
    (...a) => {
      pending.delete(handle);
      callback(...a);
    },
    ms,
    ...args,
  );
  pending.add(handle);
  return handle;
};
globalThis.clearTimeout = function clearTimeout(handle) {
  pending.delete(handle);
  return realClear(handle);
};

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/session") {
      try {
        return Response.json({ ok: true, summary: await runSession(workbus) });
      } catch (err) {
        return Response.json({ ok: false, error: String(err?.stack ?? err) }, { status: 500 });
      }
    }
    if (pathname === "/timers") return Response.json({ pending: pending.size });
    if (pathname === "/apis") return Response.json(platformApis());
    return edge.fetch(request);
  },
};
