"""The failure counter: a sliding window per client, with a bounded number of clients."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.ratelimit import FailureWindow, client_bucket, retry_after_header


def test_a_client_is_held_back_after_limit_failures_within_the_window() -> None:
    window = FailureWindow(limit=3, window_s=60)
    for t in (0.0, 10.0):
        window.failed("a", t)
        assert window.retry_after("a", t) is None
    window.failed("a", 20.0)
    assert window.retry_after("a", 20.0) == 40.0  # until the first failure is 60 s old
    assert window.retry_after("a", 59.0) == 1.0
    assert window.retry_after("a", 60.0) is None  # the window slid past it
    assert window.retry_after("b", 20.0) is None  # others are not held back


def test_the_window_slides_with_each_failure() -> None:
    window = FailureWindow(limit=2, window_s=10)
    window.failed("a", 0.0)
    window.failed("a", 9.0)
    assert window.retry_after("a", 9.0) == 1.0
    window.failed("a", 10.0)  # failing again while let through
    assert window.retry_after("a", 10.0) == 9.0  # the latest two: 9 and 10


def test_forget_clears_a_client() -> None:
    window = FailureWindow(limit=1, window_s=60)
    window.failed("alice", 0.0)
    assert window.retry_after("alice", 1.0) is not None
    window.forget("alice")
    window.forget("nobody")
    assert window.retry_after("alice", 1.0) is None


def test_tracked_clients_are_bounded_stale_ones_first() -> None:
    window = FailureWindow(limit=2, window_s=60, max_tracked=3)
    window.failed("old", 0.0)
    window.failed("b", 50.0)
    window.failed("b", 51.0)
    window.failed("c", 52.0)
    window.failed("d", 100.0)  # full: "old" has left the window, so it goes
    assert window.tracked() == 3
    assert window.retry_after("b", 100.0) is not None  # still held back
    window.failed("e", 101.0)  # none stale: the least recently failed ("b") goes
    assert window.tracked() == 3
    assert window.retry_after("b", 101.0) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.floats(0, 5)), max_size=60),
    st.integers(1, 4),
)
def test_the_window_agrees_with_counting(events: list[tuple[str, float]], limit: int) -> None:
    """Against the plain definition: held back iff `limit` failures in the last window."""
    window = FailureWindow(limit=limit, window_s=10, max_tracked=100)
    now = 0.0
    seen: dict[str, list[float]] = {}
    for who, step in events:
        now += step
        recent = [t for t in seen.get(who, []) if now - t < 10]
        held = window.retry_after(who, now) is not None
        assert held == (len(recent) >= limit)
        if not held:
            window.failed(who, now)
            seen.setdefault(who, []).append(now)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FailureWindow(limit=0, window_s=60)


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.0) == "1"
    assert retry_after_header(1.2) == "2"
    assert retry_after_header(59.9) == "60"


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:DB8:0:0:ffff::9", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("::1", "::/64"),
        ("unix-socket", "unix-socket"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_client_bucket(address: str | None, bucket: str) -> None:
    assert client_bucket(address) == bucket
