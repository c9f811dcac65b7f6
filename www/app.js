// The playground page: a runner "page" hosting a few workers, linked to module Web Workers
// (realm.js) started with spawnWorker(). Everything the page shows comes from the public API:
//   registry   runner.registry (localWorkers, remoteWorkers, get, entries) and the registry and
//              readiness messages seen on the bus (parent, active, start time of remote workers)
//   jobs       a page worker "playground" requests them (job / jobGroup) and iterates their
//              events; the Cancel button asks requestCancelJobGroup, which honours `cancellable`
//   bus log    runner.bus.on("message"), every message routed through this page's bus
//   pool       spawnWorker(runner, realm.js, { instances }) and runner.registry.instances(name):
//              each instance of the pooled worker with this page's jobs pending on it
import init, { JobError, JobGroupError, Worker, WorkerRunner, spawnWorker } from "workbus";
import { BEHAVIOURS, makeWorker } from "./behaviours.js";

/** Liveness on both sides: a silent Web Worker is gone after 600 ms. */
const HEARTBEAT = { heartbeatInterval: 200, heartbeatMisses: 3 };
/** The page worker that requests the jobs dispatched from this page. */
const REQUESTER = "playground";
const CANCEL_REASON = "cancelled from the playground";
const LOG_KEEP = 3000;
const LOG_SHOW = 250;

const DEFAULT_REALMS = [
  [
    { name: "ocr-1", behaviour: "ocr" },
    { name: "translate-1", behaviour: "translate", parent: "ocr-1" },
  ],
  [
    { name: "ocr-2", behaviour: "ocr" },
    { name: "slow-2", behaviour: "slow" },
  ],
];
const DEFAULT_GROUP = ["planner", "formatter", "ocr-1", "translate-1", "ocr-2"];
/** The pool: Web Workers "pool-<i>" of realm.js, each serving this worker. */
const POOL_WORKER = "thumbnail";
const POOL_SPEC = [{ name: POOL_WORKER, behaviour: "ocr" }];
const POOL_PAYLOAD = { steps: 3, delay: 200 };

const $ = (sel, root = document) => root.querySelector(sel);
const sessionStart = Date.now();

/** Creates an element: h("p.cls", { attr }, ...children). */
function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const clock = (ms) =>
  ms == null ? "—" : new Date(ms).toLocaleTimeString([], { hour12: false }) + "." + String(ms % 1000).padStart(3, "0");
const shortType = (type) => type.replace(/^Bus/, "").replace(/Message$/, "");
const shortId = (id) => (id ? String(id).slice(0, 8) : "");
const show = (value) => {
  if (value === undefined) return "undefined";
  try {
    return typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    return String(value);
  }
};

// ---------------------------------------------------------------------------------------------
// Session state
// ---------------------------------------------------------------------------------------------

let runner;
let requester;
/** Workers this page created, by name (to add children, stop them). */
const pageWorkers = new Map();
/** Web Workers, by realm runner name: { name, status, realm, spec, since }. */
const realms = new Map();
let realmSeq = 0;
/** What the bus told about each worker: { runner, parent, active, startedAt }. */
const workerInfo = new Map();
/** Jobs seen running on each worker (requests minus answers on this bus). */
const busy = new Map();
/** Workers ticked in the dispatch form. */
const selected = new Set(DEFAULT_GROUP);
const jobs = [];
let jobSeq = 0;
/** The running pool (spawnWorker's RealmPool), and its jobs so far. */
let pool = null;
const poolJobs = { sent: 0, answered: 0, failed: 0 };

// ---------------------------------------------------------------------------------------------
// Bus log
// ---------------------------------------------------------------------------------------------

const log = [];
const counts = new Map();
let logDirty = false;

function isHeartbeat(m) {
  return m.type === "BusSystemMessage" && m.target == null && Object.keys(m).length <= 3;
}

function onBusMessage(m) {
  const entry = {
    t: Date.now() - sessionStart,
    type: m.type,
    source: m.source ?? "",
    target: m.target ?? null,
    jobId: m.jobId ?? null,
    heartbeat: isHeartbeat(m),
    registry: m.type === "BusWorkerRegistryMessage" || m.type === "BusWorkerReadyMessage",
  };
  const key = entry.heartbeat ? "heartbeat" : m.type;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  track(m);
  if (!$("#pause-log").checked) {
    log.push(entry);
    if (log.length > LOG_KEEP) log.splice(0, log.length - LOG_KEEP);
  }
  scheduleLog();
}

/** Keeps the registry details and the busy counts that only bus messages tell. */
function track(m) {
  switch (m.type) {
    case "BusWorkerRegistryMessage":
      for (const w of m.workers ?? []) {
        workerInfo.set(w.name, { runner: m.runner, parent: w.parent, active: w.active, startedAt: w.startedAt });
      }
      scheduleRegistry();
      break;
    case "BusWorkerReadyMessage":
      workerInfo.set(m.source, { runner: m.runner, parent: m.parent, active: m.active, startedAt: m.startedAt });
      scheduleRegistry();
      break;
    case "BusActivateWorkerMessage":
    case "BusDeactivateWorkerMessage": {
      const info = workerInfo.get(m.target);
      if (info) info.active = m.type === "BusActivateWorkerMessage";
      scheduleRegistry();
      break;
    }
    case "BusJobRequestMessage":
      if (m.target) (busy.get(m.target) ?? busy.set(m.target, new Set()).get(m.target)).add(m.jobId);
      scheduleRegistry();
      break;
    case "BusJobResponseMessage":
    case "BusJobResponseUrgentMessage":
    case "BusJobStreamEndMessage":
      busy.get(m.source)?.delete(m.jobId);
      scheduleRegistry();
      break;
  }
}

function scheduleLog() {
  if (logDirty) return;
  logDirty = true;
  requestAnimationFrame(renderLog);
}

function logFilter() {
  const type = $("#filter-type").value;
  const text = $("#filter-text").value.trim().toLowerCase();
  const heartbeats = $("#show-heartbeats").checked;
  const registry = $("#show-registry").checked;
  return (e) =>
    (type ? (type === "heartbeat" ? e.heartbeat : e.type === type && !e.heartbeat) : true) &&
    (heartbeats || !e.heartbeat || type === "heartbeat") &&
    (registry || !e.registry || type === e.type) &&
    (!text || [e.source, e.target, e.jobId, e.type].some((v) => v && String(v).toLowerCase().includes(text)));
}

function renderLog() {
  logDirty = false;
  // Counts, and the type filter's options.
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  $("#count-total").textContent = `(${total} messages)`;
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const list = $("#counts");
  const current = $("#filter-type").value;
  list.replaceChildren(
    ...sorted.map(([type, n]) =>
      h(
        "li",
        {},
        h(
          "button.count",
          {
            type: "button",
            title: type === "heartbeat" ? "BusSystemMessage (heartbeats)" : type,
            "aria-pressed": String(current === type),
            onclick: () => {
              $("#filter-type").value = current === type ? "" : type;
              scheduleLog();
            },
          },
          h("span.count-type", { text: type === "heartbeat" ? "heartbeat" : shortType(type) }),
          h("span.count-n", { text: String(n) }),
        ),
      ),
    ),
  );
  const select = $("#filter-type");
  const known = new Set([...select.options].map((o) => o.value));
  for (const [type] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (!known.has(type)) select.append(h("option", { value: type, text: type === "heartbeat" ? "heartbeat (BusSystemMessage)" : type }));
  }
  // Rows, newest first.
  const keep = logFilter();
  const rows = [];
  let matched = 0;
  for (let i = log.length - 1; i >= 0; i--) {
    const e = log[i];
    if (!keep(e)) continue;
    matched++;
    if (rows.length >= LOG_SHOW) continue;
    rows.push(
      h(
        "tr",
        { class: e.heartbeat ? "hb" : e.registry ? "reg" : e.type.startsWith("BusJob") ? "job" : "" },
        h("td.num", { text: String(e.t) }),
        h("td", { title: e.type, text: e.heartbeat ? "heartbeat" : shortType(e.type) }),
        h("td", { text: e.source }),
        h("td", { text: e.target ?? "(all)" }),
        h("td.mono", { title: e.jobId ?? "", text: shortId(e.jobId) }),
      ),
    );
  }
  $("#log-rows").replaceChildren(...rows);
  $("#log-shown").textContent =
    `${matched} of ${log.length} logged messages match` + (matched > LOG_SHOW ? `; the newest ${LOG_SHOW} are shown.` : ".");
}

// ---------------------------------------------------------------------------------------------
// Registry view
// ---------------------------------------------------------------------------------------------

let registryDirty = false;
let registrySig = "";
let targetsSig = "";

function scheduleRegistry() {
  if (registryDirty) return;
  registryDirty = true;
  requestAnimationFrame(renderRegistry);
}

/** The runners and their ready workers, as this page's runner knows them. */
function snapshot() {
  const byRunner = new Map();
  const add = (runnerName, w) => (byRunner.get(runnerName) ?? byRunner.set(runnerName, []).get(runnerName)).push(w);
  for (const e of runner.registry.entries()) {
    add(runner.name, { name: e.name, parent: e.parent, active: e.active, startedAt: e.startedAt, local: true });
  }
  for (const name of new Set(runner.registry.remoteWorkers)) {
    // A pooled name is ready on several runners: it is listed under each.
    const info = workerInfo.get(name) ?? {};
    const hosts = runner.registry.instances(name).map((i) => i.runner).filter((r) => r !== runner.name);
    for (const where of hosts.length ? hosts : [info.runner ?? "?"]) {
      add(where, { name, parent: info.parent ?? null, active: info.active ?? true, startedAt: info.startedAt ?? null, local: false });
    }
  }
  for (const [name, set] of busy) if (!runner.registry.has(name)) set.clear();
  const list = [{ name: runner.name, kind: "page", status: "running", workers: byRunner.get(runner.name) ?? [] }];
  for (const r of realms.values()) {
    list.push({ name: r.name, kind: "webworker", status: r.status, since: r.since, workers: byRunner.get(r.name) ?? [] });
  }
  for (const [name, workers] of byRunner) {
    if (name !== runner.name && !realms.has(name)) list.push({ name, kind: "other", status: "running", workers });
  }
  return list;
}

function renderRegistry() {
  registryDirty = false;
  if (!runner) return;
  const list = snapshot();
  for (const r of realms.values()) {
    // A crashed Web Worker is detected by its missing heartbeats: it is gone once its workers are.
    if (r.status === "crashing" && !list.find((x) => x.name === r.name)?.workers.length) {
      r.status = "crashed";
      r.since = Date.now();
      return scheduleRegistry();
    }
  }
  renderPool();
  const sig = JSON.stringify([list, [...busy].map(([k, v]) => [k, v.size]), pooledLoad()]);
  if (sig !== registrySig) {
    registrySig = sig;
    const focusKey = document.activeElement?.dataset?.key;
    $("#runners").replaceChildren(...list.map(runnerCard));
    if (focusKey) (document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) ?? $("#registry-heading")).focus();
    const webWorkers = list.filter((r) => r.kind === "webworker" && r.status === "running").length;
    $("#session-status").textContent =
      `Runner “${runner.name}” on this page with ${webWorkers} running Web Worker${webWorkers === 1 ? "" : "s"}; ` +
      `heartbeat every ${HEARTBEAT.heartbeatInterval} ms, a runner silent for ` +
      `${HEARTBEAT.heartbeatInterval * HEARTBEAT.heartbeatMisses} ms is gone.`;
    renderParents();
  }
  renderTargets(list);
}

function runnerCard(r) {
  const titleId = `runner-${r.name}`;
  const kindLabel = { page: "this page", webworker: "Web Worker", other: "another realm" }[r.kind];
  const statusText = {
    running: "running",
    starting: "starting…",
    terminated: `terminated at ${clock(r.since)}`,
    crashing: "killed: waiting for missed heartbeats…",
    crashed: `killed at ${clock(r.since)} (gone by missed heartbeats)`,
    failed: "failed to start",
  }[r.status];
  const alive = r.status === "running";
  const tools =
    r.kind === "webworker" && (alive || r.status === "starting")
      ? h(
          "div.runner-tools",
          {},
          h("button.danger.small", {
            type: "button",
            "data-key": `terminate:${r.name}`,
            "aria-label": `Terminate Web Worker ${r.name}`,
            title: "realm.terminate(): its pending jobs fail at once",
            text: "Terminate",
            disabled: !alive,
            onclick: () => terminateRealm(r.name, false),
          }),
          h("button.small", {
            type: "button",
            "data-key": `crash:${r.name}`,
            "aria-label": `Kill Web Worker ${r.name} without notice`,
            title: "worker.terminate() behind the runner's back: found gone by missed heartbeats",
            text: "Kill silently",
            disabled: !alive,
            onclick: () => terminateRealm(r.name, true),
          }),
        )
      : null;
  const roots = r.workers.filter((w) => !w.parent || !r.workers.some((x) => x.name === w.parent));
  const tree = (w) => {
    const kids = r.workers.filter((x) => x.parent === w.name);
    return h("li", {}, workerRow(w, r), kids.length ? h("ul", { "aria-label": `Children of ${w.name}` }, kids.map(tree)) : null);
  };
  return h(
    "article.card.runner",
    { "aria-labelledby": titleId, "data-runner": r.name, "data-status": r.status, class: `card runner ${r.kind} ${r.status}` },
    h(
      "header.runner-head",
      {},
      h("h3", { id: titleId }, h("span.runner-name", { text: r.name }), " ", h("span.kind", { text: kindLabel })),
      tools,
    ),
    h("p.runner-status", { text: `${statusText} · ${r.workers.length} worker${r.workers.length === 1 ? "" : "s"} ready` }),
    r.workers.length
      ? h("ul.tree", { "aria-label": `Workers of ${r.name}` }, roots.map(tree))
      : null,
  );
}

/** This page's jobs pending on each instance of every worker ready on more than one runner. */
function pooledLoad() {
  return [...new Set(runner.registry.remoteWorkers)].flatMap((name) => {
    const instances = runner.registry.instances(name);
    return instances.length > 1 ? instances.map((i) => [name, i.runner, i.pending]) : [];
  });
}

function workerRow(w, r) {
  // For a pooled name, the jobs pending on this instance; else the jobs seen running on the bus.
  const instances = w.local ? [] : runner.registry.instances(w.name);
  const jobsHere = instances.length > 1 ? (instances.find((i) => i.runner === r.name)?.pending ?? 0) : (busy.get(w.name)?.size ?? 0);
  const isRequester = w.name === REQUESTER && w.local;
  return h(
    "div.worker",
    { "data-worker": w.name },
    h("span.worker-name", { text: w.name }),
    h("span", { class: `badge ${w.active ? "ok" : "off"}`, text: w.active ? "active" : "inactive" }),
    jobsHere ? h("span.badge.busy", { text: `${jobsHere} job${jobsHere === 1 ? "" : "s"}` }) : null,
    isRequester ? h("span.badge.note", { text: "requests this page's jobs" }) : null,
    h("span.ready", {}, "ready ", h("time", { datetime: w.startedAt ? new Date(w.startedAt).toISOString() : null, text: clock(w.startedAt) })),
    isRequester || r.status !== "running"
      ? null
      : h(
          "span.worker-tools",
          {},
          h("button.small", {
            type: "button",
            "data-key": `active:${w.name}`,
            "aria-label": `${w.active ? "Deactivate" : "Activate"} ${w.name}`,
            text: w.active ? "Deactivate" : "Activate",
            onclick: () => toggleActive(w.name, w.active),
          }),
          w.local && pageWorkers.has(w.name)
            ? h("button.small", {
                type: "button",
                "data-key": `stop:${w.name}`,
                "aria-label": `Stop ${w.name}`,
                title: "worker.stop(): it leaves the registry",
                text: "Stop",
                onclick: () => stopPageWorker(w.name),
              })
            : null,
        ),
  );
}

function renderParents() {
  const select = $("#add-parent");
  const value = select.value;
  const names = [...pageWorkers.keys()].filter((n) => runner.registry.localWorkers.includes(n));
  select.replaceChildren(h("option", { value: "", text: "none (root worker)" }), ...names.map((n) => h("option", { value: n, text: n })));
  if (names.includes(value)) select.value = value;
}

function renderTargets(list) {
  // One target per name: a pooled name is one target, ready on several runners.
  const hosts = new Map();
  for (const r of list) {
    for (const w of r.workers) if (!(w.local && w.name === REQUESTER)) (hosts.get(w.name) ?? hosts.set(w.name, []).get(w.name)).push(r.name);
  }
  const targets = [...hosts].map(([name, runners]) => ({ name, runner: runners.length > 1 ? `${runners.length} instances` : runners[0] }));
  const sig = JSON.stringify(targets);
  if (sig === targetsSig) return;
  targetsSig = sig;
  const box = $("#targets");
  const focusKey = document.activeElement?.dataset?.key;
  box.replaceChildren(
    ...(targets.length
      ? targets.map((t) =>
          h(
            "label.target",
            {},
            h("input", {
              type: "checkbox",
              value: t.name,
              "data-key": `target:${t.name}`,
              checked: selected.has(t.name),
              onchange: (ev) => (ev.target.checked ? selected.add(t.name) : selected.delete(t.name), updateDispatchButtons()),
            }),
            h("span", { text: t.name }),
            h("span.where", { text: t.runner }),
          ),
        )
      : [h("p.hint", { text: "No worker is ready." })]),
  );
  if (focusKey) box.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
  updateDispatchButtons();
}

function chosenTargets() {
  return [...$("#targets").querySelectorAll("input:checked")].map((i) => i.value);
}

function updateDispatchButtons() {
  const n = chosenTargets().length;
  $("#run-job").disabled = n !== 1;
  $("#run-job").title = n === 1 ? "" : "tick exactly one worker";
  $("#run-group").disabled = n < 1;
}

// ---------------------------------------------------------------------------------------------
// Workers and Web Workers
// ---------------------------------------------------------------------------------------------

async function addPageWorker(name, behaviour, parent) {
  const worker = makeWorker(Worker, name, behaviour);
  if (parent) await pageWorkers.get(parent).addWorkers(worker);
  else await runner.addWorkers(worker);
  pageWorkers.set(name, worker);
  worker.finished.then(() => {
    pageWorkers.delete(name);
    scheduleRegistry();
  });
  scheduleRegistry();
}

async function addRealm(spec) {
  const name = `webworker-${++realmSeq}`;
  const entry = { name, status: "starting", realm: null, spec, since: Date.now() };
  realms.set(name, entry);
  scheduleRegistry();
  const url = new URL("./realm.js", import.meta.url);
  url.searchParams.set("spec", JSON.stringify(spec));
  url.searchParams.set("hb", String(HEARTBEAT.heartbeatInterval));
  url.searchParams.set("misses", String(HEARTBEAT.heartbeatMisses));
  try {
    entry.realm = await spawnWorker(runner, url, { name, timeout: 10_000 });
    entry.status = "running";
  } catch (err) {
    entry.status = "failed";
    throw err;
  } finally {
    scheduleRegistry();
  }
  return entry;
}

async function terminateRealm(name, silently) {
  const entry = realms.get(name);
  if (!entry?.realm || entry.status !== "running") return;
  entry.since = Date.now();
  if (silently) {
    entry.status = "crashing";
    entry.realm.worker.terminate();
  } else {
    entry.status = "terminated";
    await entry.realm.terminate();
  }
  scheduleRegistry();
}

async function toggleActive(name, active) {
  try {
    if (active) await requester.deactivateWorker(name);
    else await requester.activateWorker(name);
  } catch (err) {
    say("#add-msg", `Could not ${active ? "deactivate" : "activate"} ${name}: ${err.message}`, true);
  }
  scheduleRegistry();
}

async function stopPageWorker(name) {
  const worker = pageWorkers.get(name);
  if (!worker) return;
  await worker.stop({ reason: "stopped from the playground", gracePeriod: 0 });
  scheduleRegistry();
}

// ---------------------------------------------------------------------------------------------
// Pool
// ---------------------------------------------------------------------------------------------

/** A whole number from `min` to `max` in `text`, else null. */
function wholeIn(text, min, max) {
  const n = Number(text);
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}

async function startPool() {
  const size = wholeIn($("#pool-size").value, 1, 8);
  if (size === null) return say("#pool-msg", "Web Workers: a whole number from 1 to 8.", true);
  $("#pool-start").disabled = true;
  say("#pool-msg", `Starting ${size} Web Worker${size === 1 ? "" : "s"}…`);
  const url = new URL("./realm.js", import.meta.url);
  url.searchParams.set("spec", JSON.stringify(POOL_SPEC));
  url.searchParams.set("hb", String(HEARTBEAT.heartbeatInterval));
  url.searchParams.set("misses", String(HEARTBEAT.heartbeatMisses));
  try {
    pool = await spawnWorker(runner, url, { instances: size, name: "pool", timeout: 10_000 });
  } catch (err) {
    say("#pool-msg", `The pool did not start: ${err.message}`, true);
    $("#pool-start").disabled = false;
    return;
  }
  // Each instance is a Web Worker of its own in the registry view (Terminate, Kill silently).
  for (const realm of pool.instances) realms.set(realm.runner, { name: realm.runner, status: "running", realm, spec: POOL_SPEC, since: Date.now() });
  say("#pool-msg", `Pool of ${size} started: ${pool.runners.join(", ")}.`);
  scheduleRegistry();
}

async function stopPool() {
  const stopping = pool;
  if (!stopping) return;
  pool = null;
  for (const realm of stopping.instances) {
    const entry = realms.get(realm.runner);
    if (entry?.status === "running") Object.assign(entry, { status: "terminated", since: Date.now() });
  }
  await stopping.terminate();
  say("#pool-msg", "Pool stopped.");
  scheduleRegistry();
}

async function runPoolJobs(ev) {
  ev.preventDefault();
  const count = wholeIn($("#pool-jobs").value, 1, 200);
  if (count === null) return say("#pool-msg", "Jobs to run: a whole number from 1 to 200.", true);
  if (!pool) return;
  // The registry view follows the pending counts while the jobs run.
  const ticker = setInterval(scheduleRegistry, 100);
  const first = poolJobs.sent;
  poolJobs.sent += count;
  const done = Array.from({ length: count }, (_, i) =>
    requester
      .job(POOL_WORKER, { payload: { ...POOL_PAYLOAD, text: `image ${first + i + 1}` }, retries: 1, timeout: 30_000 })
      .then(
        () => poolJobs.answered++,
        () => poolJobs.failed++,
      )
      .finally(() => {
        sayPoolJobs();
        scheduleRegistry();
      }),
  );
  sayPoolJobs();
  scheduleRegistry();
  await Promise.all(done);
  clearInterval(ticker);
  scheduleRegistry();
}

function sayPoolJobs() {
  const { sent, answered, failed } = poolJobs;
  say("#pool-msg", `${answered + failed} of ${sent} jobs answered${failed ? `, ${failed} failed` : ""}.`, failed > 0);
}

let poolSig = "";
/** The pool's instances, each with this page's jobs pending on it (`registry.instances`). */
function renderPool() {
  $("#pool-start").disabled = pool !== null;
  $("#pool-run").disabled = pool === null;
  $("#pool-stop").disabled = pool === null;
  const ready = new Map(runner.registry.instances(POOL_WORKER).map((i) => [i.runner, i.pending]));
  const rows = (pool?.runners ?? []).map((name) => ({ name, pending: ready.get(name) }));
  const sig = JSON.stringify(rows);
  if (sig === poolSig) return;
  poolSig = sig;
  const most = Math.max(1, ...rows.map((r) => r.pending ?? 0));
  $("#pool-instances").replaceChildren(
    ...rows.map(({ name, pending }) =>
      h(
        "li.pool-instance",
        { "data-instance": name, "data-pending": pending === undefined ? null : String(pending) },
        h("span.runner-name", { text: name }),
        h("meter", { min: 0, max: most, value: pending ?? 0, "aria-label": `Jobs pending on ${name}` }),
        h("span.pending", { text: pending === undefined ? "gone" : `${pending} pending` }),
      ),
    ),
  );
}

function say(sel, text, error = false) {
  const el = $(sel);
  el.textContent = text;
  el.classList.toggle("error-text", error);
}

async function onAdd(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const name = form.elements.name.value.trim();
  const behaviour = form.elements.behaviour.value;
  const where = form.elements.where.value;
  const parent = form.elements.parent.value;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return say("#add-msg", "A name is letters, digits, '-', '_' or '.'.", true);
  if (runner.registry.has(name)) return say("#add-msg", `A worker named “${name}” is already ready.`, true);
  const button = $("#add-submit");
  button.disabled = true;
  try {
    if (where === "page") {
      await addPageWorker(name, behaviour, parent || null);
      say("#add-msg", `Added ${name} to this page${parent ? `, as a child of ${parent}` : ""}.`);
    } else {
      say("#add-msg", `Starting a Web Worker for ${name}…`);
      const entry = await addRealm([{ name, behaviour }]);
      say("#add-msg", `Added ${name} in the new Web Worker ${entry.name}.`);
    }
    form.elements.name.value = "";
  } catch (err) {
    say("#add-msg", `Could not add ${name}: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

function readPayload(text) {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

function onDispatch(ev) {
  ev.preventDefault();
  const kind = ev.submitter?.value ?? "group";
  const form = ev.currentTarget;
  const targets = chosenTargets();
  if (kind === "job" && targets.length !== 1) return say("#dispatch-msg", "Tick exactly one worker to run a job.", true);
  if (!targets.length) return say("#dispatch-msg", "Tick at least one worker.", true);
  const timeoutText = form.elements.timeout.value.trim();
  const params = {
    payload: readPayload(form.elements.payload.value),
    cancellable: form.elements.cancellable.checked,
  };
  if (form.elements.jobName.value.trim()) params.name = form.elements.jobName.value.trim();
  if (timeoutText) params.timeout = Number(timeoutText);
  if (kind === "group") params.cancelOnError = form.elements.cancelOnError.checked;
  const job = startJob(kind, targets, params);
  say("#dispatch-msg", `Dispatched ${kind} #${job.seq} to ${targets.join(", ")}.`);
}

function startJob(kind, targets, params) {
  const ctx = kind === "job" ? requester.job(targets[0], params) : requester.jobGroup(targets, params);
  const job = {
    seq: ++jobSeq,
    kind,
    targets,
    params,
    ctx,
    jobId: undefined,
    status: "waiting",
    startedAt: Date.now(),
    endedAt: null,
    members: new Map(
      targets.map((name) => [name, { name, where: runner.registry.get(name)?.runner ?? "?", percent: 0, status: "waiting", chunks: 0, el: null }]),
    ),
    note: "",
    error: null,
    result: undefined,
  };
  jobs.unshift(job);
  $("#job-list").prepend(jobCard(job));
  updateJobsCount();
  ctx.started.then(
    (id) => {
      job.jobId = id;
      if (job.status === "waiting") job.status = "running";
      for (const m of job.members.values()) if (m.status === "waiting") m.status = "running";
      updateJob(job);
    },
    () => {},
  );
  follow(job);
  return job;
}

async function follow(job) {
  try {
    for await (const ev of job.ctx) {
      const m = job.members.get(job.kind === "job" ? job.targets[0] : ev.workerName);
      if (!m) continue;
      if (ev.type === "update") {
        const pct = typeof ev.data === "number" ? ev.data : ev.data?.percent;
        if (Number.isFinite(pct)) m.percent = Math.max(0, Math.min(100, pct));
        if (m.status === "waiting" || m.status === "running") m.status = "working";
      } else if (ev.type === "stream_start") {
        m.status = "streaming";
      } else if (ev.type === "stream_data") {
        appendStream(m, ev.data);
      } else if (ev.type === "stream_end") {
        m.status = "completed";
      }
      updateMember(job, m);
    }
    job.result = await job.ctx;
    job.status = "completed";
    for (const m of job.members.values()) m.status = "completed";
  } catch (err) {
    job.error = err;
    const reason = err instanceof JobError ? err.reason : String(err?.message ?? err);
    job.status = reason === "timeout" ? "timed out" : reason === CANCEL_REASON ? "cancelled" : "failed";
    const done = err instanceof JobGroupError ? err.responses ?? {} : {};
    const stopped = /^worker '(.+)' stopped$/.exec(reason)?.[1];
    for (const m of job.members.values()) {
      if (m.status === "completed") continue;
      if (stopped === m.name) m.status = "stopped";
      else if (err.workerName === m.name) m.status = err.status ?? "failed";
      else if (Object.hasOwn(done, m.name)) m.status = "completed";
      else m.status = job.status === "timed out" ? "timed out" : "cancelled";
    }
  }
  job.endedAt = Date.now();
  updateJob(job);
  updateJobsCount();
}

async function cancelJob(job) {
  if (job.endedAt) return;
  if (!job.params.cancellable) {
    // requestCancelJobGroup() refuses a job dispatched with cancellable: false; ask it anyway,
    // so that what the page shows is the library's answer.
    const ok = job.jobId ? await requester.requestCancelJobGroup(job.jobId, CANCEL_REASON) : false;
    if (!ok) job.note = "Cancel refused: this job was dispatched with cancellable: false, so it runs on (a timeout or a stopped worker still ends it).";
    updateJob(job);
    return;
  }
  if (!job.jobId) {
    await job.ctx.cancel(CANCEL_REASON);
    return;
  }
  const ok = await requester.requestCancelJobGroup(job.jobId, CANCEL_REASON);
  if (!ok && !job.endedAt) job.note = "Cancel refused: the job is no longer known to its requester.";
  updateJob(job);
}

function appendStream(m, data) {
  m.chunks++;
  const pre = m.el?.querySelector(".stream");
  if (!pre) return;
  pre.append(typeof data === "string" ? data : show(data) + "\n");
  pre.scrollTop = pre.scrollHeight;
}

function jobCard(job) {
  const titleId = `job-${job.seq}-title`;
  const what = job.params.name ? `“${job.params.name}”` : "default handler";
  const li = h("li.job", { "data-job": String(job.seq), "data-status": job.status, "data-kind": job.kind });
  const members = [...job.members.values()].map((m) => {
    const pid = `job-${job.seq}-p-${m.name}`;
    m.el = h(
      "div.member",
      { "data-member": m.name, "data-status": m.status },
      h(
        "div.member-head",
        {},
        h("span.member-name", { id: `${pid}-label`, text: m.name }),
        h("span.where", { text: m.where }),
        h("span.member-status", { text: m.status }),
      ),
      h(
        "div.bar",
        {},
        h("progress", { id: pid, max: 100, value: 0, "aria-labelledby": `${pid}-label`, "aria-describedby": `${pid}-pct` }),
        h("span.pct", { id: `${pid}-pct`, text: "0%" }),
      ),
      h("pre.stream", { "aria-label": `${m.name} streamed output`, tabindex: "0" }),
    );
    return m.el;
  });
  li.append(
    h(
      "article.card",
      { "aria-labelledby": titleId },
      h(
        "header.job-head",
        {},
        h("h3", { id: titleId, text: `#${job.seq} ${job.kind === "job" ? "job" : "group"} · ${what}` }),
        h("span.badge.status", { role: "status", text: job.status }),
        h("span.elapsed", { text: "0.0 s" }),
        h("button.small.cancel", {
          type: "button",
          "aria-label": `Cancel ${job.kind} #${job.seq}`,
          text: "Cancel",
          onclick: () => cancelJob(job).catch((err) => ((job.note = `Cancel failed: ${err.message}`), updateJob(job))),
        }),
      ),
      h("p.meta", {}),
      h("div.members", {}, members),
      h("p.note", { role: "status" }),
      h("div.outcome", {}),
    ),
  );
  job.el = li;
  updateJob(job);
  return li;
}

function updateMember(job, m) {
  if (!m.el) return;
  m.el.dataset.status = m.status;
  m.el.querySelector(".member-status").textContent = m.status;
  m.el.querySelector("progress").value = m.percent;
  m.el.querySelector(".pct").textContent = `${Math.round(m.percent)}%`;
}

function updateJob(job) {
  const li = job.el;
  if (!li) return;
  li.dataset.status = job.status;
  const badge = li.querySelector(".status");
  badge.textContent = job.status;
  badge.dataset.status = job.status;
  const p = job.params;
  li.querySelector(".meta").textContent = [
    job.jobId ? `job id ${job.jobId}` : "waiting for the workers to be ready…",
    p.timeout ? `timeout ${p.timeout} ms` : "no timeout",
    p.cancellable ? "cancellable" : "not cancellable",
    job.kind === "group" ? (p.cancelOnError ? "cancel on error" : "errors do not cancel") : null,
  ]
    .filter(Boolean)
    .join(" · ");
  const cancel = li.querySelector(".cancel");
  cancel.disabled = Boolean(job.endedAt);
  cancel.textContent = job.endedAt ? "Done" : "Cancel";
  li.querySelector(".note").textContent = job.note;
  for (const m of job.members.values()) updateMember(job, m);
  tickElapsed(job);
  const outcome = li.querySelector(".outcome");
  if (job.endedAt && !outcome.childElementCount) {
    if (job.error) {
      const e = job.error;
      const reason = e instanceof JobError ? e.reason : String(e?.message ?? e);
      const label = { "timed out": "Timed out", cancelled: "Cancelled", failed: "Failed" }[job.status] ?? "Failed";
      const details = [
        e.name ? `${e.name}` : null,
        e.workerName ? `worker ${e.workerName}` : null,
        e.status ? `status ${e.status}` : null,
        e.response !== undefined ? `response ${show(e.response)}` : null,
      ].filter(Boolean);
      outcome.append(
        h(
          "div.error",
          { role: "alert" },
          h("strong", { text: `${label}: ` }),
          h("span.reason", { text: reason }),
          details.length ? h("p.error-details", { text: details.join(" · ") }) : null,
        ),
      );
      const partial = e instanceof JobGroupError ? e.responses : null;
      if (partial && Object.keys(partial).length) outcome.append(responseBlock("Responses received before the failure", partial));
    } else {
      outcome.append(responseBlock("Response", job.result));
    }
  }
}

function responseBlock(title, value) {
  let text;
  try {
    text = JSON.stringify(value, null, 2) ?? "undefined";
  } catch {
    text = String(value);
  }
  return h("details.response", {}, h("summary", { text: title }), h("pre", { text }));
}

function tickElapsed(job) {
  const el = job.el?.querySelector(".elapsed");
  if (el) el.textContent = `${(((job.endedAt ?? Date.now()) - job.startedAt) / 1000).toFixed(1)} s`;
}

function updateJobsCount() {
  const running = jobs.filter((j) => !j.endedAt).length;
  $("#jobs-count").textContent = jobs.length ? `${jobs.length} job${jobs.length === 1 ? "" : "s"}, ${running} running.` : "No jobs yet.";
}

function clearFinished() {
  for (let i = jobs.length - 1; i >= 0; i--) {
    if (jobs[i].endedAt) {
      jobs[i].el.remove();
      jobs.splice(i, 1);
    }
  }
  updateJobsCount();
}

const PRESETS = {
  group: { targets: DEFAULT_GROUP, payload: '{"text": "workers cooperate over a message bus", "delay": 250}', timeout: "10000", cancellable: true },
  slow: { targets: ["slow-2"], payload: '{"steps": 24, "delay": 500}', timeout: "", cancellable: true },
  fail: { targets: ["ocr-1", "ocr-2"], payload: '{"fail": true, "delay": 250}', timeout: "", cancellable: true },
  timeout: { targets: ["slow-2"], payload: '{"steps": 24, "delay": 500}', timeout: "1500", cancellable: true },
};

function applyPreset(name) {
  const p = PRESETS[name];
  selected.clear();
  for (const t of p.targets) selected.add(t);
  for (const input of $("#targets").querySelectorAll("input")) input.checked = selected.has(input.value);
  $("#payload").value = p.payload;
  $("#timeout").value = p.timeout;
  $("#cancellable").checked = p.cancellable;
  $("#job-name").value = "";
  updateDispatchButtons();
  const missing = p.targets.filter((t) => !runner.registry.has(t));
  say("#dispatch-msg", missing.length ? `Preset set; not ready: ${missing.join(", ")}.` : `Preset “${name}” set: press Run ${p.targets.length === 1 ? "job" : "group"}.`, missing.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

function wire() {
  $("#add-behaviour").replaceChildren(...Object.entries(BEHAVIOURS).map(([k, v]) => h("option", { value: k, text: `${k}: ${v}` })));
  $("#add-form").addEventListener("submit", onAdd);
  $("#add-form").addEventListener("change", () => {
    $("#add-parent-row").hidden = $("#add-form").elements.where.value !== "page";
  });
  $("#dispatch-form").addEventListener("submit", onDispatch);
  for (const b of document.querySelectorAll("[data-preset]")) b.addEventListener("click", () => applyPreset(b.dataset.preset));
  $("#clear-jobs").addEventListener("click", clearFinished);
  $("#pool-start").addEventListener("click", startPool);
  $("#pool-stop").addEventListener("click", stopPool);
  $("#pool-form").addEventListener("submit", runPoolJobs);
  for (const id of ["#filter-type", "#filter-text", "#show-heartbeats", "#show-registry"]) {
    $(id).addEventListener("input", scheduleLog);
  }
  $("#clear-log").addEventListener("click", () => {
    log.length = 0;
    scheduleLog();
  });
  setInterval(() => {
    for (const job of jobs) if (!job.endedAt) tickElapsed(job);
  }, 250);
}

async function main() {
  wire();
  await init();
  runner = new WorkerRunner({ name: "page", ...HEARTBEAT });
  runner.bus.on("message", onBusMessage);
  // Workers that leave (stopped, their runner ended or went silent) send no message of their own.
  runner.registry.on("ready", scheduleRegistry).on("gone", scheduleRegistry);
  runner.on("error", (error) => say("#session-status", `Runner error: ${error.message}`, true));
  requester = new Worker(REQUESTER);
  await runner.addWorkers(requester);
  await runner.start({ autoEnd: false });
  await addPageWorker("planner", "planner", null);
  await addPageWorker("formatter", "formatter", "planner");
  await Promise.all(DEFAULT_REALMS.map((spec) => addRealm(spec)));
  scheduleRegistry();
  Object.assign(window, { playground: { runner, requester, realms, jobs, pageWorkers, pool: () => pool } });
}

window.ready = main().catch((err) => {
  say("#session-status", `The session did not start: ${err.message}`, true);
  throw err;
});
