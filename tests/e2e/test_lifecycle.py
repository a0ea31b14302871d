"""heartwatch as a user runs it: `heartwatch up` in a subprocess, driven over HTTP, with
the dev clock standing in for the passing of hours and days."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher, Proc, free_port

pytestmark = pytest.mark.e2e


class Stack:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def advance(self, seconds: float) -> None:
        r = self.http.post("/dev/clock", json={"advance_seconds": seconds})
        assert r.status_code == 200, r.text

    def heartbeat(self, key: str) -> dict[str, Any]:
        r = self.http.post("/heartbeat", params={"service_key": key})
        assert r.status_code == 200, r.text
        ack: dict[str, Any] = r.json()
        return ack

    def service(self, key: str) -> dict[str, Any]:
        r = self.http.get(f"/services/{key}")
        assert r.status_code == 200, r.text
        row: dict[str, Any] = r.json()
        return row

    def wait_status(self, key: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
        """Until the API shows `status` (the view is as of now, worker or not)."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.service(key)
            if row["status"] == status or time.monotonic() > deadline:
                assert row["status"] == status, row
                return row
            time.sleep(0.1)

    def wait_recorded(self, key: str, status: str, timeout: float = 20.0) -> None:
        """Until the worker has recorded the change to `status`: within about a second of
        a clock move once it runs; the timeout allows for a slow start on a busy machine."""
        deadline = time.monotonic() + timeout
        while True:
            history = self.history(key)
            if (history and history[-1][1] == status) or time.monotonic() > deadline:
                assert history and history[-1][1] == status, history
                assert self.service(key)["status"] == status
                return
            time.sleep(0.1)

    def history(self, key: str) -> list[tuple[str, str, datetime]]:
        r = self.http.get("/state-history", params={"service_key": key})
        assert r.status_code == 200, r.text
        return [
            (t["from_state"], t["to_state"], datetime.fromisoformat(t["timestamp"]))
            for t in reversed(r.json()["items"])
        ]


def assert_clean_exit(proc: Proc, sig: int = signal.SIGTERM) -> None:
    code, took = proc.stop(sig)
    log = proc.log()
    assert code == 0, log
    assert took < 10, f"took {took:.1f}s to stop"
    for bad in ("Traceback", "Task was destroyed", "Exception", "Error"):
        assert bad not in log, log
    assert "heartwatch stopped" in log


def test_a_service_walks_the_whole_lifecycle(launcher: Launcher) -> None:
    proc = launcher.start("up", port=free_port())
    hw = Stack(proc.base_url)

    # unknown: fewer than 4 heartbeats and no declared period
    for _ in range(3):
        assert hw.heartbeat("billing")["status"] == "unknown"
        hw.advance(60)
    assert hw.service("billing")["status"] == "unknown"

    # alive: the 4th heartbeat teaches the period (60 s) and makes it alive at once
    ack = hw.heartbeat("billing")
    last = datetime.fromisoformat(ack["received_at"])
    assert ack["status"] == "alive"
    row = hw.service("billing")
    assert row["status"] == "alive" and row["heartbeat_count"] == 4
    assert 60 <= row["expected_period_sec"] < 70  # the clock's moves, plus real time
    period = timedelta(seconds=row["expected_period_sec"])

    # silent past 2P, down past 4P — each stamped when its condition became true
    hw.advance(130)
    hw.wait_recorded("billing", "silent")
    hw.advance(120)
    hw.wait_recorded("billing", "down")

    # a heartbeat makes it alive at once
    ack = hw.heartbeat("billing")
    recovered = datetime.fromisoformat(ack["received_at"])
    assert ack["status"] == "alive"
    row = hw.service("billing")
    assert row["status"] == "alive"
    # The outage's gap joined the sample; the median barely moves.
    assert 60 <= row["expected_period_sec"] < 70  # the clock's moves, plus real time
    period_after = timedelta(seconds=row["expected_period_sec"])

    # dead after 7 days without a heartbeat
    hw.advance(8 * 86400)
    hw.wait_recorded("billing", "dead")

    expected = [
        ("unknown", "alive", last),
        ("alive", "silent", last + 2 * period),
        ("silent", "down", last + 4 * period),
        ("down", "alive", recovered),
        ("alive", "silent", recovered + 2 * period_after),
        ("silent", "down", recovered + 4 * period_after),
        ("down", "dead", recovered + timedelta(days=7)),
    ]
    actual = hw.history("billing")
    assert [(f, t) for f, t, _ in actual] == [(f, t) for f, t, _ in expected]
    # Stamped when the condition became true (to the microsecond rounding of P x factor),
    # not when the worker noticed.
    for (_, _, got), (_, _, want) in zip(actual, expected, strict=True):
        assert abs(got - want) <= timedelta(milliseconds=1), (got, want)
    assert_clean_exit(proc)


def test_ctrl_c_stops_api_and_worker_cleanly(launcher: Launcher) -> None:
    proc = launcher.start("up", port=free_port())
    Stack(proc.base_url).heartbeat("x")
    assert_clean_exit(proc, signal.SIGINT)


def test_api_and_worker_as_separate_processes_share_one_clock(launcher: Launcher) -> None:
    """Scale-out shape: `migrate`, then `api` and `worker` apart. The worker sees a clock
    move made through the API of another process, and both write the same database."""
    migrated = launcher.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    api = launcher.start("api", port=free_port())
    worker = launcher.start("worker")
    hw = Stack(api.base_url)
    hw.http.post("/services", json={"key": "split", "expected_period_sec": 30})
    ack = hw.heartbeat("split")
    assert ack["status"] == "alive"
    hw.advance(61)
    hw.wait_recorded("split", "silent")
    assert hw.history("split")[-1] == (
        "alive",
        "silent",
        datetime.fromisoformat(ack["received_at"]) + timedelta(seconds=60),
    )
    assert_clean_exit(worker)
    assert_clean_exit(api)


def test_api_refuses_an_unmigrated_database_with_a_clear_message(launcher: Launcher) -> None:
    result = launcher.run("api", "--port", str(free_port()))
    assert result.returncode != 0
    assert "heartwatch migrate" in result.stderr + result.stdout


def test_the_worker_watches_itself_and_a_dead_worker_shows_as_silent(launcher: Launcher) -> None:
    """heartwatch watches itself: the worker reports in through
    the API with the client SDK; once it is killed, the registry shows it going silent."""
    assert launcher.run("migrate").returncode == 0
    api = launcher.start("api", port=free_port())
    worker = launcher.start(
        "worker", HEARTWATCH_URL=api.base_url, HEARTWATCH_CHECK_INTERVAL_SECONDS="1"
    )
    hw = Stack(api.base_url)
    deadline = time.monotonic() + 15
    while hw.http.get("/services/heartwatch-worker").status_code != 200:
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.2)
    row = hw.wait_status("heartwatch-worker", "alive")
    assert row["expected_period_sec"] == 1
    worker.popen.kill()  # no clean shutdown: as if the machine died
    worker.popen.wait()
    hw.wait_status("heartwatch-worker", "silent", timeout=10)
    assert_clean_exit(api)
