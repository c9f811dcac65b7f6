"""Pipecat's WebSocketProxyClient against a workbus WebSocketProxyServer (the Python side).

A `WorkerRunner` (in-process bus) hosting a requester worker "acme" (py_session's Requester)
and `WebSocketProxyClient("proxy", url=--url, remote_worker_name="assistant",
local_worker_name="acme", forward_messages=(BusFrameMessage,), active=True)`, so "acme" can
run jobs on the worker "assistant" that the server serves; and a `PyWorker` "listener" that
reports the frames arriving through the proxy (forwarded frames are broadcast here).

stdout, one JSON object per line: {"event": "ready", "runner"} once "assistant" is in the
registry (announced by the server), {"event": "registered", "worker", "runner"},
py_session's "result" and "bus_message" events, {"event": "disconnected"} when the socket
closes. stdin: py_session's "job" / "group" commands, and {"cmd": "frame", "text"} sends a
TextFrame from "acme" (forwarded to the server). Closing stdin cancels the runner and exits.

    .venv/bin/python tests/interop/py_proxy_client.py --url ws://127.0.0.1:PORT/
"""

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from py_session import PyWorker, Requester, emit  # noqa: E402  (also sets up logging)

from pipecat.bus.messages import BusFrameMessage  # noqa: E402
from pipecat.frames.frames import TextFrame  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection  # noqa: E402
from pipecat.workers.proxy.websocket.client import WebSocketProxyClient  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402


async def main(opt):
    runner = WorkerRunner(name="runner-py-client", handle_sigint=False)
    acme = Requester("acme")
    listener = PyWorker("listener")
    proxy = WebSocketProxyClient("proxy", url=opt.url, remote_worker_name="assistant", local_worker_name="acme",
                                 forward_messages=(BusFrameMessage,), active=True)

    @proxy.event_handler("on_disconnected")
    async def on_disconnected(worker, ws):
        emit({"event": "disconnected"})

    async def on_registered(data):
        emit({"event": "registered", "worker": data.worker_name, "runner": data.runner})

    await runner.add_workers(acme, listener, proxy)
    run_task = asyncio.create_task(runner.run(auto_end=False))
    await runner.registry.watch("assistant", on_registered)
    while not runner.registry.get("assistant") and not run_task.done():
        await asyncio.sleep(0.01)
    emit({"event": "ready", "runner": runner.name})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while line := await reader.readline():
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "frame":
            await acme.send_bus_message(BusFrameMessage(source="acme", frame=TextFrame(text=cmd["text"]),
                                                        direction=FrameDirection.DOWNSTREAM))
            continue
        t = asyncio.create_task(acme.run_command(cmd))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    await runner.cancel("stdin closed")
    await run_task


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    os._exit(0)
