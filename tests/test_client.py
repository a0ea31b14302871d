"""What the client SDK sends, against a registry that only records the requests.

The keep-alive interval of `monitor()` and the decorators is not the job's period: the
README's nightly job with `interval=60` used to declare a one-minute period on every
report and go down minutes after every run (and overwrite a period set on the server)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from heartwatch.client import (
    aheartbeat,
    heartbeat,
    heartbeat_for_async,
    heartbeat_for_sync,
    monitor,
)


class Recorder:
    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        # The X-Ping-Key header of each request, as UTF-8 (None: not sent).
        self.ping_keys: list[str | None] = []

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def declared_periods(self) -> list[str | None]:
        return [query.get("period", [None])[0] for _, query in self.requests]


@pytest.fixture
def registry() -> Iterator[Recorder]:
    recorder = Recorder("")
    lock = threading.Lock()

    class Record(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            sent = self.headers.get("x-ping-key")
            with lock:
                recorder.requests.append((parts.path, parse_qs(parts.query)))
                # http.server reads header values as latin-1: back to the bytes sent.
                recorder.ping_keys.append(
                    None if sent is None else sent.encode("latin-1").decode("utf-8")
                )
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


# Short, but not shorter than a report may take on a machine busy with the rest of the
# suite: a report's timeout is at most the interval, and a report that times out is lost.
INTERVAL = 1.0


def wait_for_keepalives(registry: Recorder, count: int) -> None:
    deadline = time.monotonic() + 20  # a busy machine may take longer than a few intervals
    while registry.paths().count("/heartbeat/job") < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_keepalive_interval_is_not_declared_as_the_period(registry: Recorder) -> None:
    @heartbeat_for_sync("job", interval=INTERVAL, url=registry.url)
    def job() -> None:
        wait_for_keepalives(registry, 2)

    job()
    paths = registry.paths()
    assert paths[0] == "/heartbeat/job/start" and paths[-1] == "/heartbeat/job"
    assert len(paths) >= 4  # start, keep-alives, success
    assert registry.declared_periods() == [None] * len(paths)


def test_a_period_given_is_declared_with_every_report(registry: Recorder) -> None:
    @heartbeat_for_sync("job", interval=INTERVAL, period=86400, url=registry.url)
    def job() -> None:
        wait_for_keepalives(registry, 2)

    job()
    assert len(registry.requests) >= 4
    assert registry.declared_periods() == ["86400"] * len(registry.requests)


def test_a_failing_run_declares_no_period_either(registry: Recorder) -> None:
    with pytest.raises(RuntimeError), monitor("job", interval=60, url=registry.url):
        raise RuntimeError("boom")
    assert registry.paths() == ["/heartbeat/job/start", "/heartbeat/job/fail"]
    assert registry.declared_periods() == [None, None]


def test_the_async_decorator_and_monitor_take_the_period_apart(registry: Recorder) -> None:
    @heartbeat_for_async("job", interval=INTERVAL, url=registry.url)
    async def job() -> None:
        await asyncio.to_thread(wait_for_keepalives, registry, 2)

    asyncio.run(job())
    assert registry.declared_periods() == [None] * len(registry.requests)
    registry.requests.clear()

    async def block() -> None:
        async with monitor("job", interval=60, period=3600, url=registry.url):
            await asyncio.sleep(0)

    asyncio.run(block())
    assert registry.paths() == ["/heartbeat/job/start", "/heartbeat/job"]
    assert registry.declared_periods() == ["3600", "3600"]


@pytest.mark.parametrize("period", [0, -1, 1e-300, 0.5, 367 * 86400])
def test_a_period_must_be_one_the_server_accepts(period: float) -> None:
    with pytest.raises(ValueError, match="period"):
        monitor("job", period=period)


# --- the ping key -----------------------------------------------------------------------


@pytest.fixture
def no_ping_key_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No HEARTWATCH_PING_KEY in the environment, and a working directory without .env."""
    monkeypatch.delenv("HEARTWATCH_PING_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.usefixtures("no_ping_key_around")
def test_a_ping_key_given_is_sent_as_the_x_ping_key_header(registry: Recorder) -> None:
    assert heartbeat("job", url=registry.url, ping_key="s3cret-ping-key")
    assert heartbeat("job", url=registry.url)
    assert asyncio.run(aheartbeat("job", url=registry.url, ping_key="clé-\u20ac-ping"))
    assert registry.ping_keys == ["s3cret-ping-key", None, "clé-\u20ac-ping"]


def test_the_ping_key_comes_from_the_environment_else_from_dot_env(
    registry: Recorder, no_ping_key_around: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_ping_key_around / ".env").write_text(
        "# the server's settings\nHEARTWATCH_URL=http://elsewhere\n"
        'export HEARTWATCH_PING_KEY="from-dot-env"  \n'
    )
    assert heartbeat("job", url=registry.url)
    monkeypatch.setenv("HEARTWATCH_PING_KEY", "from-environment")
    assert heartbeat("job", url=registry.url)
    assert heartbeat("job", url=registry.url, ping_key="given")
    monkeypatch.setenv("HEARTWATCH_PING_KEY", "")  # set empty: unset, as the server takes it
    assert heartbeat("job", url=registry.url)
    assert registry.ping_keys == ["from-dot-env", "from-environment", "given", None]


@pytest.mark.usefixtures("no_ping_key_around")
def test_monitor_and_the_decorators_send_the_ping_key_with_every_report(
    registry: Recorder,
) -> None:
    with monitor("job", interval=INTERVAL, url=registry.url, ping_key="k1"):
        wait_for_keepalives(registry, 1)

    @heartbeat_for_sync("job", url=registry.url, ping_key="k2")
    def job() -> None:
        pass

    @heartbeat_for_async("job", url=registry.url, ping_key="k3")
    async def ajob() -> None:
        pass

    job()
    asyncio.run(ajob())
    assert None not in registry.ping_keys
    assert set(registry.ping_keys) == {"k1", "k2", "k3"}
    assert registry.ping_keys[-4:] == ["k2", "k2", "k3", "k3"]
