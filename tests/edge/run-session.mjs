// Runs the example session (session.js) in Deno, Bun or Node against the installed package and
// prints one JSON line: the session's summary and the file "workbus" resolved to. A failed
// check throws, which exits non-zero in every runtime.
import * as workbus from "workbus";
import { runSession } from "./session.js";

const summary = await runSession(workbus);
console.log(JSON.stringify({ summary, entry: import.meta.resolve("workbus") }));
