// worker.sendBusMessage: any Pipecat bus message, built by the application, goes out with the
// worker as its source; bad input is a TypeError naming what is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "workbus";
import { T, startRunner, waitFor, record, assertMessage, catchError } from "./helpers.mjs";

test("a targeted TTS message and a broadcast frame reach their workers with the sender as source", T, async (t) => {
  const sender = new Worker("sender");
  const speaker = new Worker("speaker");
  const other = new Worker("other");
  const speakerSeen = record(speaker, "busMessage");
  const otherSeen = record(other, "busMessage");
  await startRunner(t, [sender, speaker, other]);

  await sender.sendBusMessage({ type: "BusTTSSpeakMessage", target: "speaker", text: "hello" });
  const frame = { __type__: "pipecat.frames.frames.TextFrame", __data__: { text: "hi" } };
  await sender.sendBusMessage({ type: "BusFrameMessage", frame, direction: "UPSTREAM" });
  await sender.sendBusMessage({ type: "BusUIEventMessage", eventName: "clicked", payload: { x: 1 } });

  const tts = await waitFor(() => speakerSeen.find((m) => m.type === "BusTTSSpeakMessage"), { what: "TTS" });
  assertMessage(tts, { type: "BusTTSSpeakMessage", source: "sender", target: "speaker", text: "hello", appendToContext: true });
  const ui = await waitFor(() => otherSeen.find((m) => m.type === "BusUIEventMessage"), { what: "UI event" });
  assertMessage(ui, { type: "BusUIEventMessage", source: "sender", target: null, eventName: "clicked", payload: { x: 1 } });
  assert.equal(otherSeen.some((m) => m.type === "BusTTSSpeakMessage"), false, "a message for 'speaker' is not another worker's");
  // Frames are for bridges, not workers (Pipecat's BaseWorker ignores them): the bus observer sees it.
  assert.equal(speakerSeen.some((m) => m.type === "BusFrameMessage"), false);
});

test("a frame message goes on the bus with its fields as given", T, async (t) => {
  const sender = new Worker("sender");
  const runner = await startRunner(t, [sender]);
  const seen = record(runner.bus, "message");
  const frame = { __type__: "pipecat.frames.frames.TextFrame", __data__: { text: "hi" } };
  await sender.sendBusMessage({ type: "BusFrameMessage", frame, direction: "UPSTREAM", bridge: "voice" });
  const m = await waitFor(() => seen.find((x) => x.type === "BusFrameMessage"), { what: "frame" });
  assertMessage(m, { type: "BusFrameMessage", source: "sender", target: null, frame, direction: "UPSTREAM", bridge: "voice" });
});

test("bad messages are TypeErrors naming the problem; a loose worker cannot send", T, async (t) => {
  const sender = new Worker("sender");
  await startRunner(t, [sender]);
  const cases = [
    [undefined, /message must be a bus message object, got undefined/],
    [[], /message must be a bus message object/],
    [{ target: "x" }, /message: 'type' is missing/],
    [{ type: "BusNoSuchMessage" }, /message: unknown message type 'BusNoSuchMessage'/],
    [{ type: "BusTTSSpeakMessage" }, /message: 'text' is missing/],
    [{ type: "BusTTSSpeakMessage", text: 3 }, /message: 'text' must be a string/],
    [{ type: "BusJobResponseMessage", jobId: "j", status: "fine" }, /message: unknown job status 'fine'/],
    [{ type: "BusAddWorkerMessage" }, /message: BusAddWorkerMessage is local-only/],
    [{ type: "BusWorkerLocalErrorMessage", error: "e" }, /message: BusWorkerLocalErrorMessage is local-only/],
    [{ type: "BusDataMessage", source: "someone" }, /message\.source must be this worker's name 'sender' \(or left out\), got 'someone'/],
  ];
  for (const [message, pattern] of cases) {
    const error = await catchError(() => sender.sendBusMessage(message));
    assert.ok(error instanceof TypeError, `${JSON.stringify(message)}: ${error}`);
    assert.match(error.message, pattern);
  }
  const loose = await catchError(() => new Worker("loose").sendBusMessage({ type: "BusDataMessage" }));
  assert.match(loose.message, /Worker 'loose' is not attached to a runner/);
});
