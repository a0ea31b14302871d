"""The README's own commands, run as written against a real heartwatch: the quick start
ends with a service shown `alive`, and neither it nor "Reporting in" raises an alarm."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import Launcher, free_port
from tests.e2e.test_lifecycle import assert_clean_exit

README = Path(__file__).parents[2] / "README.md"


def readme_commands(section: str) -> list[str]:
    """The command lines of the README's code block marked `<!-- section -->`."""
    text = README.read_text()
    found = re.search(rf"<!-- {section} -->\n```sh\n(.*?)```\n<!-- /{section} -->", text, re.S)
    assert found, f"README has no {section} block"
    return [line for line in found[1].splitlines() if line.strip() and not line.startswith("#")]


def _items(body: Any) -> list[Any]:
    return body if isinstance(body, list) else body["items"]


def test_the_quick_start_and_first_reports_raise_no_alarm(launcher: Launcher) -> None:
    quick_start = readme_commands("quick-start")
    assert quick_start[0].startswith("make run")
    assert len(quick_start) == 3
    port = free_port()
    # `make run` is `heartwatch up` (the Makefile), here on a port of the test's own.
    proc = launcher.start("up", port=port, HEARTWATCH_CHECK_INTERVAL_SECONDS="0.5")
    outputs = []
    for line in [*quick_start[1:], *readme_commands("reporting-in")]:
        command = line.replace("localhost:8765", f"127.0.0.1:{port}")
        done = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    assert '"status":"alive"' in outputs[1], outputs[1]  # the quick start's last line

    with httpx.Client(base_url=proc.base_url, timeout=10) as http:
        # Let the worker evaluate a few times (its own heartbeats count its rounds).
        for _ in range(300):
            worker = http.get("/services/heartwatch-worker")
            if worker.status_code == 200 and worker.json()["heartbeat_count"] >= 4:
                break
            time.sleep(0.1)
        services = {s["key"]: s["status"] for s in _items(http.get("/services").json())}
        assert services["billing"] == "alive" and services["nightly-backup"] == "alive"
        # (The worker's own service is left out: reporting every 0.5 s on a busy test
        # machine, it may well be late.)
        readme_keys = {"billing", "nightly-backup"}
        incidents = _items(http.get("/incidents/active").json())
        assert [i for i in incidents if i["service_key"] in readme_keys] == []
        changes = [
            t for t in _items(http.get("/state-history").json()) if t["service_key"] in readme_keys
        ]
        assert {(t["service_key"], t["to_state"]) for t in changes} == {
            ("billing", "alive"),
            ("nightly-backup", "alive"),
        }, changes
        assert not any(t["alert_sent"] for t in changes)
    assert_clean_exit(proc)
