"""Uptime math against an independent brute force: walk the history second by second
and ask "what was the status in this second?". Stamps are whole seconds so the brute
force is exact; the production code must agree to 1e-9."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.status import Status
from heartwatch.domain.uptime import (
    HOUR,
    Change,
    StatusTimes,
    ceil_hour,
    floor_hour,
    status_at,
    time_in_status,
    time_in_status_by_hour,
)

T0 = datetime(2026, 3, 1, 10, 17, 5, tzinfo=UTC)
SPAN = 4 * 3600  # histories over a few hours, so hour splitting is exercised

histories = st.lists(
    st.tuples(st.integers(0, SPAN), st.sampled_from(list(Status))), max_size=25
).map(lambda xs: sorted(xs, key=lambda x: x[0]))


def brute_force(
    opening: Status, history: list[tuple[int, Status]], start: int, end: int
) -> dict[Status, float]:
    counts = dict.fromkeys(Status, 0.0)
    for second in range(start, end):
        status = opening
        for at, to in history:  # the last change at or before this second wins
            if at <= second:
                status = to
        counts[status] += 1
    return counts


def changes_of(history: list[tuple[int, Status]]) -> list[Change]:
    return [Change(T0 + timedelta(seconds=at), to) for at, to in history]


def assert_close(times: StatusTimes, expected: dict[Status, float]) -> None:
    for status in Status:
        assert abs(times.seconds[status] - expected[status]) <= 1e-9, status


@settings(max_examples=150, deadline=None)
@given(
    opening=st.sampled_from(list(Status)),
    history=histories,
    window=st.tuples(st.integers(0, SPAN), st.integers(0, SPAN)).map(sorted),
)
def test_time_in_status_equals_brute_force(
    opening: Status, history: list[tuple[int, Status]], window: list[int]
) -> None:
    start, end = window
    # The status in force at `start` is what the caller derives from the history.
    at_start = status_at(changes_of(history), T0 + timedelta(seconds=start), opening)
    times = time_in_status(
        at_start,
        changes_of(history),
        T0 + timedelta(seconds=start),
        T0 + timedelta(seconds=end),
    )
    assert_close(times, brute_force(opening, history, start, end))
    expected = brute_force(opening, history, start, end)
    up = expected[Status.ALIVE] + expected[Status.SILENT]
    down = expected[Status.DOWN] + expected[Status.DEAD]
    if up + down == 0:
        assert times.uptime_percent is None
    else:
        assert times.uptime_percent is not None
        assert abs(times.uptime_percent - 100 * up / (up + down)) <= 1e-9


@settings(max_examples=100, deadline=None)
@given(opening=st.sampled_from(list(Status)), history=histories)
def test_hourly_pieces_add_up_to_the_whole(
    opening: Status, history: list[tuple[int, Status]]
) -> None:
    changes = changes_of(history)
    start, end = floor_hour(T0), ceil_hour(T0 + timedelta(seconds=SPAN))
    whole = time_in_status(opening, changes, start, end)
    by_hour = time_in_status_by_hour(opening, changes, start, end)
    assert list(by_hour) == [start + i * HOUR for i in range(len(by_hour))]
    total = StatusTimes()
    for hour, piece in by_hour.items():
        assert abs(sum(piece.seconds.values()) - 3600) <= 1e-9  # every hour fully covered
        # each hour on its own is the same function over a smaller window
        assert_close(
            piece,
            time_in_status(status_at(changes, hour, opening), changes, hour, hour + HOUR).seconds,
        )
        total.merge(piece)
    assert_close(total, whole.seconds)


def test_silent_counts_as_up_and_unknown_or_paused_are_left_out() -> None:
    changes = [
        Change(T0 + timedelta(minutes=10), Status.ALIVE),
        Change(T0 + timedelta(minutes=20), Status.SILENT),
        Change(T0 + timedelta(minutes=30), Status.DOWN),
        Change(T0 + timedelta(minutes=40), Status.PAUSED),
        Change(T0 + timedelta(minutes=50), Status.DEAD),
    ]
    times = time_in_status(Status.UNKNOWN, changes, T0, T0 + timedelta(minutes=60))
    assert times.up_s == 1200 and times.down_s == 1200 and times.observed_s == 2400
    assert times.uptime_percent == 50.0
    assert times.seconds[Status.UNKNOWN] == 600 and times.seconds[Status.PAUSED] == 600


def test_a_window_with_no_verdict_has_no_uptime() -> None:
    times = time_in_status(Status.PAUSED, [], T0, T0 + HOUR)
    assert times.uptime_percent is None and times.observed_s == 0
