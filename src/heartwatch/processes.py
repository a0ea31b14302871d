"""Running heartwatch's processes: the API, the worker, or both as one supervised unit
(with the Telegram bot when TELEGRAM_BOT_TOKEN is set), or the bot alone.

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
from heartwatch.domain.auth import AuthMode, Role
from heartwatch.header_limit import header_limited_protocol
from heartwatch.runtime import Runtime
from heartwatch.startup import bind_listening_socket, check_database_url, log_summary
from heartwatch.worker.runner import Worker

log = structlog.get_logger("heartwatch")

GRACEFUL_SHUTDOWN_S = 5
BOT_RESTART_S = 30.0
BOT_PRINCIPAL = "heartwatch-bot"


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
        http=header_limited_protocol(runtime.settings.max_header_bytes),
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


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve_bot(settings: Settings, stop: asyncio.Event, api_key: str | None) -> None:
    """The Telegram bot until `stop`. It must not take the API and the worker down with
    it: should it fail, it is logged and started again."""
    # Imported here: without a token, nothing of the bot (nor aiogram) is loaded.
    from heartwatch.bot.runner import run_bot

    while not stop.is_set():
        try:
            await run_bot(settings, stop, api_key=api_key)
        except Exception:
            log.exception("the telegram bot failed; starting it again", retry_in_s=BOT_RESTART_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BOT_RESTART_S)


async def serve_bot(settings: Settings) -> None:
    """`heartwatch bot`: the bot alone, a client of the API at HEARTWATCH_URL."""
    key = settings.bot_api_key or settings.admin_key
    await _serve_bot(settings, _stop_on_signals(), key.get_secret_value() if key else None)


async def serve(
    settings: Settings, *, api: bool, worker: bool, migrate: bool, bot: bool = False
) -> None:
    stop = _stop_on_signals()

    check_database_url(settings.effective_database_url)
    # The port first: when it is taken (another heartwatch?), nothing else starts, so a
    # failed start never runs a second worker against the database.
    listening = bind_listening_socket(settings.host, settings.port) if api else None
    try:
        await _run_parts(settings, listening, stop, worker=worker, migrate=migrate, bot=bot)
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
    bot: bool,
) -> None:
    async with Runtime.open(settings, migrate=migrate) as runtime:
        parts: list[Callable[[], Awaitable[None]]] = []
        api = listening is not None
        if listening is not None:
            await check_exposure(runtime, settings.host, settings.port)
            parts.append(lambda: _serve_api(runtime, settings.host, settings.port, listening, stop))
        if worker:
            parts.append(lambda: Worker(runtime).run(stop))
        if bot and settings.telegram_bot_token:
            # Loaded before anything serves: importing aiogram takes a moment of CPU, which
            # inside a running part would hold up the API's first requests.
            import heartwatch.bot.runner  # noqa: F401

            # Under `up` the bot needs no key of its own: this process makes one for it,
            # in memory only (HEARTWATCH_BOT_API_KEY, when set, is used instead).
            key = settings.bot_api_key
            bot_key = (
                key.get_secret_value()
                if key
                else runtime.authn.issue_internal_key(BOT_PRINCIPAL, Role.ADMIN)
            )
            parts.append(lambda: _serve_bot(settings, stop, bot_key))

        async def supervised(part: Callable[[], Awaitable[None]]) -> None:
            # When one part ends, for whatever reason, the others stop too.
            try:
                await part()
            finally:
                stop.set()

        await log_summary(
            runtime, api=api, worker=worker, bot=bool(bot and settings.telegram_bot_token)
        )
        async with asyncio.TaskGroup() as group:
            for part in parts:
                group.create_task(supervised(part))
