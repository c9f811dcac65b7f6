// The plumbing: the built package loads in a page through an import map, init() fetches the
// wasm from the static server, and a job runs between two workers of the page's own runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const env = useServerAndBrowser();

test("a page loads workbus with init() and runs a job with updates", T, async () => {
  const opened = await openPage(env.browser.context, `${env.server.origin}/smoke.html`);
  const result = await opened.page.evaluate(() => window.result);
  assert.deepEqual(result, {
    events: [
      { type: "update", data: { percent: 50 } },
      { type: "update", data: { percent: 100 } },
    ],
    response: { text: "page 7" },
    workers: ["ocr"],
  });
  assertNoErrors(opened);
  await opened.page.close();
});
