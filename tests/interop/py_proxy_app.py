"""The Python side of the WebSocket proxy tests: Pipecat's remote-worker endpoint.

A FastAPI app whose WebSocket route does what Pipecat's remote proxy examples do: for each
connection, a fresh `WorkerRunner` (in-process bus) hosting a `WebSocketProxyServer` named
"gateway" and the worker it serves, "assistant" (a `PyWorker` of py_session.py, with the same
job names), so that a client proxy whose local worker is "acme" can run jobs on "assistant".

    @app.websocket("/ws")  ->  WebSocketProxyServer("gateway", websocket=websocket,
                                   worker_name="assistant", remote_worker_name="acme")

The app is served on 127.0.0.1 (port 0 = a free one) by a minimal ASGI server for WebSocket
routes built on the `websockets` library (the venv has no uvicorn): the handshake is done by
`websockets`, then the FastAPI app runs with an ASGI websocket scope whose receive/send map onto
the connection, so the proxy gets a real `starlette.websockets.WebSocket`.

stdout, one JSON object per line: {"event": "listening", "port"},
{"event": "client_connected", "runner", "authorization"} (the upgrade request's header),
{"event": "client_disconnected"}, {"event": "session_finished"}, and PyWorker's job_cancelled
events. Closing stdin stops the server and exits.

    .venv/bin/python tests/interop/py_proxy_app.py [--port 0]
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from py_session import PyWorker, emit  # noqa: E402  (also sets up logging)

import websockets  # noqa: E402
from fastapi import FastAPI, WebSocket  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402

from pipecat.workers.proxy.websocket.server import WebSocketProxyServer  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    runner = WorkerRunner(handle_sigint=False)
    proxy = WebSocketProxyServer(
        "gateway",
        websocket=websocket,
        worker_name="assistant",
        remote_worker_name="acme",
    )
    assistant = PyWorker("assistant")

    @proxy.event_handler("on_client_connected")
    async def on_client_connected(worker, ws):
        emit({"event": "client_connected", "runner": runner.name,
              "authorization": websocket.headers.get("authorization")})

    @proxy.event_handler("on_client_disconnected")
    async def on_client_disconnected(worker, ws):
        emit({"event": "client_disconnected"})
        await runner.cancel()

    await runner.add_workers(proxy, assistant)
    await runner.run()
    emit({"event": "session_finished"})


async def asgi_websocket(app, connection):
    """Runs one WebSocket connection of `websockets` through an ASGI app."""
    request = connection.request
    path, _, query = request.path.partition("?")
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.raw_items()],
        "client": connection.remote_address[:2],
        "server": connection.local_address[:2],
        "subprotocols": [],
        "state": {},
    }
    connected = False

    async def receive():
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        try:
            data = await connection.recv()
        except websockets.ConnectionClosed as e:
            return {"type": "websocket.disconnect", "code": e.rcvd.code if e.rcvd else 1006}
        if isinstance(data, bytes):
            return {"type": "websocket.receive", "bytes": data}
        return {"type": "websocket.receive", "text": data}

    async def send(message):
        kind = message["type"]
        try:
            if kind == "websocket.accept":
                return  # the handshake is already done
            if kind == "websocket.send":
                if message.get("bytes") is not None:
                    await connection.send(message["bytes"])
                else:
                    await connection.send(message["text"])
            elif kind == "websocket.close":
                await connection.close(message.get("code", 1000), message.get("reason") or "")
        except websockets.ConnectionClosed as e:
            raise OSError("connection closed") from e

    await app(scope, receive, send)


async def main(opt):
    async with serve(lambda c: asgi_websocket(app, c), "127.0.0.1", opt.port, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        emit({"event": "listening", "port": port})
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while await reader.readline():
            pass
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    os._exit(0)
