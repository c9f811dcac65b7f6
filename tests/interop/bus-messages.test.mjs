// worker.sendBusMessage: Pipecat's pipeline-side messages (TTS, frames, UI events) sent from
// JavaScript reach a real Pipecat worker over Redis as the classes Pipecat acts on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "workbus";
import { T, usePyJsSessions } from "./helpers.mjs";

const speaker = new Worker("js-speaker");
let py;
usePyJsSessions({ workers: [speaker] }, (s) => ({ py } = s));

const received = (type, worker = "py-worker") =>
  py.waitFor((e) => e.event === "bus_message" && e.type === type && e.worker === worker, 10_000, `${type} at ${worker}`);

test("a BusTTSSpeakMessage addressed to a Python worker arrives with its text and flag", T, async () => {
  await speaker.sendBusMessage({ type: "BusTTSSpeakMessage", target: "py-worker", text: "Bonjour à tous ☃", appendToContext: false });
  const seen = await received("BusTTSSpeakMessage");
  assert.deepEqual(seen, {
    event: "bus_message",
    worker: "py-worker",
    type: "BusTTSSpeakMessage",
    source: "js-speaker",
    target: "py-worker",
    fields: { text: "Bonjour à tous ☃", append_to_context: false },
  });
  assert.equal(py.events.some((e) => e.event === "bus_message" && e.type === "BusTTSSpeakMessage" && e.worker === "py-helper"), false);
});

test("a broadcast BusFrameMessage carries a Pipecat TextFrame that Python rebuilds", T, async () => {
  const frame = { __type__: "pipecat.frames.frames.TextFrame", __data__: { id: 4242, name: "TextFrame#7", metadata: {}, text: "frames cross" } };
  await speaker.sendBusMessage({ type: "BusFrameMessage", frame, direction: "UPSTREAM", bridge: "voice" });
  for (const worker of ["py-worker", "py-helper"]) {
    const seen = await received("BusFrameMessage", worker);
    assert.equal(seen.source, "js-speaker");
    assert.equal(seen.target, null);
    assert.deepEqual(seen.fields, { frame_type: "TextFrame", text: "frames cross", id: 4242, direction: "UPSTREAM", bridge: "voice" });
  }
});

test("a BusUIEventMessage reaches the Python worker with its name and payload", T, async () => {
  await speaker.sendBusMessage({ type: "BusUIEventMessage", target: "py-helper", eventName: "clicked", payload: { button: "ok", n: 2 } });
  const seen = await received("BusUIEventMessage", "py-helper");
  assert.equal(seen.source, "js-speaker");
  assert.deepEqual(seen.fields, { event_name: "clicked", payload: { button: "ok", n: 2 } });
});
