"""Report in to heartwatch from any Python program.

    from heartwatch.client import heartbeat, heartbeat_for_sync, monitor

    heartbeat("billing")                        # one heartbeat

    @heartbeat_for_sync("nightly-import", interval=60, period=86400)
    def main() -> None: ...     # start, a keep-alive a minute, then success or fail; runs daily

    with monitor("reindex", interval=30): ...   # the same for a block (`async with` works too)

The keep-alive `interval` is how often a running job says it is still running; `period`
is how often the job runs (its schedule), declared only when given. Without it nothing
is declared: a period set on the server (PATCH /services) stays, and with none set,
heartwatch learns the period from the heartbeats.

Nothing here ever raises into the host program because the registry is down or slow: a
failed report logs a warning and returns False. The registry is `url`, else
HEARTWATCH_URL, else http://localhost:8765. The ping key (the server's
HEARTWATCH_PING_KEY, sent as the X-Ping-Key header) is `ping_key`, else
HEARTWATCH_PING_KEY from the environment, else from `./.env`, as the server reads it.
This module imports nothing from heartwatch's server side (no SQLAlchemy, no FastAPI).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

import httpx

from heartwatch.domain.ping import PERIOD_MAX_S, PERIOD_MIN_S

__all__ = [
    "aheartbeat",
    "heartbeat",
    "heartbeat_for_async",
    "heartbeat_for_sync",
    "monitor",
]

log = logging.getLogger("heartwatch.client")

DEFAULT_URL = "http://localhost:8765"
PING_KEY_HEADER = "X-Ping-Key"
_SIGNALS = {
    None: "",
    "success": "",
    "up": "",
    "ok": "",
    "start": "/start",
    "fail": "/fail",
    "failure": "/fail",
    "down": "/fail",
}
_ATTEMPTS = 3
_BACKOFF_S = 0.25

ENV_FILE = ".env"

P = ParamSpec("P")
R = TypeVar("R")


def _from_env_file(name: str, path: str = ENV_FILE) -> str | None:
    """`name`'s value in a dotenv file (`NAME=value`, `export NAME="value"`, `#` comments),
    as the server's settings read it; None without the file or the name."""
    try:
        with open(path, encoding="utf-8") as env:
            lines = env.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    value = None
    for line in lines:
        line = line.strip().removeprefix("export ").lstrip()
        found, equals, rest = line.partition("=")
        if not equals or found.strip() != name:
            continue
        rest = rest.strip()
        if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "'\"":
            rest = rest[1:-1]
        else:
            rest = rest.split(" #", 1)[0].strip()
        value = rest  # the last one counts
    return value


def ping_key_from_env() -> str | None:
    """HEARTWATCH_PING_KEY from the environment, else from `./.env`; None when unset or
    empty (as the server's settings take it)."""
    key = os.environ.get("HEARTWATCH_PING_KEY")
    if key is None:
        key = _from_env_file("HEARTWATCH_PING_KEY")
    return key or None


def _request(
    service_key: str,
    *,
    url: str | None,
    status: str | None,
    period: float | None,
    run_id: str | None,
    ping_key: str | None = None,
) -> tuple[str, dict[str, str], dict[bytes, bytes]]:
    if status not in _SIGNALS:
        raise ValueError(
            f"status must be one of {sorted(s for s in _SIGNALS if s)}, not {status!r}"
        )
    base = (url or os.environ.get("HEARTWATCH_URL") or DEFAULT_URL).rstrip("/")
    target = f"{base}/heartbeat/{quote(service_key, safe='')}{_SIGNALS[status]}"
    params: dict[str, str] = {}
    if period is not None:
        params["period"] = f"{period:g}"
    if run_id is not None:
        params["rid"] = run_id
    headers: dict[bytes, bytes] = {}
    if ping_key := ping_key or ping_key_from_env():
        # As UTF-8 bytes: httpx would refuse a str header value that is not ASCII.
        headers[PING_KEY_HEADER.encode()] = ping_key.encode()
    return target, params, headers


class _Tries:
    """The retry policy both `heartbeat` and `aheartbeat` follow, without the I/O: up to
    three attempts with backoff, all inside one time budget; 4xx answers are final."""

    def __init__(self, service_key: str, timeout: float) -> None:
        self.service_key = service_key
        self.deadline = time.monotonic() + timeout
        self.attempt = 0
        self.problem: object = "no time to try"

    def budget(self) -> float | None:
        """Seconds the next attempt may take, or None when it is time to give up."""
        remaining = self.deadline - time.monotonic()
        return remaining if remaining > 0 and self.attempt < _ATTEMPTS else None

    def answered(self, response: httpx.Response) -> bool | None:
        """True: delivered; False: give up; None: try again after `pause()`."""
        self.attempt += 1
        if response.is_success:
            return True
        self.problem = f"HTTP {response.status_code}: {response.text[:200]}"
        retryable = response.status_code >= 500 or response.status_code == 429
        return None if retryable else self.give_up()

    def failed(self, exc: Exception) -> bool | None:
        """A connection error: always worth another try while the budget lasts."""
        self.attempt += 1
        self.problem = repr(exc)
        return None

    def pause(self) -> float:
        backoff: float = _BACKOFF_S * 2 ** (self.attempt - 1)
        return max(0.0, min(backoff, self.deadline - time.monotonic()))

    def give_up(self) -> bool:
        log.warning("heartbeat for %r not delivered: %s", self.service_key, self.problem)
        return False


def heartbeat(
    service_key: str,
    *,
    url: str | None = None,
    status: str | None = None,
    message: str | None = None,
    timeout: float = 5.0,
    period: float | None = None,
    run_id: str | None = None,
    ping_key: str | None = None,
) -> bool:
    """Send one heartbeat (`status`: None/"success", "start" or "fail"). True if stored.

    Retries briefly on connection errors and 5xx answers, all within `timeout` seconds.
    `ping_key`: the server's ping key (default: HEARTWATCH_PING_KEY, from the
    environment or `./.env`).
    """
    tries = _Tries(service_key, timeout)
    try:
        target, params, headers = _request(
            service_key,
            url=url,
            status=status,
            period=period,
            run_id=run_id,
            ping_key=ping_key,
        )
        body = message.encode() if message else None
        with httpx.Client(params=params, headers=headers) as http:
            while (budget := tries.budget()) is not None:
                try:
                    verdict = tries.answered(http.post(target, content=body, timeout=budget))
                except httpx.HTTPError as exc:
                    verdict = tries.failed(exc)
                if verdict is not None:
                    return verdict
                time.sleep(tries.pause())
    except Exception as exc:  # never into the host program
        tries.problem = repr(exc)
    return tries.give_up()


async def aheartbeat(
    service_key: str,
    *,
    url: str | None = None,
    status: str | None = None,
    message: str | None = None,
    timeout: float = 5.0,  # noqa: ASYNC109 - the documented API, same as heartbeat()
    period: float | None = None,
    run_id: str | None = None,
    ping_key: str | None = None,
) -> bool:
    """`heartbeat()` for asyncio code: the same arguments and guarantees."""
    tries = _Tries(service_key, timeout)
    try:
        target, params, headers = _request(
            service_key,
            url=url,
            status=status,
            period=period,
            run_id=run_id,
            ping_key=ping_key,
        )
        body = message.encode() if message else None
        async with httpx.AsyncClient(params=params, headers=headers) as http:
            while (budget := tries.budget()) is not None:
                try:
                    response = await http.post(target, content=body, timeout=budget)
                    verdict = tries.answered(response)
                except httpx.HTTPError as exc:
                    verdict = tries.failed(exc)
                if verdict is not None:
                    return verdict
                await asyncio.sleep(tries.pause())
    except Exception as exc:  # never into the host program (CancelledError still passes)
        tries.problem = repr(exc)
    return tries.give_up()


def _failure_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-8000:]


class monitor:
    """Report on a block of work: `start` on entry, a keep-alive every `interval` seconds
    (with a little jitter) while it runs, then success — or `fail` with the exception's
    traceback, the exception itself propagating unchanged. Works with `with` (a daemon
    thread pings) and `async with` (an asyncio task pings).

    `period` (seconds) is the job's schedule — 86400 for a nightly job — and is declared
    with every report when given. The keep-alive interval is not the schedule: a job
    that runs for a minute every night, declared with a one-minute period, would go down
    minutes after every run. Without `period` nothing is declared: heartwatch learns the
    period from the heartbeats (keep-alives are heartbeats too, so a job that runs much
    longer than `interval` should declare its period), or keeps the one set on the
    server. For a process that runs for good (a worker loop), the keep-alives are its
    heartbeats: pass `period=interval`."""

    def __init__(
        self,
        service_key: str,
        *,
        interval: float = 300,
        period: float | None = None,
        url: str | None = None,
        timeout: float = 5.0,
        jitter: float = 0.1,
        ping_key: str | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if period is not None and not PERIOD_MIN_S <= period <= PERIOD_MAX_S:
            raise ValueError(f"period must be {PERIOD_MIN_S} to {PERIOD_MAX_S} seconds")
        self.service_key = service_key
        self.interval = interval
        self.period = period
        self.url = url
        self.ping_key = ping_key
        self.timeout = min(timeout, interval)
        self.jitter = jitter
        self.run_id = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    def _next_wait(self) -> float:
        return self.interval * (1 + random.uniform(-self.jitter, self.jitter))

    def _report(self, status: str | None, message: str | None = None, run: bool = True) -> Any:
        """Arguments for one report; keep-alives (run=False) don't end the run."""
        return {
            "url": self.url,
            "status": status,
            "message": message,
            "timeout": self.timeout,
            "period": self.period,
            "run_id": self.run_id if run else None,
            "ping_key": self.ping_key,
        }

    def _send(self, status: str | None, message: str | None = None, run: bool = True) -> bool:
        return heartbeat(self.service_key, **self._report(status, message, run))

    async def _asend(
        self, status: str | None, message: str | None = None, run: bool = True
    ) -> bool:
        return await aheartbeat(self.service_key, **self._report(status, message, run))

    # --- sync ---------------------------------------------------------------------
    def _pinger(self) -> None:
        while not self._stop.wait(self._next_wait()):
            self._send(None, run=False)  # keep-alive, not the end of the run

    def __enter__(self) -> monitor:
        self._send("start")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._pinger, name=f"heartwatch-{self.service_key}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
        if exc is None:
            self._send(None)
        else:
            self._send("fail", _failure_text(exc))

    # --- async --------------------------------------------------------------------
    async def _apinger(self) -> None:
        while True:
            await asyncio.sleep(self._next_wait())
            await self._asend(None, run=False)

    async def __aenter__(self) -> monitor:
        await self._asend("start")
        self._task = asyncio.create_task(self._apinger(), name=f"heartwatch-{self.service_key}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if exc is None:
            await self._asend(None)
        else:
            await self._asend("fail", _failure_text(exc))


def heartbeat_for_sync(
    service_key: str,
    *,
    interval: float = 300,
    period: float | None = None,
    url: str | None = None,
    ping_key: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a (main) function: see `monitor`."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with monitor(service_key, interval=interval, period=period, url=url, ping_key=ping_key):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def heartbeat_for_async(
    service_key: str,
    *,
    interval: float = 300,
    period: float | None = None,
    url: str | None = None,
    ping_key: str | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Decorate an async (main) function: see `monitor`."""

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with monitor(
                service_key, interval=interval, period=period, url=url, ping_key=ping_key
            ):
                return await fn(*args, **kwargs)

        return wrapper

    return decorate
