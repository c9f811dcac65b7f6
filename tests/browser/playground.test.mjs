// The playground (www/), served by its documented command (scripts/playground, here with
// --port 0 --no-build: the browser tests run on a built pkg/) and driven by clicks and keys in
// headless Chromium, in a browser context of its own:
//   - the default session: page workers and two Web Workers in the registry view;
//   - "Run group" across the page and both Web Workers: every progress bar reaches 100% and
//     every stream completes;
//   - a failing job and a timeout, shown with their reasons;
//   - Cancel on a running job; Cancel refused on a job dispatched with cancellable: false;
//   - Terminate a Web Worker mid-job: its job fails with "worker 'slow-2' stopped"; killing one
//     behind the runner's back fails its job within the heartbeat bound;
//   - adding a worker in a new Web Worker with the keyboard only, and a child worker on the page;
//   - a pool of 4 Web Workers: each instance with its pending jobs, up while jobs run, back to 0;
//   - no console errors. Screenshots: tests/artifacts/playground.png (full page),
//     tests/artifacts/playground-narrow.png and playground-readme.png; with
//     WORKBUS_UPDATE_SCREENSHOT=1 the last one replaces www/screenshot.png (the README's).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { assertNoErrors, openPage, root, useServerAndBrowser } from "./harness.mjs";

const artifacts = join(root, "tests", "artifacts");

/** Starts scripts/playground on a free port; resolves with { url, close() }. */
async function startPlayground() {
  const child = spawn(join(root, "scripts", "playground"), ["--port", "0", "--no-build"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`scripts/playground printed no URL:\n${output}`)), 15_000);
    const onData = (chunk) => {
      output += chunk;
      const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[0]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`scripts/playground exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

let opened;
// Registered before useServerAndBrowser's hook, so it runs first: the page closes before the browser.
after(async () => {
  await opened?.page.close();
});
const env = useServerAndBrowser(startPlayground);

const job = (page, n) => page.locator(`.job[data-job="${n}"]`);
const member = (page, n, name) => job(page, n).locator(`.member[data-member="${name}"]`);
const button = (page, name) => page.getByRole("button", { name, exact: true });

/** Waits until job n's status is one of `statuses`; returns it. */
async function settled(page, n, statuses = ["completed", "failed", "cancelled", "timed out"], timeout = 15_000) {
  await page.waitForFunction(
    ([n, statuses]) => statuses.includes(document.querySelector(`.job[data-job="${n}"]`)?.dataset.status),
    [n, statuses],
    { timeout, polling: 50 },
  );
  return job(page, n).getAttribute("data-status");
}

/** Waits until a member of job n has made some progress, without being done. */
async function midway(page, n, name) {
  await page.waitForFunction(
    ([n, name]) => {
      const bar = document.querySelector(`.job[data-job="${n}"] .member[data-member="${name}"] progress`);
      return bar && bar.value > 0 && bar.value < 100;
    },
    [n, name],
    { timeout: 10_000, polling: 20 },
  );
}

async function presetAndRun(page, preset, kind) {
  await button(page, preset).click();
  await button(page, kind === "job" ? "Run job" : "Run group").click();
}

test("the playground: a live session driven by clicks and keys", { timeout: 120_000 }, async (t) => {
  opened = await openPage(env.browser.context, env.server.url);
  const { page } = opened;
  await page.setViewportSize({ width: 1440, height: 1000 });

  await t.test("the default session is in the registry view", async () => {
    const expected = {
      page: ["playground", "planner", "formatter"],
      "webworker-1": ["ocr-1", "translate-1"],
      "webworker-2": ["ocr-2", "slow-2"],
    };
    for (const [runner, workers] of Object.entries(expected)) {
      const card = page.locator(`[data-runner="${runner}"]`);
      await card.waitFor();
      assert.deepEqual(await card.locator("[data-worker]").evaluateAll((els) => els.map((e) => e.dataset.worker)), workers);
      assert.equal(await card.getAttribute("data-status"), "running");
    }
    // Parent and child: formatter under planner (page), translate-1 under ocr-1 (Web Worker).
    await page.locator('[data-runner="page"] li:has(> [data-worker="planner"]) ul [data-worker="formatter"]').waitFor();
    await page.locator('[data-runner="webworker-1"] li:has(> [data-worker="ocr-1"]) ul [data-worker="translate-1"]').waitFor();
    assert.match(await page.locator('[data-worker="ocr-2"] .ready').innerText(), /^ready \d\d:\d\d:\d\d\.\d{3}$/);
    assert.match(await page.locator('[data-worker="slow-2"] .badge.ok').innerText(), /^active$/);
  });

  await t.test("Run group across the page and both Web Workers: progress reaches 100%, streams complete", async () => {
    await button(page, "Run group").click();
    const members = ["planner", "formatter", "ocr-1", "translate-1", "ocr-2"];
    await midway(page, 1, "translate-1"); // live: a bar part-way
    assert.equal(await settled(page, 1), "completed");
    const where = {};
    for (const name of members) {
      const m = member(page, 1, name);
      assert.equal(await m.locator("progress").evaluate((p) => p.value), 100, `${name} progress`);
      assert.equal(await m.locator(".pct").innerText(), "100%");
      assert.equal(await m.getAttribute("data-status"), "completed");
      where[name] = await m.locator(".where").innerText();
    }
    assert.deepEqual(new Set(Object.values(where)), new Set(["page", "webworker-1", "webworker-2"]));
    const stream = (name) => member(page, 1, name).locator(".stream").textContent();
    assert.equal(await stream("translate-1"), "travailleurs coopèrent sur un message bus");
    assert.equal(await stream("formatter"), "Workers Cooperate Over A Message Bus");
    assert.match(await stream("ocr-2"), /page 4: workers cooperate over a message bus\n$/);
    assert.match(await stream("planner"), /formatter says: Workers Cooperate Over A Message Bus\n$/);
    assert.match(await job(page, 1).locator(".response pre").textContent(), /"travailleurs coopèrent sur un message bus"/);
  });

  await t.test("the bus log shows the session's messages, with filters and counts", async () => {
    await page.locator("#filter-type").selectOption("BusJobStreamDataMessage");
    await page.locator("#filter-text").fill("translate-1");
    await page.waitForFunction(() => document.querySelectorAll("#log-rows tr").length === 6); // six words
    const rows = await page.locator("#log-rows tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    for (const [, type, source, target, jobId] of rows) {
      assert.deepEqual([type, source, target], ["JobStreamData", "translate-1", "playground"]);
      assert.match(jobId, /^[0-9a-f]{8}$/);
    }
    const count = await page.locator(".count", { hasText: "JobStreamData" }).locator(".count-n").innerText();
    assert.ok(Number(count) >= 6 + 6 + 4 + 4 + 4);
    await page.locator("#filter-type").selectOption("");
    await page.locator("#filter-text").fill("");
  });

  await t.test("a failing job and a timeout show their reasons", async () => {
    await presetAndRun(page, "failing job", "group");
    assert.equal(await settled(page, 2), "failed");
    const error = job(page, 2).locator(".error");
    assert.match(await error.locator(".reason").innerText(), /^worker 'ocr-[12]' errored$/);
    assert.match(await error.innerText(), /JobGroupError · worker ocr-[12] · status error · response \{"error":"ocr-[12] failed on purpose/);
    const failing = (await error.locator(".reason").innerText()).match(/ocr-[12]/)[0];
    assert.equal(await member(page, 2, failing).getAttribute("data-status"), "error");

    await presetAndRun(page, "timeout", "job");
    assert.equal(await settled(page, 3), "timed out");
    assert.equal(await job(page, 3).locator(".error .reason").innerText(), "timeout");
    assert.match(await job(page, 3).locator(".error").innerText(), /^Timed out: timeout/);
  });

  await t.test("Cancel stops a running job; a job dispatched with cancellable: false refuses it", async () => {
    await presetAndRun(page, "slow job", "job");
    await midway(page, 4, "slow-2");
    await button(page, "Cancel job #4").click();
    assert.equal(await settled(page, 4), "cancelled");
    assert.equal(await job(page, 4).locator(".error .reason").innerText(), "cancelled from the playground");

    await button(page, "slow job").click();
    await page.getByLabel("cancellable", { exact: true }).uncheck();
    await button(page, "Run job").click();
    await midway(page, 5, "slow-2");
    await button(page, "Cancel job #5").click();
    await job(page, 5).locator(".note", { hasText: "Cancel refused" }).waitFor();
    await page.waitForTimeout(600); // a bounded wait for what must not happen: the refused cancel stops nothing
    assert.equal(await job(page, 5).getAttribute("data-status"), "running");
    assert.match(await job(page, 5).locator(".meta").innerText(), /not cancellable/);
  });

  await t.test("Terminate a Web Worker mid-job: its job fails with \"worker 'slow-2' stopped\"", async () => {
    await midway(page, 5, "slow-2");
    await button(page, "Terminate Web Worker webworker-2").click();
    assert.equal(await settled(page, 5, undefined, 5_000), "failed");
    assert.equal(await job(page, 5).locator(".error .reason").innerText(), "worker 'slow-2' stopped");
    assert.equal(await member(page, 5, "slow-2").getAttribute("data-status"), "stopped");
    const card = page.locator('[data-runner="webworker-2"]');
    await page.waitForFunction(() => document.querySelector('[data-runner="webworker-2"]')?.dataset.status === "terminated");
    assert.equal(await card.locator("[data-worker]").count(), 0);
    await page.waitForFunction(() => !document.querySelector('#targets input[value="slow-2"]'));
  });

  await t.test("a Web Worker killed behind the runner's back: its job fails within the heartbeat bound", async () => {
    await page.locator('#targets input[value="ocr-1"]').waitFor();
    for (const input of await page.locator("#targets input").all()) await input.setChecked((await input.getAttribute("value")) === "ocr-1");
    await page.locator("#payload").fill('{"steps": 24, "delay": 400}');
    await page.locator("#timeout").fill("");
    await button(page, "Run job").click();
    await midway(page, 6, "ocr-1");
    const t0 = Date.now();
    await button(page, "Kill Web Worker webworker-1 without notice").click();
    assert.equal(await settled(page, 6, undefined, 5_000), "failed");
    const elapsed = Date.now() - t0;
    assert.equal(await job(page, 6).locator(".error .reason").innerText(), "worker 'ocr-1' stopped");
    assert.ok(elapsed < 2_000, `failed after ${elapsed} ms (heartbeat bound 600 ms)`);
    await page.waitForFunction(() => document.querySelector('[data-runner="webworker-1"]')?.dataset.status === "crashed");
  });

  await t.test("keyboard only: Tab to the add form, add a worker in a new Web Worker", async () => {
    await page.locator("body").focus();
    await page.evaluate(() => document.activeElement?.blur());
    let reached = false;
    for (let i = 0; i < 120 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.id === "add-name");
    }
    assert.ok(reached, "the name field is reachable with Tab");
    await page.keyboard.type("ocr-3");
    await page.keyboard.press("Tab"); // behaviour: ocr (the first)
    await page.keyboard.press("Tab"); // where: "this page"
    await page.keyboard.press("ArrowRight"); // "a new Web Worker"
    assert.equal(await page.evaluate(() => document.activeElement?.value), "webworker");
    await page.keyboard.press("Tab"); // the parent row is hidden for a Web Worker: the button
    assert.equal(await page.evaluate(() => document.activeElement?.id), "add-submit");
    await page.keyboard.press("Enter");
    await page.locator('[data-runner="webworker-3"] [data-worker="ocr-3"]').waitFor({ timeout: 10_000 });
    await page.locator("#add-msg", { hasText: "Added ocr-3 in the new Web Worker webworker-3." }).waitFor();
  });

  await t.test("a child worker on the page, then a group over the new workers", async () => {
    await page.getByLabel("Name", { exact: true }).fill("helper");
    await page.getByLabel("Behaviour", { exact: true }).selectOption("formatter");
    await page.getByLabel("this page", { exact: true }).check();
    await page.getByLabel("Parent", { exact: true }).selectOption("planner");
    await button(page, "Add worker").click();
    await page.locator('[data-runner="page"] li:has(> [data-worker="planner"]) ul [data-worker="helper"]').waitFor();

    for (const input of await page.locator("#targets input").all()) {
      await input.setChecked(["planner", "helper", "ocr-3"].includes(await input.getAttribute("value")));
    }
    await page.locator("#payload").fill('{"text": "workers cooperate over a message bus", "delay": 250}');
    await page.getByLabel("cancellable", { exact: true }).check();
    await button(page, "Run group").click();
    await midway(page, 7, "ocr-3");
    await page.setViewportSize({ width: 1440, height: 1400 });
    mkdirSync(artifacts, { recursive: true });
    // The README's picture is tracked: a test run leaves it alone unless asked to update it.
    const readmeShot = process.env.WORKBUS_UPDATE_SCREENSHOT ? join(root, "www", "screenshot.png") : join(artifacts, "playground-readme.png");
    await page.screenshot({ path: readmeShot });
    await page.screenshot({ path: join(artifacts, "playground.png"), fullPage: true });
    assert.equal(await settled(page, 7), "completed");
    for (const name of ["planner", "helper", "ocr-3"]) {
      assert.equal(await member(page, 7, name).locator("progress").evaluate((p) => p.value), 100);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, "playground-narrow.png"), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "no horizontal scrolling on a narrow screen");
  });

  await t.test("a pool of 4 Web Workers: each instance shows its pending jobs, which go up while jobs run and back to 0", async () => {
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.getByLabel("Web Workers", { exact: true }).fill("4");
    await button(page, "Start pool").click();
    const instances = page.locator("#pool-instances [data-instance]");
    await page.waitForFunction(() => document.querySelectorAll("#pool-instances [data-instance]").length === 4, null, { timeout: 10_000 });
    const names = ["pool-1", "pool-2", "pool-3", "pool-4"];
    assert.deepEqual(await instances.evaluateAll((els) => els.map((e) => [e.dataset.instance, e.dataset.pending])), names.map((n) => [n, "0"]));
    // Each instance is a Web Worker in the registry view, serving the pooled worker.
    for (const name of names) await page.locator(`[data-runner="${name}"] [data-worker="thumbnail"]`).waitFor();

    await page.getByLabel("Jobs to run", { exact: true }).fill("12");
    await button(page, "Run jobs on the pool").click();
    // 12 jobs at once, fewest pending first: every instance has jobs pending, shown live.
    await page.waitForFunction(
      () => [...document.querySelectorAll("#pool-instances [data-instance]")].every((e) => Number(e.dataset.pending) > 0),
      null,
      { timeout: 5_000, polling: 20 },
    );
    assert.match(await page.locator('#pool-instances [data-instance="pool-1"] .pending').innerText(), /^[1-9]\d* pending$/);
    await page.locator("#pool-msg", { hasText: "12 of 12 jobs answered." }).waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      () => [...document.querySelectorAll("#pool-instances [data-instance]")].every((e) => e.dataset.pending === "0"),
      null,
      { timeout: 5_000, polling: 20 },
    );
    assert.deepEqual(await instances.evaluateAll((els) => els.map((e) => e.querySelector(".pending").textContent)), names.map(() => "0 pending"));

    await button(page, "Stop pool").click();
    await page.locator("#pool-msg", { hasText: "Pool stopped." }).waitFor();
    assert.equal(await instances.count(), 0);
    await page.waitForFunction(() => !document.querySelector('#targets input[value="thumbnail"]'));
  });

  assertNoErrors(opened, "playground");
});
