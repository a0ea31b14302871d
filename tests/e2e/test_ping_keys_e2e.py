"""A live `heartwatch up` that requires its ping key, set only in `.env`: the worker's own
heartbeat gets through (it once reported without the key and showed itself down), the
shipped cron example reports with it, and curl without it is refused."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from heartwatch.worker.runner import SELF_KEY
from tests.e2e.conftest import Launcher, free_port

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parents[2] / "examples"
PING_KEY = "e2e-ping-key-\u00e9t\u00e9"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("guarded")
    (workdir / ".env").write_text(
        f"HEARTWATCH_PING_KEY={PING_KEY}\nHEARTWATCH_REQUIRE_PING_KEY=true\n", encoding="utf-8"
    )
    launcher = Launcher(workdir, f"sqlite+aiosqlite:///{workdir / 'hw.db'}")
    try:  # (a process that never answered is killed too: else it outlives the run)
        proc = launcher.start(
            "up",
            port=free_port(),
            HEARTWATCH_SELF_MONITOR="true",
            HEARTWATCH_CHECK_INTERVAL_SECONDS="0.5",
        )
        yield proc.base_url
    finally:
        for started in launcher.procs:
            started.kill()


def test_the_worker_reports_in_with_the_key_from_dot_env(guarded: str) -> None:
    deadline = time.monotonic() + 30
    service = httpx.get(f"{guarded}/services/{SELF_KEY}")
    while time.monotonic() < deadline and (
        service.status_code != 200 or service.json()["heartbeat_count"] < 2
    ):
        time.sleep(0.2)
        service = httpx.get(f"{guarded}/services/{SELF_KEY}")
    assert service.status_code == 200, service.text
    assert service.json()["status"] == "alive"


def test_curl_without_the_key_is_refused_with_it_accepted(guarded: str) -> None:
    refused = subprocess.run(
        ["curl", "-sS", "-X", "POST", "-w", "%{http_code}", "-o", "/dev/null",
         f"{guarded}/heartbeat/manual"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert refused.stdout == "401"
    accepted = httpx.post(f"{guarded}/heartbeat/manual", headers={b"X-Ping-Key": PING_KEY.encode()})
    assert accepted.status_code == 200 and accepted.json()["registered"] is True


def test_the_cron_example_sends_the_key(guarded: str) -> None:
    lines = (EXAMPLES / "cron" / "crontab").read_text().splitlines()
    assert any(re.match(r"^HEARTWATCH_PING_KEY=", ln) for ln in lines)
    [job] = [ln for ln in lines if ln and not ln.startswith("#") and "=" not in ln.split()[0]]
    command = job.split(None, 5)[5]
    for stand_in in ("true", "false"):
        done = subprocess.run(
            ["sh", "-c", command.replace("/usr/local/bin/backup.sh", stand_in)],
            env={**os.environ, "HEARTWATCH_URL": guarded, "HEARTWATCH_PING_KEY": PING_KEY},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    history = httpx.get(f"{guarded}/services/backup/history").json()["items"]
    assert [h["kind"] for h in reversed(history)] == ["success", "fail"]
