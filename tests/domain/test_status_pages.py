"""Status pages' pure rules: slugs, the 90 daily cells, the state version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heartwatch.domain.badges import Color
from heartwatch.domain.status import Status
from heartwatch.domain.status_pages import (
    BAR_DAYS,
    cell_title,
    day_cells,
    duration_text,
    overall,
    state_version,
    valid_slug,
)
from heartwatch.domain.uptime import Change

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("acme", True),
        ("a", True),
        ("a-1", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("", False),
        ("a/b", False),
    ],
)
def test_slugs(slug: str, ok: bool) -> None:
    assert valid_slug(slug) is ok


def test_ninety_cells_oldest_first_today_last() -> None:
    cells = day_cells(Status.ALIVE, [], LONG_AGO, NOW, 99.9)
    assert len(cells) == BAR_DAYS
    assert cells[-1].day == datetime(2026, 3, 10, tzinfo=UTC)
    assert cells[0].day == cells[-1].day - timedelta(days=BAR_DAYS - 1)
    assert cells[-1].up_s == 12 * 3600  # today, up to now
    assert all(c.uptime_percent == 100.0 and c.color is Color.GREEN for c in cells)


def test_an_outage_across_midnight_splits_between_its_days() -> None:
    down = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    changes = [Change(down, Status.DOWN), Change(down + timedelta(hours=2), Status.ALIVE)]
    cells = {c.day.day: c for c in day_cells(Status.ALIVE, changes, LONG_AGO, NOW, 99.0)}
    assert (cells[8].down_s, cells[9].down_s, cells[10].down_s) == (3600, 3600, 0)
    assert cells[8].uptime_percent == pytest.approx(100 * 23 / 24)
    assert cells[8].color is Color.RED
    assert cell_title(cells[8]) == "2026-03-08: 95.83% up, 1380 min up, 60 min down"


def test_days_before_the_service_existed_have_no_data() -> None:
    created = NOW - timedelta(days=2, hours=6)
    cells = day_cells(Status.UNKNOWN, [Change(created, Status.ALIVE)], created, NOW, None)
    assert [c.uptime_percent is None for c in cells[-4:]] == [True, False, False, False]
    assert cells[0].color is Color.GREY
    assert cell_title(cells[0]).endswith(": no data")


def test_overall_banner() -> None:
    assert overall([Status.ALIVE, Status.DEAD]).color is Color.RED
    assert overall([Status.ALIVE, Status.SILENT]).color is Color.YELLOW
    assert overall([Status.ALIVE, Status.PAUSED]).word == "All services are operational"
    assert overall([]).word == overall([Status.UNKNOWN]).word == "No data yet"


def test_the_version_moves_with_state_and_with_time_only_while_down() -> None:
    up = state_version(["page", ("svc", Status.ALIVE)], NOW, [Status.ALIVE])
    assert up == state_version(["page", ("svc", Status.ALIVE)], NOW, [Status.ALIVE])
    assert up == state_version(
        ["page", ("svc", Status.ALIVE)], NOW + timedelta(hours=3), [Status.ALIVE]
    )
    assert up != state_version(
        ["page", ("svc", Status.ALIVE)], NOW + timedelta(days=1), [Status.ALIVE]
    )
    assert up != state_version(["page2", ("svc", Status.ALIVE)], NOW, [Status.ALIVE])
    down = state_version(["page", ("svc", Status.DOWN)], NOW, [Status.DOWN])
    same_minute = NOW + timedelta(seconds=30)
    assert down == state_version(["page", ("svc", Status.DOWN)], same_minute, [Status.DOWN])
    later = NOW + timedelta(minutes=1)
    assert down != state_version(["page", ("svc", Status.DOWN)], later, [Status.DOWN])


def test_durations() -> None:
    assert duration_text(59) == "1 min"
    assert duration_text(3600) == "1 h"
    assert duration_text(3600 + 120) == "1 h 2 min"
    assert duration_text(3 * 86400 + 7200) == "3 d 2 h"
