"""The Python side of the interoperability tests: a real Pipecat session on a RedisBus or a PgmqBus.

A `WorkerRunner` on `pipecat.bus.network.RedisBus` (redis.asyncio; --redis URL) or on
`pipecat.bus.network.PgmqBus` (pgmq's PGMQueue, its direct backend; --pgmq postgres://URL) hosts
  - workers of class `PyWorker` (names from --workers), answering jobs with Pipecat's worker
    API: `send_job_update`, `send_job_stream_*`, `send_job_response` (job names below);
  - a requester worker (--requester, default "py-requester") that runs jobs and job groups on
    other workers, JavaScript ones included, with `async with self.job(...)` /
    `async with self.job_group(...)`, when told to on stdin.

Protocol, one JSON object per line:
  stdout  {"event": "ready", "runner": ..., "workers": [...]}          once started
          {"event": "job_started", "worker", "job_id"}                  a "slow" job began
          {"event": "job_cancelled", "worker", "job_id", "reason", "source"}
          {"event": "job_response", "worker", "job_id", "source", "status", "response"}  (requester)
          {"event": "registered", "worker", "runner"}                  a worker joined the registry
          {"event": "result", "id", "ok": true, "job_id", "response"|"responses", "events"}
          {"event": "result", "id", "ok": false, "error_type", "error", "job_id", "events"}
          {"event": "bench", "id", "n", "median_ms", "p90_ms", "mean_ms", "samples_ms"}
          {"event": "finished", "reason"}                              the runner has finished
          {"event": "bus_message", "worker", "type", "source", "target", "fields"}
                                            a PyWorker got a TTS, frame or UI message for it
                                            (or broadcast), as a PipelineWorker would act on it;
                                            a frame's fields are {frame_type, text, id, direction};
                                            UI job messages carry their dataclass fields
  stdin   {"cmd": "job", "id", "worker", "name"?, "payload"?, "timeout"?, "cancel_after"?,
           "cancel_reason"?}
          {"cmd": "group", "id", "workers": [...], "name"?, "payload"?, "timeout"?,
           "cancel_on_error"?, "cancel_after"?, "cancel_reason"?}
          {"cmd": "bench", "id", "worker", "name"?, "n"?, "warmup"?}
          {"cmd": "end", "reason"?} / {"cmd": "cancel", "reason"?}     runner.end / runner.cancel
          {"cmd": "worker_end", "reason"?} / {"cmd": "worker_cancel", "reason"?}
          {"cmd": "ui_event", "event_name", "payload"?, "target"?}   the requester sends a
                                            BusUIEventMessage (as a client-facing worker does)
                                            the requester's BaseWorker.end()/cancel(): session-wide
  Closing stdin cancels the runner and exits, so the process never outlives its test.

Bytes travel as Pipecat's bytes tag on the wire; on stdout they are written as
{"$bytes": "<base64>"} and on stdin that form is turned back into bytes.

Job names handled by PyWorker (payload fields in parentheses):
  echo      responds with the payload
  analyze   (text, delay) waits `delay` s (default 0), updates {percent: 50} and
            {percent: 100}, stream_start {words: n},
            stream_data {word} per word, stream_end {summary, worker}
  slow      (seconds, default 30) sleeps, then responds {slept}; cancellable
  fail      responds status FAILED {error: "bad input"}
  error     responds status ERROR {error: "unexpected"}
  raise     raises, so (as in Pipecat) no response is ever sent
  cancelled responds status CANCELLED {reason: "not today"}
  urgent    urgent update {alert: true}, then urgent response {ok: true}
  bytes     (data: bytes) responds {type, length, reversed}
  mixed     (fail: [names], seconds) responds FAILED {error: "<name> failed"} when this
            worker's name is listed, otherwise sleeps `seconds` (default 0) and responds {ok: <name>}
  ask       (worker, name?, payload?) runs a job on another worker from inside this job and
            responds {via, answer}
  (none)    the on_job_request hook: responds {default: true, payload}

    .venv/bin/python tests/interop/py_session.py --redis redis://127.0.0.1:6379 \
        [--channel pipecat:bus] [--runner runner-py] [--workers py-worker,py-helper]
    .venv/bin/python tests/interop/py_session.py --pgmq postgres://postgres@127.0.0.1:5432/postgres \
        [--channel pipecat_bus] ...
"""

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time

from loguru import logger

logger.remove()
logger.add(sys.stderr, level=os.environ.get("PY_SESSION_LOG", "WARNING"))

from redis.asyncio import Redis  # noqa: E402

from pipecat.bus.messages import BusFrameMessage, BusTTSSpeakMessage  # noqa: E402
from pipecat.bus.network import RedisBus  # noqa: E402
from pipecat.bus.ui.messages import (  # noqa: E402
    BusUIEventMessage,
    BusUIJobCompletedMessage,
    BusUIJobGroupCompletedMessage,
    BusUIJobGroupStartedMessage,
    BusUIJobUpdateMessage,
)
from pipecat.pipeline.job_context import (  # noqa: E402
    JobError,
    JobGroupError,
    JobGroupParams,
    JobParams,
    JobStatus,
)
from pipecat.pipeline.job_decorator import job  # noqa: E402
from pipecat.workers.base_worker import BaseWorker  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402


def to_json(value):
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def emit(obj):
    sys.stdout.write(json.dumps(to_json(obj), ensure_ascii=False) + "\n")
    sys.stdout.flush()


UI_JOB_MESSAGES = (BusUIJobGroupStartedMessage, BusUIJobUpdateMessage, BusUIJobCompletedMessage,
                   BusUIJobGroupCompletedMessage)
PIPELINE_MESSAGES = (BusTTSSpeakMessage, BusFrameMessage, BusUIEventMessage, *UI_JOB_MESSAGES)


def pipeline_fields(message):
    """What a PipelineWorker's bus handling reads from the message types it acts on."""
    if isinstance(message, BusTTSSpeakMessage):
        return {"text": message.text, "append_to_context": message.append_to_context}
    if isinstance(message, BusUIEventMessage):
        return {"event_name": message.event_name, "payload": message.payload}
    if isinstance(message, UI_JOB_MESSAGES):
        return {k: v for k, v in vars(message).items() if k not in ("source", "target", "id", "name")}
    frame = message.frame
    return {"frame_type": type(frame).__name__, "text": getattr(frame, "text", None), "id": frame.id,
            "direction": message.direction.name, "bridge": message.bridge}


class PyWorker(BaseWorker):
    """Answers jobs with Pipecat's worker-side API."""

    async def on_bus_message(self, message):
        await super().on_bus_message(message)
        # A PipelineWorker's filter: its own name or a broadcast (BaseWorker drops frames first).
        if isinstance(message, PIPELINE_MESSAGES) and message.target in (None, self.name):
            emit({"event": "bus_message", "worker": self.name, "type": type(message).__name__,
                  "source": message.source, "target": message.target, "fields": pipeline_fields(message)})

    async def on_job_request(self, message):
        await self.send_job_response(message.job_id, {"default": True, "payload": message.payload})

    @job(name="echo")
    async def echo(self, message):
        await self.send_job_response(message.job_id, message.payload)

    @job(name="analyze")
    async def analyze(self, message):
        words = str((message.payload or {}).get("text", "")).split()
        await asyncio.sleep(float((message.payload or {}).get("delay", 0)))
        await self.send_job_update(message.job_id, {"percent": 50})
        await self.send_job_update(message.job_id, {"percent": 100})
        await self.send_job_stream_start(message.job_id, {"words": len(words)})
        for word in words:
            await self.send_job_stream_data(message.job_id, {"word": word})
        await self.send_job_stream_end(message.job_id, {"summary": " ".join(words).upper(), "worker": self.name})

    @job(name="slow")
    async def slow(self, message):
        seconds = float((message.payload or {}).get("seconds", 30))
        emit({"event": "job_started", "worker": self.name, "job_id": message.job_id})
        await asyncio.sleep(seconds)
        await self.send_job_response(message.job_id, {"slept": seconds})

    @job(name="mixed")
    async def mixed(self, message):
        p = message.payload or {}
        if self.name in p.get("fail", []):
            await self.send_job_response(message.job_id, {"error": f"{self.name} failed"}, status=JobStatus.FAILED)
            return
        await asyncio.sleep(float(p.get("seconds", 0)))
        await self.send_job_response(message.job_id, {"ok": self.name})

    @job(name="fail")
    async def fail(self, message):
        await self.send_job_response(message.job_id, {"error": "bad input"}, status=JobStatus.FAILED)

    @job(name="error")
    async def error(self, message):
        await self.send_job_response(message.job_id, {"error": "unexpected"}, status=JobStatus.ERROR)

    @job(name="raise")
    async def raise_(self, message):
        raise RuntimeError("handler raised")

    @job(name="cancelled")
    async def cancelled(self, message):
        await self.send_job_response(message.job_id, {"reason": "not today"}, status=JobStatus.CANCELLED)

    @job(name="urgent")
    async def urgent(self, message):
        await self.send_job_update(message.job_id, {"alert": True}, urgent=True)
        await self.send_job_response(message.job_id, {"ok": True}, urgent=True)

    @job(name="bytes")
    async def bytes_(self, message):
        data = (message.payload or {}).get("data")
        await self.send_job_response(
            message.job_id,
            {
                "type": type(data).__name__,
                "length": len(data) if isinstance(data, (bytes, str)) else None,
                "reversed": data[::-1] if isinstance(data, bytes) else None,
            },
        )

    @job(name="ask")
    async def ask(self, message):
        p = message.payload or {}
        async with self.job(p["worker"], params=JobParams(name=p.get("name"), payload=p.get("payload"),
                                                         timeout=p.get("timeout", 10))) as ctx:
            pass
        await self.send_job_response(message.job_id, {"via": self.name, "answer": ctx.response})

    async def on_job_cancelled(self, message):
        emit({"event": "job_cancelled", "worker": self.name, "job_id": message.job_id,
              "reason": message.reason, "source": message.source})


class Requester(BaseWorker):
    """Runs jobs on other workers when told to on stdin."""

    async def on_job_response(self, message):
        emit({"event": "job_response", "worker": self.name, "job_id": message.job_id,
              "source": message.source, "status": str(message.status), "response": message.response})

    async def run_command(self, cmd):
        kind = cmd["cmd"]
        events = []
        ctx = None
        try:
            if kind == "job":
                ctx = self.job(cmd["worker"], params=JobParams(
                    name=cmd.get("name"), payload=from_json(cmd.get("payload")), timeout=cmd.get("timeout")))
            else:
                ctx = self.job_group(*cmd["workers"], params=JobGroupParams(
                    name=cmd.get("name"), payload=from_json(cmd.get("payload")), timeout=cmd.get("timeout"),
                    cancel_on_error=cmd.get("cancel_on_error", True)))
            async with ctx as c:
                if cmd.get("cancel_after") is not None:
                    async def canceller(job_id=c.job_id):
                        await asyncio.sleep(cmd["cancel_after"])
                        await self.cancel_job_group(job_id, reason=cmd.get("cancel_reason"))

                    self.create_task(canceller(), f"{self.name}::canceller")
                async for ev in c:
                    event = {"type": str(ev.type), "data": ev.data}
                    if hasattr(ev, "worker_name"):
                        event["worker"] = ev.worker_name
                    events.append(event)
            result = {"event": "result", "id": cmd["id"], "ok": True, "job_id": c.job_id, "events": events}
            if kind == "job":
                result["response"] = c.response
            else:
                result["responses"] = c.responses
            emit(result)
        except (JobError, JobGroupError) as e:
            job_id = None
            try:
                job_id = ctx.job_id if ctx is not None else None
            except RuntimeError:
                pass
            emit({"event": "result", "id": cmd["id"], "ok": False, "error_type": type(e).__name__,
                  "error": str(e), "job_id": job_id, "events": events})

    async def bench(self, cmd):
        n, warmup = int(cmd.get("n", 50)), int(cmd.get("warmup", 5))
        samples = []
        for i in range(warmup + n):
            t0 = time.perf_counter()
            async with self.job(cmd["worker"], params=JobParams(name=cmd.get("name", "echo"), payload={"i": i},
                                                               timeout=10)) as ctx:
                pass
            assert ctx.response == {"i": i}, ctx.response
            if i >= warmup:
                samples.append((time.perf_counter() - t0) * 1000)
        ordered = sorted(samples)
        emit({"event": "bench", "id": cmd["id"], "n": n, "median_ms": statistics.median(samples),
              "p90_ms": ordered[int(0.9 * (len(ordered) - 1))], "mean_ms": statistics.fmean(samples),
              "samples_ms": [round(s, 3) for s in samples]})


async def open_bus(opt):
    """The bus of --redis or --pgmq (on its channel, else Pipecat's default) and its closer."""
    if opt.redis:
        redis = Redis.from_url(opt.redis)
        bus = RedisBus(redis=redis, **({"channel": opt.channel} if opt.channel else {}))
        return bus, redis.aclose
    from urllib.parse import urlparse

    from pgmq.async_queue import PGMQueue

    from pipecat.bus.network import PgmqBus

    url = urlparse(opt.pgmq)
    pgmq = PGMQueue(host=url.hostname, port=str(url.port or 5432), database=url.path.lstrip("/") or "postgres",
                    username=url.username or "postgres", password=url.password or "postgres", pool_size=4)
    await pgmq.init()
    bus = PgmqBus(pgmq=pgmq, **({"channel": opt.channel} if opt.channel else {}))
    return bus, pgmq.pool.close


async def main(opt):
    bus, close_bus = await open_bus(opt)
    runner = WorkerRunner(name=opt.runner, bus=bus, handle_sigint=False)
    names = [n for n in opt.workers.split(",") if n]
    workers = [PyWorker(n) for n in names]
    requester = Requester(opt.requester)
    await runner.add_workers(*workers, requester)

    known = set()

    async def on_registered(data):
        if data.worker_name not in known:
            known.add(data.worker_name)
            emit({"event": "registered", "worker": data.worker_name, "runner": data.runner})

    run_task = asyncio.create_task(runner.run(auto_end=False))
    for name in opt.watch.split(","):
        if name:
            await runner.registry.watch(name, on_registered)
    while not all(runner.registry.get(n) for n in [*names, opt.requester]) and not run_task.done():
        await asyncio.sleep(0.01)
    emit({"event": "ready", "runner": runner.name, "workers": names, "requester": opt.requester})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    tasks = set()

    async def commands():
        while True:
            line = await reader.readline()
            if not line:
                return "stdin closed"
            if not line.strip():
                continue
            cmd = json.loads(line)
            kind = cmd.get("cmd")
            if kind in ("job", "group"):
                t = asyncio.create_task(requester.run_command(cmd))
            elif kind == "bench":
                t = asyncio.create_task(requester.bench(cmd))
            elif kind == "end":
                t = asyncio.create_task(runner.end(cmd.get("reason")))
            elif kind == "cancel":
                t = asyncio.create_task(runner.cancel(cmd.get("reason")))
            elif kind == "worker_end":
                t = asyncio.create_task(requester.end(reason=cmd.get("reason")))
            elif kind == "worker_cancel":
                t = asyncio.create_task(requester.cancel(reason=cmd.get("reason")))
            elif kind == "ui_event":
                t = asyncio.create_task(requester.send_bus_message(BusUIEventMessage(
                    source=requester.name, target=cmd.get("target"), event_name=cmd["event_name"],
                    payload=from_json(cmd.get("payload")))))
            else:
                emit({"event": "error", "error": f"unknown command {kind!r}"})
                continue
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    cmd_task = asyncio.create_task(commands())
    done, _ = await asyncio.wait({run_task, cmd_task}, return_when=asyncio.FIRST_COMPLETED)
    if cmd_task in done:
        await runner.cancel("stdin closed")
        await run_task
        reason = "stdin closed"
    else:
        cmd_task.cancel()
        reason = "runner finished"
    for t in list(tasks):
        t.cancel()
    await close_bus()
    emit({"event": "finished", "reason": reason})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    transport = parser.add_mutually_exclusive_group(required=True)
    transport.add_argument("--redis", help="a Redis URL: the session runs on a RedisBus")
    transport.add_argument("--pgmq", help="a PostgreSQL URL (pgmq installed): the session runs on a PgmqBus")
    parser.add_argument("--channel", default=None, help="default: the bus's own (pipecat:bus, pipecat_bus)")
    parser.add_argument("--runner", default="runner-py")
    parser.add_argument("--workers", default="py-worker,py-helper")
    parser.add_argument("--requester", default="py-requester")
    parser.add_argument("--watch", default="", help="comma-separated names to report when registered")
    asyncio.run(main(parser.parse_args()))
    # Leave at once: nothing left to wait for (loguru/redis threads must not hold the exit).
    sys.stdout.flush()
    os._exit(0)
