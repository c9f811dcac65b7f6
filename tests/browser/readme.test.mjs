// The README's Web Worker example, run as written: its page script and worker script are the
// README's code blocks (see readme.mjs), served under /readme/ with a page that has the import
// map for "workbus".
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, assertNoErrors, openPage, useServerAndBrowser } from "./harness.mjs";
import { SECTION, readmeFiles } from "./readme.mjs";

const env = useServerAndBrowser();

test("the README's page + Web Worker example runs as written", T, async (t) => {
  const files = readmeFiles();
  assert.deepEqual(
    Object.keys(files).sort(),
    ["index.html", "main.js", "ocr-worker.js"],
    `README section "${SECTION}": a \`\`\`js block starting "// main.js" (calls spawnWorker) and one starting "// ocr-worker.js"`,
  );
  const opened = await openPage(env.browser.context, `${env.server.origin}/readme/index.html`);
  t.after(() => opened.page.close());
  assert.equal(await opened.page.evaluate(() => document.body.innerText.trim()), "page 1: Hello, world");
  const logs = opened.logs.filter((l) => l.startsWith("[page log]")).map((l) => l.replace(/^\[page log\] (.*) \(.*\)$/, "$1"));
  assert.deepEqual(logs, [`worker runner ${logs[0]?.match(/worker runner (\S+)/)?.[1]} serves ocr`, "ocr: 50%", "ocr: 100%"]);
  assertNoErrors(opened);
});
