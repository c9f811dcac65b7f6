// The transport contract (tests/node/contract/cases.mjs) over a module Web Worker in headless
// Chromium: one page (pages/contract.js) runs each case in the browser on a fresh page runner
// and Web Worker; this file reports each as a test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contractCases } from "../node/contract/cases.mjs";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";

const env = useServerAndBrowser();
let opening;
/** The one contract page, opened by the first test that needs it. */
const contractPage = () => (opening ??= openPage(env.browser.context, `${env.server.origin}/contract.html`));

contractCases.forEach((c, i) => {
  test(`Web Worker contract: ${c.name}`, T, async () => {
    const { page } = await contractPage();
    const result = await page.evaluate((index) => window.runCase(index), i);
    assert.deepEqual(result, { ok: true }, result.error);
  });
});

test("Web Worker contract: no console errors", T, async () => assertNoErrors(await contractPage(), "contract page"));
