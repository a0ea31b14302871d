"""The pull lifecycle: thresholds over consecutive check results."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.heartbeat import Transition
from heartwatch.domain.probe import (
    ProbeRules,
    ProbeState,
    apply_result,
    only_counts,
    set_paused,
)
from heartwatch.domain.status import Status

T0 = datetime(2026, 1, 5, tzinfo=UTC)
NEW = ProbeState(status=Status.UNKNOWN, status_since=T0)


def run(
    results: list[bool], rules: ProbeRules = ProbeRules(), every: float = 30
) -> tuple[ProbeState, list[Transition]]:
    state, transitions = NEW, []
    for i, up in enumerate(results):
        state, more = apply_result(state, up, T0 + timedelta(seconds=every * (i + 1)), rules)
        transitions += more
    return state, transitions


def at(i: int, every: float = 30) -> datetime:
    return T0 + timedelta(seconds=every * (i + 1))


def test_unknown_until_the_first_result_then_alive_or_down() -> None:
    assert run([True])[0].status is Status.ALIVE
    assert run([False])[0].status is Status.DOWN


def test_failure_threshold_delays_the_verdict_not_the_outage_start() -> None:
    rules = ProbeRules(failure_threshold=3)
    state, transitions = run([True, False, False], rules)
    assert state.status is Status.ALIVE  # two failures: not yet
    state, transitions = run([True, False, False, False], rules)
    assert state.status is Status.DOWN
    # stamped at the first failed check of the streak, not the third
    assert transitions[-1] == Transition(Status.ALIVE, Status.DOWN, at(1), transitions[-1].reason)
    assert "3 failed checks" in transitions[-1].reason


def test_an_interrupted_streak_starts_over() -> None:
    rules = ProbeRules(failure_threshold=2)
    state, _ = run([True, False, True, False, True], rules)
    assert state.status is Status.ALIVE


def test_success_threshold_for_recovery() -> None:
    rules = ProbeRules(success_threshold=2)
    state, transitions = run([False, True], rules)
    assert state.status is Status.DOWN
    state, transitions = run([False, True, True], rules)
    assert state.status is Status.ALIVE
    assert transitions[-1].at == at(1)


def test_dead_after_being_down_for_seven_days() -> None:
    daily = 86400.0
    state, transitions = run([False] * 9, every=daily)
    assert state.status is Status.DEAD
    assert transitions[-1].from_status is Status.DOWN
    assert transitions[-1].at == at(0, daily) + timedelta(days=7)
    state, transitions = run([False] * 9 + [True], every=daily)
    assert state.status is Status.ALIVE  # it kept being checked, and came back


def test_the_error_is_in_the_reason() -> None:
    _, transitions = apply_result(NEW, False, T0, ProbeRules(), "status 503 not in 200-399")
    assert transitions[0].reason.endswith("status 503 not in 200-399")


def test_paused_services_record_results_but_do_not_move() -> None:
    paused, transitions = set_paused(run([True])[0], True, T0 + timedelta(hours=1))
    assert transitions[0].to_status is Status.PAUSED
    after, more = apply_result(paused, False, T0 + timedelta(hours=2), ProbeRules())
    assert (after.status, more) == (Status.PAUSED, [])
    resumed, back = set_paused(after, False, T0 + timedelta(hours=3))
    assert (resumed.status, back[0].to_status) == (Status.UNKNOWN, Status.UNKNOWN)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), max_size=60),
    st.integers(1, 5),
    st.integers(1, 5),
)
def test_transitions_chain_and_follow_the_thresholds(
    results: list[bool], failures: int, successes: int
) -> None:
    rules = ProbeRules(failure_threshold=failures, success_threshold=successes)
    state, transitions = run(results, rules)
    previous = Status.UNKNOWN
    last_at = T0
    for t in transitions:
        assert t.from_status is previous and t.to_status is not previous
        assert t.at >= last_at
        previous, last_at = t.to_status, t.at
    assert state.status is previous
    # The verdict agrees with the tail of the results.
    tail_up = 0
    for up in reversed(results):
        if not up:
            break
        tail_up += 1
    tail_down = 0
    for up in reversed(results):
        if up:
            break
        tail_down += 1
    if tail_up >= successes:
        assert state.status is Status.ALIVE
    if tail_down >= failures:
        assert state.status in (Status.DOWN, Status.DEAD)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(Status)),
    st.sampled_from([None, True, False]),
    st.integers(0, 10),
    st.sampled_from([None, T0]),
    st.booleans(),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 20),
)
def test_only_counts_is_when_apply_result_only_counts(
    status: Status,
    streak_up: bool | None,
    streak_count: int,
    streak_since: datetime | None,
    up: bool,
    failures: int,
    successes: int,
    days_later: int,
) -> None:
    """The shortcut callers take for the usual check (`only_counts`) is exactly what
    `apply_result` does with it, whatever the rules and however late the check."""
    state = ProbeState(status, T0, streak_up, streak_count, streak_since)
    rules = ProbeRules(failure_threshold=failures, success_threshold=successes)
    after, transitions = apply_result(state, up, T0 + timedelta(days=days_later), rules)
    if only_counts(status, streak_up, streak_since, up):
        assert (after, transitions) == (replace(state, streak_count=streak_count + 1), [])
    elif status is Status.ALIVE and up:
        # Not the usual check: this result starts a streak (there was none, or a failing one).
        assert after.streak_count == 1
