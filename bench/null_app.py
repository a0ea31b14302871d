"""The ceiling for bench/ingest.py: a do-nothing ASGI app, served the way heartwatch serves.

`app` reads the request body and answers 200 with a small JSON body, whatever the path.
`main()` runs it with the same uvicorn settings as `heartwatch.processes._serve_api`
(uvloop event loop, uvicorn's default HTTP protocol, which is httptools when installed,
access log off, lifespan off, no server header) and stops with exit code 0 on SIGTERM.

    python bench/null_app.py --port 8999
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Generator
from typing import Any

import uvicorn
import uvloop

BODY = b'{"status":"ok"}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]

Message = dict[str, Any]


async def app(scope: Message, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while True:  # drain the body, as a real handler would
        message = await receive()
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


class _Server(uvicorn.Server):
    # As in heartwatch: uvicorn's signal capture would re-raise SIGTERM after shutdown.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(host: str, port: int) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, setattr, server, "should_exit", True)
    await server.serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
