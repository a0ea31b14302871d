"""An outage end to end: `heartwatch up`, a heartbeat service that goes quiet, the worker
turning it down, a heartbeat bringing it back — one incident, and uptime and MTTR that
match the hand computation from the recorded moments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import Launcher, free_port
from tests.e2e.test_lifecycle import Stack, assert_clean_exit

pytestmark = pytest.mark.e2e


def test_an_outage_makes_one_incident_and_the_uptime_figures(launcher: Launcher) -> None:
    proc = launcher.start("up", port=free_port())
    hw = Stack(proc.base_url)
    assert hw.http.post("/services", json={"key": "db", "expected_period_sec": 60}).is_success
    last = datetime.fromisoformat(hw.heartbeat("db")["received_at"])

    hw.advance(300)  # quiet for 5 periods: silent at +2P, down at +4P
    hw.wait_recorded("db", "down")
    [open_] = hw.http.get("/incidents/active").json()["items"]
    assert datetime.fromisoformat(open_["started_at"]) == last + timedelta(seconds=240)
    assert open_["duration"] is None
    assert open_["checks_failed_count"] is None  # a heartbeat service has no checks to count

    recovered = datetime.fromisoformat(hw.heartbeat("db")["received_at"])
    assert hw.http.get("/incidents/active").json()["items"] == []
    [incident] = hw.http.get("/services/db/incidents").json()["items"]
    outage = (recovered - (last + timedelta(seconds=240))).total_seconds()
    assert incident["resolved"] and incident["duration"] == pytest.approx(outage, abs=1e-3)

    body = hw.http.get("/metrics/uptime/db", params={"period": "24h"}).json()
    now = datetime.fromisoformat(body["to"])
    # alive, then silent (a grace period, still up) until +4P; down until the heartbeat;
    # alive since. The minutes before the first heartbeat were unknown: not counted.
    up = 240 + (now - recovered).total_seconds()
    assert body["up_seconds"] == pytest.approx(up, abs=1e-3)
    assert body["down_seconds"] == pytest.approx(outage, abs=1e-3)
    assert body["uptime_percent"] == pytest.approx(100 * up / (up + outage), abs=1e-6)
    assert body["incident_count"] == 1
    assert body["mttr"] == pytest.approx(outage, abs=1e-3)
    assert_clean_exit(proc)
