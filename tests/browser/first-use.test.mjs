// Forgetting `await init()` in a browser: the first use throws an Error that says what to do,
// not a TypeError from inside the wasm glue; after init() the same calls work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const env = useServerAndBrowser();

const NOT_INITIALISED = 'Error: workbus is not initialised: call `await init()` (the default export of "workbus") once before using it';

test("each entry point used before init() throws an Error saying to call `await init()` first", T, async () => {
  const opened = await openPage(env.browser.context, `${env.server.origin}/first-use.html`);
  const { before, after, response } = await opened.page.evaluate(() => window.result);
  assert.deepEqual(before, {
    "new Worker": NOT_INITIALISED,
    "new WorkerRunner": NOT_INITIALISED,
    "new LocalBus": NOT_INITIALISED,
    "new WorkerRegistry": NOT_INITIALISED,
    encodeMessage: NOT_INITIALISED,
    decodeMessage: NOT_INITIALISED,
    setLogger: NOT_INITIALISED,
  });
  assert.deepEqual(after, {
    "new Worker": "ok",
    "new WorkerRunner": "ok",
    "new LocalBus": "ok",
    "new WorkerRegistry": "ok",
    encodeMessage: "ok",
    setLogger: "ok",
  });
  assert.deepEqual(response, { echoed: "after init" });
  assertNoErrors(opened);
  await opened.page.close();
});
