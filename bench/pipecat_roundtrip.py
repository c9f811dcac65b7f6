"""Benchmark 2: the in-process job round trip of benchmark 1 on Python Pipecat.

A WorkerRunner on its default in-process bus (AsyncQueueBus) hosts worker "b", whose
`@job(name="echo")` handler answers with the request's payload, and worker "a", which
requests jobs from "b" one after another with `async with a.job("b", params=...)` and reads
`ctx.response`. Per-job latency is taken around each job, as in bench/roundtrip.mjs.

    .venv/bin/python bench/pipecat_roundtrip.py [--n 5000] [--warmup 1000] [--idle 0]

Pipecat logs through loguru at DEBUG by default; logging is set to WARNING here so the
figure measures the job system, not log formatting (that only helps Pipecat).
"""

import argparse
import asyncio
import json
import sys
import time

from loguru import logger

logger.remove()
logger.add(sys.stderr, level="WARNING")

from pipecat.pipeline.job_context import JobParams  # noqa: E402
from pipecat.pipeline.job_decorator import job  # noqa: E402
from pipecat.workers.base_worker import BaseWorker  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402


class Echo(BaseWorker):
    @job(name="echo")
    async def echo(self, message):
        await self.send_job_response(message.job_id, message.payload)


def quantile(values, q):
    values = sorted(values)
    pos = (len(values) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


async def main(opt):
    runner = WorkerRunner(handle_sigint=False)
    a = BaseWorker("a")
    b = Echo("b")
    idle = [BaseWorker(f"idle-{i}") for i in range(opt.idle)]
    await runner.add_workers(a, b, *idle)
    run_task = asyncio.create_task(runner.run(auto_end=False))
    while not runner.registry.get("b") or not runner.registry.get("a"):
        await asyncio.sleep(0.001)

    async def once(i):
        async with a.job("b", params=JobParams(name="echo", payload={"i": i})) as ctx:
            pass
        return ctx.response

    answer = await once(-1)
    assert answer == {"i": -1}, answer
    for i in range(opt.warmup):
        await once(i)

    samples = []
    start = prev = time.perf_counter()
    for i in range(opt.n):
        await once(i)
        now = time.perf_counter()
        samples.append((now - prev) * 1e6)
        prev = now
    total = time.perf_counter() - start

    await runner.end()
    await run_task
    return {
        "impl": "pipecat",
        "idle": opt.idle,
        "n": opt.n,
        "p50_us": quantile(samples, 0.5),
        "p99_us": quantile(samples, 0.99),
        "mean_us": total * 1e6 / opt.n,
        "per_s": opt.n / total,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=0)
    result = asyncio.run(main(parser.parse_args()))
    print("BENCH_RESULT " + json.dumps(result), flush=True)
