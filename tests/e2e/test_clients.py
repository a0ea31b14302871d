"""Real clients against a live `heartwatch up`: curl and wget as cron users write them,
the apykuma package against the Kuma URL, the SDK, and the shipped examples."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import apykuma
import httpx
import pytest

from heartwatch.client import (
    aheartbeat,
    heartbeat,
    heartbeat_for_async,
    heartbeat_for_sync,
    monitor,
)
from tests.e2e.conftest import Launcher, free_port

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parents[2] / "examples"
# The reports of a monitor with an interval of 1 s may each take up to 1 s (its timeout is
# at most the interval): time enough on a machine busy with the rest of the suite.
KEEPALIVE_INTERVAL = 1.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `heartwatch up` (SQLite) for the whole module: clients don't care about the store."""
    workdir = tmp_path_factory.mktemp("live")
    launcher = Launcher(workdir, f"sqlite+aiosqlite:///{workdir / 'hw.db'}")
    try:  # (a process that never answered is killed too: else it outlives the run)
        proc = launcher.start("up", port=free_port(), HEARTWATCH_SELF_MONITOR="false")
        yield proc.base_url
    finally:
        for started in launcher.procs:
            started.kill()


@functools.cache
def http() -> httpx.Client:
    """One client for the module's reads: `httpx.get` builds a client (and its TLS
    context) each time, tens of milliseconds of CPU per call while the tests poll."""
    return httpx.Client(timeout=10)


def kinds(base: str, key: str) -> list[str]:
    items = http().get(f"{base}/services/{key}/history").json()["items"]
    return [h["kind"] for h in reversed(items)]


def events(base: str, key: str) -> list[dict[str, Any]]:
    """Oldest first; none while the service is not registered yet."""
    response = http().get(f"{base}/services/{key}/history")
    if response.status_code == 404:
        return []
    items: list[dict[str, Any]] = response.json()["items"]
    return list(reversed(items))


def service_id(base: str, key: str) -> str:
    created = http().post(f"{base}/services", json={"key": key})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    return sid


def test_curl_as_cron_users_write_it(live: str) -> None:
    sid = service_id(live, "curl-job")
    for url in (f"{live}/ping/{sid}", f"{live}/heartbeat/curl-job", f"{live}/ping/{sid}/1"):
        done = subprocess.run(
            ["curl", "-fsS", "-m", "10", "--retry", "5", "-o", "/dev/null", url],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert kinds(live, "curl-job") == ["success", "success", "fail"]
    other = sid[:-1] + ("1" if sid.endswith("0") else "0")  # a uuid nobody has
    missing = subprocess.run(
        ["curl", "-fsS", "-m", "10", "-o", "/dev/null", f"{live}/ping/{other}"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert missing.returncode == 22  # curl -f: HTTP 404 is a failure the cron mail shows


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_wget(live: str) -> None:
    sid = service_id(live, "wget-job")
    for url in (f"{live}/ping/{sid}/start", f"{live}/ping/{sid}"):
        done = subprocess.run(
            ["wget", "-q", "-O", "/dev/null", url], capture_output=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
    start, end = events(live, "wget-job")
    assert (start["kind"], end["kind"]) == ("start", "success")
    assert end["duration_ms"] is not None


def test_apykuma_pushes_through_the_kuma_url(live: str) -> None:
    sid = service_id(live, "kuma-job")

    async def run() -> None:
        task = await apykuma.start(f"{live}/api/push/{sid}?status=up&msg=OK&ping=", interval=1)
        await asyncio.sleep(2.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    assert kinds(live, "kuma-job")[:2] == ["success", "success"]


def test_sdk_heartbeat_and_aheartbeat(live: str) -> None:
    assert heartbeat("sdk-one", url=live, period=60) is True
    assert heartbeat("sdk-one", url=live, status="fail", message="boom") is True
    assert asyncio.run(aheartbeat("sdk-one", url=live)) is True
    got = events(live, "sdk-one")
    assert [(e["kind"], e["body"]) for e in got] == [
        ("success", None),
        ("fail", "boom"),
        ("success", None),
    ]
    assert httpx.get(f"{live}/services/sdk-one").json()["expected_period_sec"] == 60


def test_sdk_reads_the_url_from_the_environment(live: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTWATCH_URL", live)
    assert heartbeat("sdk-env") is True


def test_sync_decorator_reports_start_keepalives_and_success(live: str) -> None:
    @heartbeat_for_sync("sdk-sync", interval=KEEPALIVE_INTERVAL, url=live)
    def job(x: int, *, y: int = 2) -> int:
        """Doc kept."""
        time.sleep(1.0)
        deadline = time.monotonic() + 20  # until keep-alives arrived, on a busy machine
        while len(events(live, "sdk-sync")) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        return x * y

    assert job(21) == 42
    assert job.__name__ == "job" and job.__doc__ == "Doc kept."
    got = events(live, "sdk-sync")
    assert got[0]["kind"] == "start" and got[-1]["kind"] == "success"
    assert len(got) >= 4  # start, keep-alives, success
    # The run slept a second: its duration is at least that (a loaded machine adds to it,
    # so no upper bound beyond "not absurd").
    assert 1000 <= got[-1]["duration_ms"] < 30_000
    assert all(e["duration_ms"] is None for e in got[1:-1])  # keep-alives end nothing
    # The keep-alive interval is not the job's period: none is declared, and keep-alives
    # a fraction of a second apart teach none.
    service = httpx.get(f"{live}/services/sdk-sync").json()
    assert (service["expected_period_sec"], service["period_source"]) == (None, None)
    assert service["status"] == "unknown"


def test_a_period_given_to_the_sdk_is_declared_and_one_set_on_the_server_is_kept(
    live: str,
) -> None:
    @heartbeat_for_sync("sdk-nightly", interval=60, period=86400, url=live)
    def nightly() -> None:
        pass

    nightly()
    service = httpx.get(f"{live}/services/sdk-nightly").json()
    assert (service["expected_period_sec"], service["status"]) == (86400, "alive")

    # Edited on the server; the next run, without period=, leaves it as it is.
    edited = httpx.patch(f"{live}/services/sdk-nightly", json={"expected_period_sec": 7 * 86400})
    assert edited.is_success, edited.text
    with monitor("sdk-nightly", interval=60, url=live):
        pass
    assert httpx.get(f"{live}/services/sdk-nightly").json()["expected_period_sec"] == 7 * 86400


def test_sync_decorator_reports_the_exception_and_lets_it_through(live: str) -> None:
    @heartbeat_for_sync("sdk-boom", interval=60, url=live)
    def job() -> None:
        raise KeyError("missing-thing")

    with pytest.raises(KeyError, match="missing-thing"):
        job()
    start, fail = events(live, "sdk-boom")
    assert (start["kind"], fail["kind"]) == ("start", "fail")
    assert "KeyError: 'missing-thing'" in fail["body"] and "Traceback" in fail["body"]
    assert httpx.get(f"{live}/services/sdk-boom").json()["status"] == "down"


def test_async_decorator(live: str) -> None:
    @heartbeat_for_async("sdk-async", interval=KEEPALIVE_INTERVAL, url=live)
    async def job(n: int) -> str:
        # Runs until the pinger's keep-alives have reached the server (a busy machine
        # may take longer than a few intervals), with a bound.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(await asyncio.to_thread(events, live, "sdk-async")) >= 3:
                break
            await asyncio.sleep(0.1)
        return "x" * n

    assert asyncio.run(job(3)) == "xxx"
    got = events(live, "sdk-async")
    assert got[0]["kind"] == "start" and got[-1]["kind"] == "success" and len(got) >= 4

    @heartbeat_for_async("sdk-async-boom", interval=60, url=live)
    async def broken() -> None:
        raise RuntimeError("async boom")

    with pytest.raises(RuntimeError, match="async boom"):
        asyncio.run(broken())
    assert kinds(live, "sdk-async-boom") == ["start", "fail"]


def test_monitor_block_sync_and_async(live: str) -> None:
    with monitor("sdk-block", interval=60, url=live):
        pass

    async def run() -> None:
        async with monitor("sdk-ablock", interval=60, url=live):
            await asyncio.sleep(0)

    asyncio.run(run())
    assert kinds(live, "sdk-block") == ["start", "success"]
    assert kinds(live, "sdk-ablock") == ["start", "success"]


def test_unreachable_registry_never_breaks_the_program(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    assert heartbeat("x", url=dead, timeout=1) is False
    assert asyncio.run(aheartbeat("x", url=dead, timeout=1)) is False

    @heartbeat_for_sync("x", interval=0.2, url=dead)
    def job() -> str:
        time.sleep(0.5)
        return "still works"

    assert job() == "still works"
    assert time.monotonic() - started < 10
    assert "not delivered" in caplog.text


@pytest.fixture
def slow_registry() -> Iterator[str]:
    """A registry that takes 3 s to answer: the SDK must give up at its own timeout."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(3)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_slow_registry_with_a_short_timeout(slow_registry: str) -> None:
    started = time.monotonic()
    assert heartbeat("slow", url=slow_registry, timeout=0.5) is False
    assert asyncio.run(aheartbeat("slow", url=slow_registry, timeout=0.5)) is False
    assert time.monotonic() - started < 2.5


def test_client_import_pulls_in_no_server_side_packages() -> None:
    probe = (
        "import sys, heartwatch.client; "
        "bad = sorted(m for m in ('sqlalchemy', 'fastapi', 'alembic', 'uvicorn', 'starlette') "
        "if m in sys.modules); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the shipped examples ------------------------------------------------------------------


def test_cron_example_line_reports_success_and_failure(live: str) -> None:
    lines = (EXAMPLES / "cron" / "crontab").read_text().splitlines()
    env = {k: v for k, v in (ln.split("=", 1) for ln in lines if re.match(r"^[A-Z_]+=", ln))}
    assert env["HEARTWATCH_URL"]
    [job] = [ln for ln in lines if ln and not ln.startswith("#") and "=" not in ln.split()[0]]
    command = job.split(None, 5)[5]  # after the five schedule fields
    for stand_in in ("true", "false"):
        done = subprocess.run(
            ["sh", "-c", command.replace("/usr/local/bin/backup.sh", stand_in)],
            env={**os.environ, "HEARTWATCH_URL": live},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert kinds(live, "backup") == ["success", "fail"]


def test_systemd_example_unit_commands(live: str) -> None:
    unit = (EXAMPLES / "systemd" / "backup.service").read_text()
    commands = re.findall(r"^ExecStart(?:Pre)?=(.+)$", unit, flags=re.M)
    assert len(commands) == 2 and "Environment=HEARTWATCH_URL=" in unit
    # A registry that is down must never stop the backup: systemd ignores the failure of
    # a command written with a leading "-".
    assert commands[0].startswith("-/usr/bin/curl ")
    for stand_in, run_id in (("true", "1f0e3dad99908345"), ("false", "c4ca4238a0b92382")):
        for command, backup in zip(commands, ("no backup", stand_in), strict=True):
            shell_line = command.removeprefix("-").replace("/usr/local/bin/backup.sh", stand_in)
            done = subprocess.run(
                ["sh", "-c", shell_line],
                # systemd gives every run of a unit its own INVOCATION_ID
                env={**os.environ, "HEARTWATCH_URL": live, "INVOCATION_ID": run_id},
                capture_output=True,
                timeout=60,
                check=False,
            )
            # The unit's result is the backup's own, whatever the report did.
            assert done.returncode == (1 if backup == "false" else 0), done.stderr
    got = events(live, "nightly-backup")
    assert [(e["kind"], e["run_id"]) for e in got] == [
        ("start", "1f0e3dad99908345"),
        ("success", "1f0e3dad99908345"),
        ("start", "c4ca4238a0b92382"),
        ("fail", "c4ca4238a0b92382"),
    ]
    assert got[1]["duration_ms"] is not None and got[3]["duration_ms"] is not None
    assert httpx.get(f"{live}/services/nightly-backup").json()["expected_period_sec"] == 86400


def test_systemd_example_backup_runs_while_the_registry_is_down() -> None:
    unit = (EXAMPLES / "systemd" / "backup.service").read_text()
    [command] = re.findall(r"^ExecStart=(.+)$", unit, flags=re.M)
    done = subprocess.run(
        ["sh", "-c", command.replace("/usr/local/bin/backup.sh", "true")],
        env={
            **os.environ,
            "HEARTWATCH_URL": f"http://127.0.0.1:{free_port()}",
            "INVOCATION_ID": "0",
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("script", "key"),
    [
        ("python_worker.py", "example-python-worker"),
        ("asyncio_service.py", "example-asyncio-service"),
    ],
)
def test_python_examples_run_and_report(live: str, script: str, key: str) -> None:
    env = {
        **os.environ,
        "HEARTWATCH_URL": live,
        "EXAMPLE_INTERVAL": str(KEEPALIVE_INTERVAL),
        "EXAMPLE_ROUNDS": "3",
        "EXAMPLE_WORK_SECONDS": "1.0",  # 3 s: two keep-alives (1 s +-10 % apart) and their replies
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = kinds(live, key)
    assert got[0] == "start" and got[-1] == "success" and len(got) >= 4
