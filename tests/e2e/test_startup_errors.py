"""A heartwatch that cannot start says why on one line and exits 1: no traceback, and
(for a port in use) no worker started against the database."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL
from tests.e2e.conftest import Launcher, free_port
from tests.e2e.test_lifecycle import assert_clean_exit


def _last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_database_problems_are_one_line(tmp_path: Path) -> None:
    pg = make_url(PG_ADMIN_URL)
    closed = free_port()
    cases = {
        "not-a-url": "is not a database URL",
        "mysql://me@db/app": "names a 'mysql' database; heartwatch runs on SQLite or PostgreSQL",
        f"sqlite:///{tmp_path}/missing/dir/hw.db": "directory",
        f"postgresql://postgres@127.0.0.1:{closed}/x": (
            f"cannot reach PostgreSQL at 127.0.0.1:{closed}"
        ),
        pg.set(database="hw_no_such_database").render_as_string(hide_password=False): (
            "database 'hw_no_such_database' does not exist"
        ),
    }
    launcher = Launcher(tmp_path, "")
    # Side by side: each is a whole interpreter starting.
    running = {
        url: subprocess.Popen(
            [sys.executable, "-m", "heartwatch", "api", "--port", str(free_port())],
            cwd=tmp_path,
            env=launcher.env(HEARTWATCH_DATABASE_URL=url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in cases
    }
    for url, expected in cases.items():
        _, stderr = running[url].communicate(timeout=180)
        assert running[url].returncode == 1, (url, stderr)
        line = _last_line(stderr)
        assert line.startswith("heartwatch: ") and expected in line, (url, line)
    assert not (tmp_path / "missing").exists()


def test_an_unmigrated_database_says_run_migrate(launcher: Launcher) -> None:
    result = launcher.run("api", "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    assert "run `heartwatch migrate`" in _last_line(result.stderr)
    worker = launcher.run("worker")
    assert worker.returncode == 1 and "run `heartwatch migrate`" in _last_line(worker.stderr)


def test_a_port_in_use_stops_the_start_before_anything_runs(
    tmp_path: Path, occupied_port: int
) -> None:
    db = tmp_path / "hw.db"
    launcher = Launcher(tmp_path, f"sqlite+aiosqlite:///{db}")
    result = launcher.run("up", "--port", str(occupied_port))
    assert result.returncode == 1
    assert _last_line(result.stderr) == (
        f"heartwatch: port {occupied_port} on 127.0.0.1 is in use — another heartwatch? use --port"
    )
    # The port was tried first: not even the migration ran, let alone a worker.
    assert not db.exists()
    assert "worker started" not in result.stderr


def test_a_second_heartwatch_on_the_same_port_runs_no_worker(launcher: Launcher) -> None:
    port = free_port()
    first = launcher.start("up", port=port, HEARTWATCH_CHECK_INTERVAL_SECONDS="0.2")
    second = launcher.run("up", "--port", str(port), "--host", "127.0.0.1")
    assert second.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in _last_line(second.stderr)
    assert "worker started" not in second.stderr and "scheduler started" not in second.stderr

    # Meanwhile the first one logged a summary of itself, warned once that nobody would
    # be alerted, and keeps its own heartbeats (every 0.2 s here) out of the INFO log.
    with httpx.Client(base_url=first.base_url, timeout=10) as http:
        for _ in range(200):
            worker = http.get("/services/heartwatch-worker")
            if worker.status_code == 200 and worker.json()["heartbeat_count"] >= 3:
                break
            assert first.popen.poll() is None, first.log()
            time.sleep(0.1)
        else:
            pytest.fail(f"the worker never reported in:\n{first.log()}")
    log = first.log()
    [summary] = [line for line in log.splitlines() if "heartwatch starting" in line]
    assert f"docs=http://127.0.0.1:{port}/docs" in summary
    assert f"dashboard=http://127.0.0.1:{port}/" in summary
    assert "telegram_bot=False" in summary
    assert "services=0" in summary and "channels=0" in summary
    assert log.count("no notification channel is configured") == 1
    assert "HTTP Request" not in log
    assert "setup plugin" not in log
    assert_clean_exit(first)
