// An envelope without a field Pipecat's class requires is refused (Pipecat would decode it with
// None); a field with a Pipecat default takes that default. See docs/decisions.md.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, Worker, WorkerRunner } from "workbus";
import { startRedis } from "./redis.mjs";
import { T, busErrors } from "./helpers.mjs";

let redis;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

test("a job request without job_id is dropped and reported; a TTS message without its flag takes Pipecat's default", T, async (t) => {
  const client = createClient({ url: redis.url });
  client.on("error", () => {});
  await client.connect();
  const bus = new RedisBus({ client, channel: "missing-test" });
  await bus.ready;
  const runner = new WorkerRunner({ name: "missing-runner", bus });
  const voice = new Worker("voice");
  const seen = [];
  voice.on("busMessage", (m) => seen.push(m));
  await runner.addWorkers(voice);
  await runner.start({ autoEnd: false });
  const raw = createClient({ url: redis.url });
  await raw.connect();
  t.after(async () => {
    await raw.quit().catch(() => {});
    await runner.cancel().catch(() => {});
    await bus.close().catch(() => {});
    await client.quit().catch(() => {});
  });

  const reported = busErrors(bus, /'job_id' is missing/);
  const request = { __type__: "pipecat.bus.messages.BusJobRequestMessage", __data__: { source: "py", target: "voice", job_name: "x" } };
  await raw.publish("missing-test", JSON.stringify(request));
  const [error] = await reported;
  assert.match(error.message, /^dropped a malformed message: .*'job_id' is missing/);

  const speak = { __type__: "pipecat.bus.messages.BusTTSSpeakMessage", __data__: { source: "py", target: "voice", text: "hi" } };
  // Listening first: the message can arrive before publish() resolves.
  const heard = new Promise((resolve) => voice.on("busMessage", (m) => m.type === "BusTTSSpeakMessage" && resolve(m)));
  await raw.publish("missing-test", JSON.stringify(speak));
  const tts = await heard;
  assert.deepEqual([tts.text, tts.appendToContext, tts.source], ["hi", true, "py"]);
  assert.equal(seen.some((m) => m.type === "BusJobRequestMessage"), false);
  assert.equal(voice.activeJobs.size, 0);
});
