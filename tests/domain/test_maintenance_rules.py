"""Maintenance windows as pure rules: which moments a one-off or recurring window covers,
for which services, and the stretches of it within a time range."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from heartwatch.domain.maintenance import covering, one_off, recurring
from heartwatch.domain.schedule import InvalidSchedule

SERVICE = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
HOUR = timedelta(hours=1)


def utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_a_one_off_window_covers_from_its_start_up_to_its_end() -> None:
    window = one_off(uuid.UUID(int=9), utc(1, 10), utc(1, 11))
    assert window.span_at(utc(1, 9, 59)) is None
    assert window.span_at(utc(1, 10)) == (utc(1, 10), utc(1, 11))
    assert window.span_at(utc(1, 11)) is None
    assert window.spans(utc(1, 10, 30), utc(2)) == [(utc(1, 10, 30), utc(1, 11))]


def test_a_recurring_sunday_window_in_a_zone() -> None:
    # Sundays 03:00-04:00 in Berlin; 1 March 2026 is a Sunday (CET, UTC+1).
    window = recurring(uuid.UUID(int=9), "0 3 * * SUN", "Europe/Berlin", HOUR)
    assert window.span_at(utc(1, 2, 30)) == (utc(1, 2), utc(1, 3))
    assert window.span_at(utc(1, 3)) is None
    assert window.span_at(utc(2, 2, 30)) is None  # Monday
    # 29 March: the clocks spring forward at 02:00, 03:00 CEST is 01:00 UTC.
    assert window.span_at(utc(29, 1, 30)) == (utc(29, 1), utc(29, 2))
    assert window.spans(utc(1), utc(15)) == [(utc(1, 2), utc(1, 3)), (utc(8, 2), utc(8, 3))]
    # A window open at the range's start is clipped to it.
    assert window.spans(utc(1, 2, 30), utc(2)) == [(utc(1, 2, 30), utc(1, 3))]


def test_what_a_window_covers() -> None:
    for_service = one_off(uuid.UUID(int=9), utc(1), utc(2), service_id=SERVICE)
    for_tag = one_off(uuid.UUID(int=8), utc(1), utc(3), tag="db")
    everything = one_off(uuid.UUID(int=7), utc(5), utc(6))
    windows = [for_service, for_tag, everything]
    assert covering(windows, SERVICE, [], utc(1, 12)) == (utc(1), utc(2))
    assert covering(windows, OTHER, ["db"], utc(1, 12)) == (utc(1), utc(3))
    assert covering(windows, OTHER, ["web"], utc(1, 12)) is None
    assert covering(windows, OTHER, [], utc(5, 12)) == (utc(5), utc(6))
    # Covered by two: the one that ends last.
    assert covering(windows, SERVICE, ["db"], utc(1, 12)) == (utc(1), utc(3))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: one_off(uuid.UUID(int=1), utc(2), utc(1)), "ends after it starts"),
        (lambda: recurring(uuid.UUID(int=1), "0 3 * * SUN", "UTC", timedelta(0)), "lasts"),
        (lambda: recurring(uuid.UUID(int=1), "0 3 * * SUN", "UTC", timedelta(days=8)), "7 days"),
        (lambda: recurring(uuid.UUID(int=1), "0 61 * * *", "UTC", HOUR), "hour 61"),
        (
            lambda: one_off(uuid.UUID(int=1), utc(1), utc(2), service_id=SERVICE, tag="db"),
            "not both",
        ),
    ],
)
def test_bad_windows_are_refused(make: object, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        make()  # type: ignore[operator]
