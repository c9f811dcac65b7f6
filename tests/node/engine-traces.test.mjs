// Engine frames are readable: a stack through the wasm engine names its functions.
import test from "node:test";
import assert from "node:assert/strict";
import { T, startPair } from "./helpers.mjs";

test("a stack through the engine names its wasm functions", T, async (t) => {
  let stack = "";
  const { r } = await startPair(t, (w) => w.onJob(() => {
    stack = new Error("where am I").stack;
    return "here";
  }));
  assert.equal(await r.job("w"), "here");
  const wasmFrames = stack.split("\n").filter((line) => line.includes("wasm://"));
  assert.ok(wasmFrames.length > 0, `the handler runs under the engine:\n${stack}`);
  assert.ok(
    // A handler that returns a plain value runs inside the request's delivery.
    wasmFrames.some((line) => /Worker::handle_request/.test(line)),
    `the engine's frames are named (Worker::handle_request), not wasm-function[N] alone:\n${stack}`,
  );
});
