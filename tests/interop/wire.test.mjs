// The wire codec against Pipecat's own serializer, both directions:
//   Python → JS: every golden vector of tests/fixtures/pipecat-wire.json (written by Pipecat's
//                JSONMessageSerializer) decodes to the message object of its class;
//   JS → Python: what encodeMessage() writes for those messages is read back by Pipecat's
//                serializer into the same class and fields (tests/fixtures/check_wire_from_js.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeMessage, encodeMessage } from "workbus";
import { python, root } from "./helpers.mjs";

const golden = JSON.parse(readFileSync(join(root, "tests", "fixtures", "pipecat-wire.json"), "utf8"));
const byName = Object.fromEntries(golden.map((v) => [v.name, v]));
// Local-only messages never cross a wire (Pipecat's buses do not publish them).
const LOCAL_ONLY = new Set(["BusAddWorkerMessage", "BusWorkerLocalErrorMessage"]);

test("the golden vectors are Pipecat 1.14's serializer output for the whole catalogue", () => {
  const r = spawnSync(python, [join(root, "tests", "fixtures", "generate_wire_vectors.py"), "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(new Set(golden.map((v) => v.type)).size, 32);
});

test("Python → JS: every vector decodes to a message object of its class", (t) => {
  const types = new Set();
  for (const v of golden) {
    if (LOCAL_ONLY.has(v.type)) continue;
    const m = decodeMessage(v.json);
    assert.ok(m, `${v.name} decoded to ${m}`);
    assert.equal(m.type, v.type, v.name);
    assert.equal(m.source, JSON.parse(v.json).__data__.source, v.name);
    types.add(v.type);
  }
  t.diagnostic(`decoded ${types.size} message types: ${[...types].sort().join(", ")}`);
});

test("Python → JS: fields come out camelCase, seconds as ms, bytes as Uint8Array, enums as names", () => {
  const req = decodeMessage(byName["job-request-rich"].json);
  assert.equal(req.jobId, "3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b");
  assert.equal(req.jobName, "analyze");
  assert.equal(req.target, "worker");
  assert.equal(req.payload.text, "héllo wörld — ☃ 日本語 🎉");
  assert.deepEqual(req.payload.bytes, new Uint8Array([0, 1, 2, 254, 255]));
  assert.equal(req.payload.nothing, null);
  assert.equal(req.payload.big, 9007199254740991);

  const reg = decodeMessage(byName["registry-two-entries"].json);
  assert.equal(reg.runner, "runner-py");
  assert.deepEqual(
    reg.workers.map((w) => [w.name, w.parent, w.active, w.bridged, w.startedAt]),
    [
      ["parent", null, true, false, 1767225600250],
      ["child", "parent", false, true, 1767225601500],
    ],
  );
  const ready = decodeMessage(byName["worker-ready-full"].json);
  assert.equal(ready.startedAt, 1767225600125);

  for (const status of ["completed", "cancelled", "failed", "error"]) {
    assert.equal(decodeMessage(byName[`job-response-${status}`].json).status, status);
  }
  const audio = decodeMessage(byName["frame-audio-upstream-bridge"].json);
  assert.equal(audio.direction, "UPSTREAM");
  assert.equal(audio.bridge, "voice");
  assert.deepEqual(audio.frame.__data__.audio, new Uint8Array([0, 1, 2, 3]));
  assert.equal(decodeMessage(byName["tts-speak"].json).appendToContext, false);
  assert.equal(decodeMessage(byName["ui-job-group-started"].json).at, 1767225600123);
  assert.equal(decodeMessage(byName["job-cancel-no-reason"].json).reason ?? null, null);
});

test("JS → Python: Pipecat's serializer reads encodeMessage()'s output back to the same class and fields", (t) => {
  const out = [];
  for (const v of golden) {
    if (LOCAL_ONLY.has(v.type)) continue;
    out.push({ name: v.name, json: encodeMessage(decodeMessage(v.json)) });
  }
  const dir = mkdtempSync(join(tmpdir(), "workbus-wire-"));
  try {
    const file = join(dir, "from-js.json");
    writeFileSync(file, JSON.stringify(out));
    const r = spawnSync(python, [join(root, "tests", "fixtures", "check_wire_from_js.py"), file, "--quiet"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    t.diagnostic(r.stdout.trim().split("\n").at(-1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
