"""Running heartwatch's processes: the API, the worker, or both as one supervised unit.

Signals are handled here, once: SIGINT/SIGTERM set one `stop` event; the API server
drains its connections, the worker finishes its tick, the runtime closes the database,
and the process exits 0. uvicorn's own signal capture is switched off because it would
re-raise the signal after shutdown and turn a clean stop into a KeyboardInterrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Generator

import structlog
import uvicorn

from heartwatch import gc_tuning
from heartwatch.api.app import create_asgi_app
from heartwatch.config import Settings
from heartwatch.domain.auth import AuthMode
from heartwatch.runtime import Runtime
from heartwatch.startup import bind_listening_socket, check_database_url, log_summary
from heartwatch.worker.runner import Worker

log = structlog.get_logger("heartwatch")

GRACEFUL_SHUTDOWN_S = 5


class RefusedToStart(Exception):
    """The configuration is unsafe to serve; the message says what to do (one line)."""


async def check_exposure(runtime: Runtime, host: str, port: int) -> None:
    """Refuse to serve an API that anyone can use on an address beyond this machine;
    warn (once, here) when it serves one that anyone on this machine can use."""
    settings = runtime.settings
    if await runtime.authn.enabled():
        if settings.auth is AuthMode.OFF:
            log.warning(
                "HEARTWATCH_AUTH=off does not switch off the API keys and users that "
                "exist: access control is on"
            )
        return
    if not runtime.may_run_open:
        raise RefusedToStart(
            f"refusing to serve the API on {host}:{port} with no API key, user or "
            "HEARTWATCH_ADMIN_KEY (anyone who can reach it could read and change "
            "everything): create one first (`heartwatch keys create --role admin --name "
            "NAME`, or set HEARTWATCH_ADMIN_KEY), or set HEARTWATCH_AUTH=off to accept "
            "that risk"
        )
    who = "anyone who can reach it"
    if settings.auth is AuthMode.AUTO:
        who = "anyone on this machine (not through a reverse proxy)"
    log.warning(
        f"access control is off: no API key, user or HEARTWATCH_ADMIN_KEY exists, so "
        f"{who} may read and change everything on {host}:{port}; create a key "
        "(`heartwatch keys create --role admin --name NAME`) before exposing it"
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _serve_api(
    runtime: Runtime, host: str, port: int, listening: socket.socket, stop: asyncio.Event
) -> None:
    config = uvicorn.Config(
        create_asgi_app(runtime),
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=runtime.settings.access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        # Behind a reverse proxy: the client's address (what the failed-auth limit
        # counts) from X-Forwarded-For, believed from these proxies only.
        forwarded_allow_ips=runtime.settings.forwarded_allow_ips,
    )
    server = _Server(config)
    gc_tuning.settle_after_startup()  # (the app and everything it imported: built)
    serving = asyncio.ensure_future(server.serve(sockets=[listening]))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await asyncio.gather(stopping, return_exceptions=True)
    await serving


async def serve(settings: Settings, *, api: bool, worker: bool, migrate: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    check_database_url(settings.effective_database_url)
    # The port first: when it is taken (another heartwatch?), nothing else starts, so a
    # failed start never runs a second worker against the database.
    listening = bind_listening_socket(settings.host, settings.port) if api else None
    try:
        await _run_parts(settings, listening, stop, worker=worker, migrate=migrate)
    finally:
        if listening is not None:
            listening.close()
    log.info("heartwatch stopped")


async def _run_parts(
    settings: Settings,
    listening: socket.socket | None,
    stop: asyncio.Event,
    *,
    worker: bool,
    migrate: bool,
) -> None:
    async with Runtime.open(settings, migrate=migrate) as runtime:
        parts: list[Callable[[], Awaitable[None]]] = []
        api = listening is not None
        if listening is not None:
            await check_exposure(runtime, settings.host, settings.port)
            parts.append(lambda: _serve_api(runtime, settings.host, settings.port, listening, stop))
        if worker:
            parts.append(lambda: Worker(runtime).run(stop))

        async def supervised(part: Callable[[], Awaitable[None]]) -> None:
            # When one part ends, for whatever reason, the others stop too.
            try:
                await part()
            finally:
                stop.set()

        await log_summary(runtime, api=api, worker=worker)
        async with asyncio.TaskGroup() as group:
            for part in parts:
                group.create_task(supervised(part))
