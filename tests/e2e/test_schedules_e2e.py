"""A nightly job on a cron schedule, end to end: `heartwatch up`, the dev clock standing
in for nights, the fake Telegram Bot API for the alerts. A `0 2 * * *` Europe/Moscow job
pinged at 02:01 stays alive; the next night's missing run turns it silent at 02:00 and
down at 02:05 local with one alert; a late ping at 02:20 recovers it, and the night
counts as down in the uptime, and the day's summary lists the missed run."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.e2e.conftest import Launcher, free_port
from tests.e2e.test_lifecycle import Stack, assert_clean_exit
from tests.e2e.test_notifications import ThreadedTelegram, telegram  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


def _alerts(bot: ThreadedTelegram) -> list[str]:
    """The titles of the services' alerts (not the daily summary)."""
    titles = [t.splitlines()[0] for t in bot.texts()]
    return [t for t in titles if not t.startswith("Daily summary")]


def _at(hw: Stack, moment: str) -> None:
    r = hw.http.post("/dev/clock", json={"now": moment})
    assert r.status_code == 200, r.text


def test_a_missed_nightly_run_is_one_alert_and_counts_as_down(
    launcher: Launcher,
    telegram: ThreadedTelegram,  # noqa: F811 (the fixture)
) -> None:
    proc = launcher.start(
        "up",
        port=free_port(),
        TELEGRAM_BOT_TOKEN=telegram.fake.token,
        TELEGRAM_CHAT_ID="-1001234",
        TELEGRAM_API_URL=telegram.fake.api_url,
        TIMEZONE="Europe/Moscow",
    )
    hw = Stack(proc.base_url)
    _at(hw, "2027-03-01T20:00:00Z")  # 23:00 in Moscow
    created = hw.http.post("/services", json={"key": "backup", "schedule": "0 2 * * *"})
    assert created.status_code == 201, created.text
    assert created.json()["timezone"] == "Europe/Moscow"  # TIMEZONE is the default zone
    assert created.json()["next_expected_at_local"] == "2027-03-02T02:00:00+03:00"

    _at(hw, "2027-03-01T23:01:00Z")  # 02:01 MSK: the run reports in
    assert hw.heartbeat("backup")["status"] == "alive"
    _at(hw, "2027-03-02T22:59:00Z")  # 01:59 MSK the next night: nothing due yet
    view = hw.service("backup")
    assert view["status"] == "alive"
    assert view["deadline_at_local"] == "2027-03-03T02:05:00+03:00"

    _at(hw, "2027-03-02T23:00:20Z")  # 02:00:20 MSK, no ping: silent from 02:00
    hw.wait_recorded("backup", "silent")
    _at(hw, "2027-03-02T23:05:20Z")  # 02:05:20 MSK: down from 02:05
    hw.wait_recorded("backup", "down")
    history = hw.history("backup")
    assert [(to, at.isoformat()) for _, to, at in history[-2:]] == [
        ("silent", "2027-03-02T23:00:00+00:00"),
        ("down", "2027-03-02T23:05:00+00:00"),
    ]
    alert = telegram.wait_for("backup is DOWN")
    assert "expected run at 02:00 MSK missed" in alert

    _at(hw, "2027-03-02T23:20:00Z")  # 02:20 MSK: the late run
    recovered = datetime.fromisoformat(hw.heartbeat("backup")["received_at"])
    assert hw.service("backup")["status"] == "alive"
    telegram.wait_for("backup RECOVERED")
    assert sum(t.startswith("backup is DOWN") for t in telegram.texts()) == 1

    [incident] = hw.http.get("/services/backup/incidents").json()["items"]
    assert incident["started_at"] == "2027-03-02T23:05:00Z" and incident["resolved"]
    uptime = hw.http.get("/metrics/uptime/backup", params={"period": "24h"}).json()
    outage = (recovered - datetime.fromisoformat("2027-03-02T23:05:00+00:00")).total_seconds()
    assert uptime["down_seconds"] == pytest.approx(outage, abs=1e-3)
    assert uptime["incident_count"] == 1 and uptime["uptime_percent"] < 100

    _at(hw, "2027-03-03T06:00:05Z")  # 09:00:05 MSK: the day's summary names the missed run
    summary = telegram.wait_for("Day: 2027-03-03")
    assert "Missed scheduled runs (last 24 h): 1\n• backup: 02:00 MSK" in summary
    assert_clean_exit(proc)


def test_a_sunday_window_holds_the_alert_until_it_ends(
    launcher: Launcher,
    telegram: ThreadedTelegram,  # noqa: F811 (the fixture)
) -> None:
    proc = launcher.start(
        "up",
        port=free_port(),
        TELEGRAM_BOT_TOKEN=telegram.fake.token,
        TELEGRAM_CHAT_ID="-1001234",
        TELEGRAM_API_URL=telegram.fake.api_url,
        TIMEZONE="Europe/Moscow",
    )
    hw = Stack(proc.base_url)
    _at(hw, "2027-03-07T00:00:00Z")  # Sunday 03:00 in Moscow
    window = {"schedule": "0 3 * * SUN", "duration_sec": 3600}  # 03:00-04:00, TIMEZONE
    planned = hw.http.post("/maintenance", json=window)
    assert planned.status_code == 201, planned.text
    assert planned.json()["active_until"] == "2027-03-07T01:00:00Z"
    for key in ("db", "cache"):
        assert hw.http.post("/services", json={"key": key, "expected_period_sec": 60}).is_success
        hw.heartbeat(key)

    hw.advance(300)  # 03:05: both down, inside the window
    hw.wait_recorded("db", "down")
    hw.wait_recorded("cache", "down")
    hw.heartbeat("cache")  # cache recovers before the window ends
    # (and is paused: left alone it would go quiet and down again after the window)
    assert hw.http.post("/services/cache/pause").is_success
    # The worker's notification round runs every second: give it a few.
    hw.advance(1)
    time.sleep(3)
    assert _alerts(telegram) == []

    _at(hw, "2027-03-07T01:00:30Z")  # 04:00:30: the window is over, db is still down
    alert = telegram.wait_for("db is DOWN")
    assert "still down when the maintenance window ended" in alert
    time.sleep(2)
    assert _alerts(telegram) == ["db is DOWN"]
    assert_clean_exit(proc)
