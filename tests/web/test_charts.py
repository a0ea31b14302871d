"""The daily uptime bar: the day-by-day arithmetic (pure) and the SVG (valid XML, one
cell a day, each with its text)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from heartwatch.domain.status import Status
from heartwatch.domain.uptime import Change
from heartwatch.services.dashboard import Day, by_day
from heartwatch.web.charts import uptime_bar

SVG = "{http://www.w3.org/2000/svg}"
MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_days_split_at_midnight_and_skip_time_before_the_service() -> None:
    changes = [
        Change(MIDNIGHT + 22 * H, Status.DOWN),  # down from 22:00 to 02:00 the next day
        Change(MIDNIGHT + 26 * H, Status.ALIVE),
    ]
    days = by_day(
        Status.ALIVE, changes, MIDNIGHT - 24 * H, MIDNIGHT + 36 * H, born=MIDNIGHT - 12 * H
    )
    assert [d.start for d in days] == [MIDNIGHT - 24 * H, MIDNIGHT, MIDNIGHT + 24 * H]
    before, first, second = days
    assert (before.up_s, before.down_s) == (12 * 3600, 0)  # born at noon
    assert (first.up_s, first.down_s) == (22 * 3600, 2 * 3600)
    assert (second.up_s, second.down_s) == (10 * 3600, 2 * 3600)  # until 12:00, "now"
    assert second.uptime_percent is not None and round(second.uptime_percent, 2) == 83.33


def test_the_bar_is_valid_svg_with_a_cell_and_a_title_per_day() -> None:
    days = [
        Day(MIDNIGHT, 86400, 0),
        Day(MIDNIGHT + 24 * H, 86400 - 600, 600),
        Day(MIDNIGHT + 48 * H, 0, 0),
    ]
    root = ET.fromstring(str(uptime_bar(days)))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "uptime over 3 days: 99.65 %"
    cells = root.findall(f"{SVG}rect")
    assert [c.get("class") for c in cells] == ["bar-up", "bar-partial", "bar-none"]
    titles = [c.findtext(f"{SVG}title") for c in cells]
    assert titles == [
        "2026-03-01: 100.00 % up, 0 min down",
        "2026-03-02: 99.31 % up, 10 min down",
        "2026-03-03: no data",
    ]
