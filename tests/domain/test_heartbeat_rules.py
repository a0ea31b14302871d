"""The push (heartbeat) status rules of the README's "Statuses", as pure functions.

Two halves: worked examples that pin each rule at its boundaries (so a failure names the
rule that broke), then hypothesis properties that must hold for *every* history of
signals and every choice of settings — the ones the worker and ingest rely on:

- history does not depend on how often the worker ticks (transition stamps are the moment
  a condition became true, not the moment somebody looked);
- transitions form a chain, so the `state_transitions` table reads as one timeline;
- `next_deadline` is exactly the next moment `advance` would change something, which is
  what lets the worker look at a service only when it is due;
- silence only ever makes things worse, and one odd gap cannot skew the learned period.

Timestamp convention the tests pin (the code's): a step is in force from its own moment
on, so a service with period P is silent *at* last + 2P (the stamp of the ALIVE -> SILENT
transition) and alive at every earlier instant. The README words it "alive while E ≤ 2P";
the two differ only at that exact microsecond, where it does matter for a heartbeat
arriving then (see the strict xfail about the silent deadline). Bugs found while writing
these tests are strict xfails, so fixing one turns the suite red until its mark is removed.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Signal,
    Transition,
    advance,
    apply_signal,
    deadline_in,
    expected_period,
    heartbeats_to_learn,
    hint,
    median_period,
    next_deadline,
    receive,
    redeclare_period,
    schedule,
    set_paused,
)
from heartwatch.domain.status import SEVERITY, Health, Status, health_of

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
RULES = HeartbeatRules()
# Without the learned-period floor: for rules that hold at every scale, sub-minute included.
NO_FLOOR = HeartbeatRules(min_period=0.0)
US = timedelta(microseconds=1)  # the resolution of datetime: "just before" a moment
DAY = timedelta(days=1)

# Hypothesis costs a few milliseconds per example here whatever the test does, so the
# history properties run 100 examples (the module stays a few seconds) and the cheap median
# ones 200. For a deep run: HEARTWATCH_PROPERTY_EXAMPLES=5000 pytest tests/domain.
# deadline=None: the first examples pay for imports and would be reported as flaky.
_DEEP = os.environ.get("HEARTWATCH_PROPERTY_EXAMPLES")
PROPERTY = settings(max_examples=int(_DEEP or 100), deadline=None)
CHEAP_PROPERTY = settings(max_examples=int(_DEEP or 200), deadline=None)


def sec(n: float) -> timedelta:
    return timedelta(seconds=n)


def new_service(declared: float | None = None, at: datetime = T0) -> HeartbeatState:
    """A service as registration creates it: unknown, never heard from."""
    return HeartbeatState(status=Status.UNKNOWN, status_since=at, declared_period=declared)


def feed(
    state: HeartbeatState,
    signals: Iterable[tuple[Signal, datetime]],
    rules: HeartbeatRules = RULES,
) -> tuple[HeartbeatState, list[Transition]]:
    """Apply signals in order, collecting every transition they cause."""
    out: list[Transition] = []
    for signal, at in signals:
        state, transitions = apply_signal(state, signal, at, rules)
        out += transitions
    return state, out


def beats(
    offsets_s: Iterable[float],
    declared: float | None = None,
    rules: HeartbeatRules = RULES,
) -> tuple[HeartbeatState, list[Transition]]:
    """Success heartbeats at T0 + each offset (seconds), from a freshly registered service."""
    return feed(new_service(declared), ((Signal.SUCCESS, T0 + sec(o)) for o in offsets_s), rules)


def every(period_s: float, count: int) -> list[float]:
    """Offsets of `count` heartbeats `period_s` apart, the first at T0."""
    return [i * period_s for i in range(count)]


def status_at(state: HeartbeatState, moment: datetime, rules: HeartbeatRules = RULES) -> Status:
    return advance(state, moment, rules)[0].status


def timeline(transitions: Iterable[Transition]) -> list[tuple[Status, Status, datetime]]:
    return [(t.from_status, t.to_status, t.at) for t in transitions]


# --------------------------------------------------------------------------------------
# Status vocabulary
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "health"),
    [
        (Status.ALIVE, Health.HEALTHY),
        (Status.SILENT, Health.UNHEALTHY),
        (Status.DOWN, Health.UNHEALTHY),
        (Status.DEAD, Health.UNHEALTHY),
        (Status.UNKNOWN, Health.UNKNOWN),
        (Status.PAUSED, Health.UNKNOWN),
    ],
)
def test_health_is_the_coarse_view_design_describes(status: Status, health: Health) -> None:
    assert health_of(status) is health


def test_severity_ranks_every_status_and_orders_the_silence_ladder() -> None:
    # The monotonicity property below is only meaningful if every status has a rank and
    # alive < silent < down < dead; unknown and paused carry no verdict.
    assert set(SEVERITY) == set(Status)
    ladder = [Status.ALIVE, Status.SILENT, Status.DOWN, Status.DEAD]
    assert [SEVERITY[s] for s in ladder] == sorted({SEVERITY[s] for s in ladder})
    assert SEVERITY[Status.UNKNOWN] == SEVERITY[Status.PAUSED] == SEVERITY[Status.ALIVE]


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


def test_default_rules_are_the_ones_design_states() -> None:
    assert RULES.silent_factor == 2.0
    assert RULES.down_factor == 4.0
    assert RULES.dead_after == timedelta(days=7)
    assert RULES.min_heartbeats == 4
    assert RULES.sample_size == 20
    assert RULES.fallback_period is None
    assert RULES.min_period == 60.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"silent_factor": 0.0},
        {"silent_factor": -1.0},
        {"silent_factor": 4.0, "down_factor": 4.0},  # silent must come strictly first
        {"silent_factor": 5.0, "down_factor": 4.0},
        {"min_heartbeats": 1},  # one heartbeat has no gap to learn from
        {"sample_size": 0},
        {"min_period": -1.0},
    ],
)
def test_rules_reject_settings_that_make_no_sense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need"):
        HeartbeatRules(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Expected period: declared, else learned (median of the last gaps), else unknown
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_fewer_than_four_heartbeats_without_declared_period_is_unknown(count: int) -> None:
    state, transitions = beats(every(60, count))
    assert expected_period(state, RULES) is None
    assert state.status is Status.UNKNOWN
    assert transitions == []
    # ...and stays unknown while it keeps quiet (short of the dead age).
    assert status_at(state, T0 + 6 * DAY) is Status.UNKNOWN


def test_fourth_heartbeat_learns_the_period_and_makes_the_service_alive_at_once() -> None:
    state, transitions = beats([0, 60, 120, 180])
    assert expected_period(state, RULES) == 60.0
    assert timeline(transitions) == [(Status.UNKNOWN, Status.ALIVE, T0 + sec(180))]


def test_learned_period_is_the_median_gap_not_the_mean() -> None:
    # gaps 10, 20, 30, 1000: the mean (265) would tolerate a 9-minute silence.
    state, _ = beats([0, 10, 30, 60, 1060], rules=NO_FLOOR)
    assert expected_period(state, NO_FLOOR) == 25.0  # even count: mean of the middle two


def test_learned_period_uses_only_the_last_twenty_gaps() -> None:
    # Five hourly gaps long ago, then twenty one-minute gaps: the job's schedule changed.
    offsets = every(3600, 6)
    offsets += [offsets[-1] + 60 * i for i in range(1, 21)]
    state, _ = beats(offsets)
    assert len(state.recent_gaps) == 20
    assert expected_period(state, RULES) == 60.0


def test_declared_period_wins_over_the_learned_one() -> None:
    state, transitions = beats(every(60, 10), declared=3600.0)
    assert expected_period(state, RULES) == 3600.0
    # Silent only after 2 declared periods, although 2 learned ones have long passed.
    last = T0 + sec(9 * 60)
    assert status_at(state, last + sec(7199)) is Status.ALIVE
    assert status_at(state, last + sec(7200)) is Status.SILENT
    assert timeline(transitions) == [(Status.UNKNOWN, Status.ALIVE, T0)]


def test_declared_period_makes_the_first_heartbeat_count() -> None:
    state, transitions = beats([0], declared=60.0)
    assert state.status is Status.ALIVE
    assert timeline(transitions) == [(Status.UNKNOWN, Status.ALIVE, T0)]


def test_fallback_period_applies_while_nothing_is_declared_or_learned() -> None:
    rules = HeartbeatRules(fallback_period=300.0)
    state, _ = beats([0], rules=rules)
    assert expected_period(state, rules) == 300.0
    assert state.status is Status.ALIVE
    assert status_at(state, T0 + sec(600), rules) is Status.SILENT


def test_learned_period_replaces_the_fallback_once_known() -> None:
    rules = HeartbeatRules(fallback_period=300.0)
    state, _ = beats(every(120, 4), rules=rules)
    assert expected_period(state, rules) == 120.0


def test_duplicate_heartbeat_adds_no_zero_gap() -> None:
    # A retried request delivering the same ping twice must not drag the median to 0
    # (which would make the service silent the instant after every heartbeat).
    state, _ = beats([0, 60, 60, 120, 180])
    assert state.recent_gaps == (60.0, 60.0, 60.0)
    assert state.heartbeat_count == 5


def test_late_heartbeat_does_not_move_the_last_heartbeat_back() -> None:
    state, _ = beats([0, 60, 120])
    state, _ = apply_signal(state, Signal.SUCCESS, T0 + sec(30), RULES)
    assert state.last_heartbeat_at == T0 + sec(120)
    assert state.recent_gaps == (60.0, 60.0)


def test_median_period_needs_min_heartbeats_minus_one_gaps() -> None:
    assert median_period((60.0, 60.0), RULES) is None
    assert median_period((60.0, 60.0, 90.0), RULES) == 60.0
    assert median_period([61.0, 62.0, 63.0, 64.0], HeartbeatRules(min_heartbeats=2)) == 62.5


def test_rules_that_could_never_learn_a_period_are_refused() -> None:
    # Only sample_size gaps are kept: fewer than min_heartbeats - 1 would never be enough.
    with pytest.raises(ValueError, match="sample_size"):
        HeartbeatRules(sample_size=1)
    rules = HeartbeatRules(min_heartbeats=2, sample_size=1)  # "the period is the last gap"
    state, _ = beats(every(60, 10), rules=rules)
    assert expected_period(state, rules) == 60.0
    assert state.status is Status.ALIVE


def test_a_few_pings_by_hand_teach_no_period_and_raise_no_alarm() -> None:
    # The README's first steps: four curls a fraction of a second apart. They once taught
    # a period of 0.13 s: silent, then down (an incident, every channel alerted) within a
    # second. Gaps below the floor teach nothing, so the service waits, unknown.
    state, transitions = beats([0, 0.13, 0.26, 0.39])
    assert state.recent_gaps == ()
    assert expected_period(state, RULES) is None
    assert (state.status, transitions) == (Status.UNKNOWN, [])
    _, later = advance(state, T0 + sec(11), RULES)
    assert later == []
    assert status_at(state, T0 + 6 * DAY) is Status.UNKNOWN


def test_a_burst_of_pings_counts_as_one_heartbeat() -> None:
    # An hourly job whose report was retried (or sent twice): the burst is not a gap of
    # its own; the next gap is measured from the burst's last ping.
    state, _ = beats([0, 3600, 3600.2, 3600.5, 7200.5, 10800.5])
    assert state.recent_gaps == (3600.0, 3600.0, 3600.0)
    assert state.last_heartbeat_at == T0 + sec(10800.5)
    assert state.heartbeat_count == 6
    assert expected_period(state, RULES) == 3600.0


def test_a_gap_of_exactly_the_floor_teaches() -> None:
    state, _ = beats(every(60, 4))
    assert expected_period(state, RULES) == 60.0
    state, _ = beats(every(59.9, 4))
    assert expected_period(state, RULES) is None


def test_gaps_recorded_below_the_floor_teach_nothing_either() -> None:
    # Gaps a service learned before the floor existed (or under a lower one) are still in
    # its sample: they must not make a period below the floor either.
    legacy = replace(new_service(), recent_gaps=(0.13, 0.13, 0.13, 0.0186))
    assert expected_period(legacy, RULES) is None
    mixed = replace(legacy, recent_gaps=(0.13, 120.0, 0.2, 120.0, 180.0))
    assert expected_period(mixed, RULES) == 120.0


def test_a_declared_period_is_not_held_to_the_floor() -> None:
    # The floor is for learning from gaps; a period the sender declares is its own word.
    state, _ = beats([0, 10, 20], declared=10.0)
    assert expected_period(state, RULES) == 10.0
    assert status_at(state, T0 + sec(40)) is Status.SILENT


# --------------------------------------------------------------------------------------
# The silence ladder: alive -> silent (2P) -> down (4P) -> dead (7 days, never before down)
# --------------------------------------------------------------------------------------


def test_one_heartbeat_then_silence_walks_the_whole_ladder_with_exact_stamps() -> None:
    state, _ = beats([0], declared=60.0)
    end, transitions = advance(state, T0 + 8 * DAY, RULES)
    assert timeline(transitions) == [
        (Status.ALIVE, Status.SILENT, T0 + sec(120)),
        (Status.SILENT, Status.DOWN, T0 + sec(240)),
        (Status.DOWN, Status.DEAD, T0 + 7 * DAY),
    ]
    assert (end.status, end.status_since) == (Status.DEAD, T0 + 7 * DAY)


@pytest.mark.parametrize(
    ("elapsed", "status"),
    [
        (sec(0), Status.ALIVE),
        (sec(120) - US, Status.ALIVE),
        (sec(120), Status.SILENT),  # stamp of the change: the condition holds from here on
        (sec(240) - US, Status.SILENT),
        (sec(240), Status.DOWN),
        (7 * DAY - US, Status.DOWN),
        (7 * DAY, Status.DEAD),
        (365 * DAY, Status.DEAD),
    ],
)
def test_status_boundaries_with_a_one_minute_period(elapsed: timedelta, status: Status) -> None:
    state, _ = beats([0], declared=60.0)
    assert status_at(state, T0 + elapsed) is status


def test_factors_and_dead_age_are_settings() -> None:
    rules = HeartbeatRules(silent_factor=1.5, down_factor=3.0, dead_after=timedelta(hours=1))
    state, _ = beats([0], declared=60.0, rules=rules)
    _, transitions = advance(state, T0 + DAY, rules)
    assert timeline(transitions) == [
        (Status.ALIVE, Status.SILENT, T0 + sec(90)),
        (Status.SILENT, Status.DOWN, T0 + sec(180)),
        (Status.DOWN, Status.DEAD, T0 + timedelta(hours=1)),
    ]


def test_transition_reasons_name_the_factor_that_fired() -> None:
    state, _ = beats([0], declared=60.0)
    _, transitions = advance(state, T0 + 8 * DAY, RULES)
    silent, down, dead = (t.reason for t in transitions)
    assert "2x" in silent
    assert "4x" in down
    assert "no heartbeat" in dead


def test_dead_never_comes_before_down_for_slow_jobs() -> None:
    # A job every 2 days is down after 8 days; the 7-day dead age must not overtake that.
    state, _ = beats([0], declared=2 * 86400.0)
    assert status_at(state, T0 + 7 * DAY + sec(1)) is Status.SILENT
    assert status_at(state, T0 + 8 * DAY - US) is Status.SILENT
    assert status_at(state, T0 + 8 * DAY) is Status.DEAD
    assert next_deadline(state, RULES, T0 + 5 * DAY) == T0 + 8 * DAY


def test_unknown_service_dies_after_the_dead_age_too() -> None:
    state, _ = beats([0, 60])
    _, transitions = advance(state, T0 + 30 * DAY, RULES)
    assert timeline(transitions) == [(Status.UNKNOWN, Status.DEAD, T0 + sec(60) + 7 * DAY)]


def test_never_heard_from_service_stays_unknown_and_needs_no_deadline() -> None:
    state = new_service(declared=60.0)
    assert advance(state, T0 + 365 * DAY, RULES) == (state, [])
    assert next_deadline(state, RULES, T0) is None


def test_a_late_heartbeat_records_the_outage_it_ends_even_if_the_worker_never_ran() -> None:
    state, _ = beats([0], declared=60.0)
    state, transitions = apply_signal(state, Signal.SUCCESS, T0 + sec(300), RULES)
    assert timeline(transitions) == [
        (Status.ALIVE, Status.SILENT, T0 + sec(120)),
        (Status.SILENT, Status.DOWN, T0 + sec(240)),
        (Status.DOWN, Status.ALIVE, T0 + sec(300)),
    ]
    assert (state.status, state.status_since) == (Status.ALIVE, T0 + sec(300))


def test_a_heartbeat_exactly_at_the_silent_deadline_records_no_outage() -> None:
    state, _ = beats([0], declared=60.0)
    _, transitions = apply_signal(state, Signal.SUCCESS, T0 + sec(120), RULES)
    assert timeline(transitions) == []


def test_a_heartbeat_brings_a_dead_service_back_to_alive_at_once() -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = advance(state, T0 + 10 * DAY, RULES)
    assert state.status is Status.DEAD
    state, transitions = apply_signal(state, Signal.SUCCESS, T0 + 10 * DAY + sec(1), RULES)
    assert timeline(transitions) == [(Status.DEAD, Status.ALIVE, T0 + 10 * DAY + sec(1))]


def test_heartbeats_within_the_period_cause_no_transitions() -> None:
    _, transitions = beats(every(60, 50), declared=60.0)
    assert timeline(transitions) == [(Status.UNKNOWN, Status.ALIVE, T0)]


# --------------------------------------------------------------------------------------
# Start and fail signals
# --------------------------------------------------------------------------------------


def test_fail_signal_makes_an_alive_service_down_at_once() -> None:
    state, _ = beats([0], declared=60.0)
    state, transitions = apply_signal(state, Signal.FAIL, T0 + sec(10), RULES)
    assert timeline(transitions) == [(Status.ALIVE, Status.DOWN, T0 + sec(10))]


def test_fail_signal_makes_a_service_down_even_before_its_period_is_known() -> None:
    _, transitions = feed(new_service(), [(Signal.FAIL, T0)])
    assert timeline(transitions) == [(Status.UNKNOWN, Status.DOWN, T0)]


def test_failing_service_stays_down_until_the_next_success() -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = apply_signal(state, Signal.FAIL, T0 + sec(10), RULES)
    # Time passing does not heal it, and it is not "silent": it told us it failed.
    assert status_at(state, T0 + sec(11)) is Status.DOWN
    assert status_at(state, T0 + 7 * DAY + sec(10) - US) is Status.DOWN
    assert status_at(state, T0 + 7 * DAY + sec(10)) is Status.DEAD
    state, transitions = apply_signal(state, Signal.SUCCESS, T0 + sec(70), RULES)
    assert state.failed_at is None
    assert timeline(transitions) == [(Status.DOWN, Status.ALIVE, T0 + sec(70))]


def test_success_after_fail_goes_back_to_what_the_heartbeats_say() -> None:
    # Without a known period "what the heartbeats say" is unknown, not alive.
    _, transitions = feed(new_service(), [(Signal.FAIL, T0), (Signal.SUCCESS, T0 + sec(5))])
    assert timeline(transitions) == [
        (Status.UNKNOWN, Status.DOWN, T0),
        (Status.DOWN, Status.UNKNOWN, T0 + sec(5)),
    ]


def test_a_job_that_keeps_failing_is_dead_seven_days_after_it_started_failing() -> None:
    state, _ = beats([0], declared=3600.0)
    hourly_fails = [(Signal.FAIL, T0 + timedelta(hours=h)) for h in range(1, 24 * 8)]
    state, transitions = feed(state, hourly_fails)
    state, more = advance(state, T0 + 8 * DAY, RULES)
    assert state.failed_at == T0 + timedelta(hours=1)
    assert timeline(transitions + more)[-1] == (
        Status.DOWN,
        Status.DEAD,
        T0 + timedelta(hours=1) + 7 * DAY,
    )


# START and LOG (Healthchecks' /start and /log) are signs of life, not verdicts.
NEUTRAL_SIGNALS = [Signal.START, Signal.LOG]


@pytest.mark.parametrize("signal", NEUTRAL_SIGNALS)
@pytest.mark.parametrize("setup", ["unknown", "alive", "silent", "failing"])
def test_start_and_log_signals_do_not_change_the_status(setup: str, signal: Signal) -> None:
    signals = {
        "unknown": [(Signal.SUCCESS, T0)],
        "alive": [(Signal.SUCCESS, T0), (Signal.SUCCESS, T0 + sec(60))],
        "silent": [(Signal.SUCCESS, T0)],
        "failing": [(Signal.SUCCESS, T0), (Signal.FAIL, T0 + sec(10))],
    }[setup]
    declared = None if setup == "unknown" else 60.0
    state, _ = feed(new_service(declared), signals)
    at = T0 + sec(150 if setup == "silent" else 70)
    state, _ = advance(state, at, RULES)
    started, transitions = apply_signal(state, signal, at, RULES)
    assert transitions == []
    assert started == replace(state, heartbeat_count=state.heartbeat_count + 1)


def test_only_successes_feed_the_learned_period() -> None:
    # The period is the time between successful runs; a run that failed, is still going
    # or logged a line says nothing about the schedule.
    state, _ = beats(every(60, 3))
    others = [Signal.START, Signal.LOG, Signal.FAIL]
    state, _ = feed(state, [(s, T0 + sec(125 + 10 * i)) for i, s in enumerate(others)])
    state, _ = apply_signal(state, Signal.SUCCESS, T0 + sec(180), RULES)
    assert state.recent_gaps == (60.0, 60.0, 60.0)
    assert state.heartbeat_count == 7


@pytest.mark.parametrize("signal", NEUTRAL_SIGNALS)
def test_start_and_log_signals_do_not_postpone_silence(signal: Signal) -> None:
    # A job that starts but never finishes is exactly what a heartbeat monitor must catch.
    state, _ = beats([0], declared=60.0)
    state, _ = apply_signal(state, signal, T0 + sec(100), RULES)
    assert state.last_heartbeat_at == T0
    assert status_at(state, T0 + sec(120)) is Status.SILENT


# --------------------------------------------------------------------------------------
# Pause and resume
# --------------------------------------------------------------------------------------


def kept_paused(state: HeartbeatState) -> HeartbeatState:
    """The service set to stay paused when it pings (resume_on_ping off)."""
    return replace(state, resume_on_ping=False)


def test_pause_freezes_the_status_whatever_happens() -> None:
    state, _ = beats([0], declared=60.0)
    state, transitions = set_paused(kept_paused(state), True, T0 + sec(30), RULES)
    assert timeline(transitions) == [(Status.ALIVE, Status.PAUSED, T0 + sec(30))]
    assert advance(state, T0 + 30 * DAY, RULES) == (state, [])
    assert next_deadline(state, RULES, T0 + sec(30)) is None
    for signal in Signal:
        after, transitions = apply_signal(state, signal, T0 + sec(60), RULES)
        assert (after.status, transitions) == (Status.PAUSED, [])
        assert after.heartbeat_count == state.heartbeat_count + 1  # still recorded


def test_pause_and_resume_are_idempotent() -> None:
    state, _ = beats([0], declared=60.0)
    assert set_paused(state, False, T0 + sec(1), RULES) == (state, [])
    paused, _ = set_paused(state, True, T0 + sec(1), RULES)
    assert set_paused(paused, True, T0 + sec(2), RULES) == (paused, [])


@pytest.mark.parametrize(
    ("during_pause", "resume_after", "expected"),
    [
        ([], sec(60), Status.ALIVE),
        ([], sec(150), Status.SILENT),
        ([], sec(300), Status.DOWN),
        ([], 8 * DAY, Status.DEAD),
        ([(Signal.SUCCESS, sec(250))], sec(300), Status.ALIVE),
        ([(Signal.FAIL, sec(20))], sec(30), Status.DOWN),
        ([(Signal.START, sec(100))], sec(150), Status.SILENT),
        ([(Signal.LOG, sec(100))], sec(150), Status.SILENT),
    ],
)
def test_resume_goes_back_to_what_the_signals_say(
    during_pause: list[tuple[Signal, timedelta]], resume_after: timedelta, expected: Status
) -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = set_paused(kept_paused(state), True, T0 + sec(10), RULES)
    state, _ = feed(state, [(s, T0 + d) for s, d in during_pause])
    state, transitions = set_paused(state, False, T0 + resume_after, RULES)
    assert timeline(transitions) == [(Status.PAUSED, expected, T0 + resume_after)]
    assert (state.status, state.status_since) == (expected, T0 + resume_after)


@pytest.mark.parametrize(
    ("signal", "after", "expected", "reason"),
    [
        (Signal.SUCCESS, sec(30), Status.ALIVE, "resumed by a success ping"),
        # Long past 4P: the pause covered that time, so no outage is found in it.
        (Signal.SUCCESS, 3 * DAY, Status.ALIVE, "resumed by a success ping"),
        (Signal.FAIL, sec(30), Status.DOWN, "resumed by a fail ping"),
    ],
)
def test_a_verdict_ping_resumes_a_paused_service_by_default(
    signal: Signal, after: timedelta, expected: Status, reason: str
) -> None:
    # Healthchecks resumes a paused check on its next ping; so does heartwatch, unless
    # the service is set to stay paused (resume_on_ping off).
    state, _ = beats([0], declared=60.0)
    state, _ = set_paused(state, True, T0 + sec(10), RULES)
    resumed, transitions = apply_signal(state, signal, T0 + after, RULES)
    assert [(t.from_status, t.to_status, t.at, t.reason) for t in transitions] == [
        (Status.PAUSED, expected, T0 + after, reason)
    ]
    assert (resumed.status, resumed.status_since) == (expected, T0 + after)
    assert resumed.heartbeat_count == state.heartbeat_count + 1


def test_a_success_ping_resumes_an_unlearned_service_into_unknown() -> None:
    state, _ = set_paused(new_service(), True, T0, RULES)
    _, transitions = apply_signal(state, Signal.SUCCESS, T0 + sec(5), RULES)
    assert timeline(transitions) == [(Status.PAUSED, Status.UNKNOWN, T0 + sec(5))]


@pytest.mark.parametrize("signal", NEUTRAL_SIGNALS)
def test_start_and_log_pings_leave_a_paused_service_paused(signal: Signal) -> None:
    # Not verdicts: a job that starts is resumed by the success (or failure) that ends it.
    state, _ = beats([0], declared=60.0)
    state, _ = set_paused(state, True, T0 + sec(10), RULES)
    after, transitions = apply_signal(state, signal, T0 + sec(20), RULES)
    assert (after.status, transitions) == (Status.PAUSED, [])
    _, transitions = apply_signal(after, Signal.SUCCESS, T0 + sec(30), RULES)
    assert timeline(transitions) == [(Status.PAUSED, Status.ALIVE, T0 + sec(30))]


def test_a_service_kept_paused_stays_paused_on_any_ping() -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = set_paused(kept_paused(state), True, T0 + sec(10), RULES)
    state, transitions = feed(state, [(s, T0 + sec(20 + i)) for i, s in enumerate(Signal)])
    assert (state.status, transitions) == (Status.PAUSED, [])
    assert state.heartbeat_count == 1 + len(Signal)


def test_resuming_a_never_heard_service_makes_it_unknown() -> None:
    state, _ = set_paused(new_service(60.0), True, T0, RULES)
    state, transitions = set_paused(state, False, T0 + DAY, RULES)
    assert timeline(transitions) == [(Status.PAUSED, Status.UNKNOWN, T0 + DAY)]


def test_after_resume_the_ladder_continues_from_the_last_heartbeat() -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = set_paused(state, True, T0 + sec(10), RULES)
    state, _ = set_paused(state, False, T0 + sec(20), RULES)
    assert next_deadline(state, RULES, T0 + sec(20)) == T0 + sec(120)
    _, transitions = advance(state, T0 + sec(240), RULES)
    assert timeline(transitions) == [
        (Status.ALIVE, Status.SILENT, T0 + sec(120)),
        (Status.SILENT, Status.DOWN, T0 + sec(240)),
    ]


def test_pausing_does_not_lose_the_outage_before_the_pause() -> None:
    state, _ = beats([0], declared=60.0)
    pause_at = T0 + sec(300)
    _, unticked = set_paused(state, True, pause_at, RULES)
    ticked_state, caught_up = advance(state, T0 + sec(250), RULES)
    _, paused = set_paused(ticked_state, True, pause_at, RULES)
    assert timeline(unticked) == timeline(caught_up + paused)


# --------------------------------------------------------------------------------------
# Changing the declared period
# --------------------------------------------------------------------------------------


def test_raising_the_period_of_a_down_service_makes_it_alive_now() -> None:
    state, _ = beats([0], declared=60.0)
    state, _ = advance(state, T0 + sec(300), RULES)
    state, transitions = redeclare_period(state, 3600.0, T0 + sec(310), RULES)
    # Stamped at the edit, not in the past: it really was down until the edit.
    assert timeline(transitions) == [(Status.DOWN, Status.ALIVE, T0 + sec(310))]
    assert next_deadline(state, RULES, T0 + sec(310)) == T0 + sec(7200)


def test_forgetting_the_declared_period_goes_back_to_the_learned_one() -> None:
    state, _ = beats(every(10, 5), declared=3600.0, rules=NO_FLOOR)
    state, _ = redeclare_period(state, None, T0 + sec(41), NO_FLOOR)
    assert expected_period(state, NO_FLOOR) == 10.0
    assert state.status is Status.ALIVE
    assert status_at(state, T0 + sec(60), NO_FLOOR) is Status.SILENT


def test_declaring_a_period_on_an_unknown_service_gives_it_a_verdict() -> None:
    state, _ = beats([0, 60])
    state, _ = redeclare_period(state, 60.0, T0 + sec(90), RULES)
    assert state.status is Status.ALIVE


def test_changing_the_period_does_not_depend_on_whether_the_worker_ticked() -> None:
    state, _ = beats([0], declared=60.0)
    edit_at = T0 + sec(300)
    _, unticked = redeclare_period(state, 3600.0, edit_at, RULES)
    ticked_state, caught_up = advance(state, T0 + sec(250), RULES)
    _, edited = redeclare_period(ticked_state, 3600.0, edit_at, RULES)
    assert timeline(unticked) == timeline(caught_up + edited)


# --------------------------------------------------------------------------------------
# next_deadline, by example
# --------------------------------------------------------------------------------------


def test_next_deadline_walks_the_ladder() -> None:
    state, _ = beats([0], declared=60.0)
    assert next_deadline(state, RULES, T0) == T0 + sec(120)
    assert next_deadline(state, RULES, T0 + sec(120)) == T0 + sec(240)
    assert next_deadline(state, RULES, T0 + sec(240)) == T0 + 7 * DAY
    assert next_deadline(state, RULES, T0 + 7 * DAY) is None


def test_when_down_and_dead_coincide_the_service_still_passes_through_down() -> None:
    # dead_after shorter than the down threshold: down and dead land on the same moment.
    # Down is still recorded (it is what opens an incident), then dead at once.
    rules = HeartbeatRules(dead_after=timedelta(seconds=1))
    state, _ = beats([0], declared=60.0, rules=rules)
    steps = schedule(state, rules)
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    assert [(s.status, s.at) for s in steps[-2:]] == [
        (Status.DOWN, T0 + sec(240)),
        (Status.DEAD, T0 + sec(240)),
    ]
    _, transitions = advance(state, T0 + sec(300), rules)
    assert timeline(transitions)[-2:] == [
        (Status.SILENT, Status.DOWN, T0 + sec(240)),
        (Status.DOWN, Status.DEAD, T0 + sec(240)),
    ]


# ======================================================================================
# Properties
# ======================================================================================

SUCCESS_HEAVY = st.sampled_from([*[Signal.SUCCESS] * 5, Signal.START, Signal.LOG, Signal.FAIL])

# Gaps between signals at several scales, so histories exercise duplicates (0), sub-second
# periods, ordinary periods, and silences long enough to reach down and dead.
GAPS = st.one_of(
    st.integers(0, 999_999).map(lambda us: timedelta(microseconds=us)),
    st.integers(0, 300).map(sec),
    st.integers(0, 86_400).map(sec),
    st.integers(0, 10 * 86_400).map(sec),
)

# Offsets after the last signal at which to look (up to 60 days: past every dead age).
LATER = st.one_of(
    st.integers(0, 600).map(sec),
    st.integers(0, 60 * 86_400).map(sec),
    st.integers(7 * 86_400, 60 * 86_400).map(sec),  # hypothesis favours small integers
    st.integers(0, 60 * 86_400 * 10**6).map(lambda us: timedelta(microseconds=us)),
)


@st.composite
def rules_st(draw: st.DrawFn) -> HeartbeatRules:
    silent = draw(st.floats(0.25, 5.0, allow_nan=False, allow_infinity=False))
    return HeartbeatRules(
        silent_factor=silent,
        down_factor=silent * draw(st.floats(1.1, 4.0, allow_nan=False, allow_infinity=False)),
        dead_after=timedelta(hours=draw(st.integers(1, 240))),
        min_heartbeats=(min_heartbeats := draw(st.integers(2, 6))),
        sample_size=draw(st.integers(min_heartbeats - 1, 25)),
        fallback_period=draw(st.none() | st.integers(1, 86_400).map(float)),
        min_period=draw(st.sampled_from([0.0, 1.0, 60.0]) | st.floats(0, 7200, allow_nan=False)),
    )


ANY_RULES = st.one_of(st.just(RULES), rules_st())


@dataclass(frozen=True)
class History:
    """A registered service and the signals it then sent, in time order."""

    rules: HeartbeatRules
    start: HeartbeatState
    signals: tuple[tuple[Signal, datetime], ...]

    @property
    def end(self) -> datetime:
        return self.signals[-1][1] if self.signals else self.start.status_since


@st.composite
def histories(
    draw: st.DrawFn, signals: st.SearchStrategy[Signal] = SUCCESS_HEAVY, max_size: int = 30
) -> History:
    rules = draw(ANY_RULES)
    declared = draw(st.none() | st.integers(1, 86_400).map(float))
    at, out = T0, []
    for signal, gap in draw(st.lists(st.tuples(signals, GAPS), max_size=max_size)):
        at += gap
        out.append((signal, at))
    return History(rules, new_service(declared), tuple(out))


def run(
    history: History, ticks: Sequence[datetime] = ()
) -> tuple[HeartbeatState, list[Transition]]:
    """Replay a history; `ticks` are worker evaluations interleaved at those moments (a tick
    at the same moment as a signal runs first, as the worker may win the row lock)."""
    events: list[tuple[datetime, int, Signal | None]] = [(t, 0, None) for t in ticks]
    events += [(at, 1, signal) for signal, at in history.signals]
    events.sort(key=lambda e: (e[0], e[1]))
    state, out = history.start, []
    for at, _, signal in events:
        if signal is None:
            state, transitions = advance(state, at, history.rules)
        else:
            state, transitions = apply_signal(state, signal, at, history.rules)
        out += transitions
    return state, out


def assert_chain(initial: Status, transitions: Sequence[Transition], final: Status) -> None:
    running = initial
    for prev, t in zip([None, *transitions], transitions, strict=False):
        assert t.from_status is running, transitions
        assert t.to_status is not t.from_status, transitions
        if prev is not None:
            assert t.at >= prev.at, transitions
        running = t.to_status
    assert running is final


@PROPERTY
@given(h=histories(signals=st.just(Signal.SUCCESS)), later=st.lists(LATER, min_size=2, max_size=10))
def test_more_silence_never_makes_a_status_healthier(h: History, later: list[timedelta]) -> None:
    state, _ = run(h)
    severities = [SEVERITY[status_at(state, h.end + d, h.rules)] for d in sorted(later)]
    assert severities == sorted(severities)


@PROPERTY
@given(h=histories(), later=st.lists(LATER, min_size=2, max_size=10))
def test_more_silence_never_makes_a_status_healthier_after_any_signals(
    h: History, later: list[timedelta]
) -> None:
    # Same property with start and fail signals mixed in: failing only goes down -> dead.
    state, _ = run(h)
    severities = [SEVERITY[status_at(state, h.end + d, h.rules)] for d in sorted(later)]
    assert severities == sorted(severities)


@CHEAP_PROPERTY
@given(
    common_s=st.integers(1, 86_400),
    n=st.integers(3, 30),
    outlier_factor=st.one_of(
        st.floats(1e-6, 0.99, allow_nan=False, allow_infinity=False),  # tiny
        st.floats(1.01, 1000.0, allow_nan=False, allow_infinity=False),  # huge
    ),
    position=st.integers(0, 30),
)
def test_one_outlier_gap_does_not_move_the_learned_period(
    common_s: int, n: int, outlier_factor: float, position: int
) -> None:
    # A cron job that was once delayed (or double-fired) keeps its learned period.
    outlier = timedelta(microseconds=max(1, round(common_s * 10**6 * outlier_factor)))
    gaps = [sec(common_s)] * n
    gaps.insert(min(position, n), outlier)
    at, signals = T0, [(Signal.SUCCESS, T0)]
    for gap in gaps:
        at += gap
        signals.append((Signal.SUCCESS, at))
    state, _ = feed(new_service(), signals, NO_FLOOR)
    assert expected_period(state, NO_FLOOR) == float(common_s)


@PROPERTY
@given(h=histories(signals=SUCCESS_HEAVY, max_size=40))
def test_no_sequence_of_heartbeats_learns_a_period_below_the_floor(h: History) -> None:
    rules = replace(h.rules, fallback_period=None)
    state = h.start if h.start.declared_period is None else replace(h.start, declared_period=None)
    for signal, at in h.signals:
        state, _ = apply_signal(state, signal, at, rules)
        assert all(g >= rules.min_period for g in state.recent_gaps)
        learned = expected_period(state, rules)
        assert learned is None or learned >= rules.min_period


@CHEAP_PROPERTY
@given(
    gaps=st.lists(
        st.floats(0, 1e-3, allow_nan=False) | st.floats(0, 1e6, allow_nan=False), max_size=40
    ),
    floor=st.sampled_from([0.0, 1.0, 60.0, 3600.0]),
)
def test_no_recorded_gaps_make_a_period_below_the_floor(gaps: list[float], floor: float) -> None:
    learned = median_period(gaps, HeartbeatRules(min_period=floor))
    assert learned is None or learned >= floor


@CHEAP_PROPERTY
@given(
    common=st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False),
    outlier=st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False),
    n=st.integers(3, 30),
    position=st.integers(0, 30),
)
def test_median_period_ignores_one_outlier(
    common: float, outlier: float, n: int, position: int
) -> None:
    gaps = [common] * n
    gaps.insert(min(position, n), outlier)
    assert median_period(gaps, NO_FLOOR) == common


@PROPERTY
@given(h=histories(), later=st.lists(LATER, min_size=1, max_size=10))
def test_advancing_in_one_call_equals_advancing_through_any_intermediate_times(
    h: History, later: list[timedelta]
) -> None:
    state, _ = run(h)
    times = [h.end + d for d in sorted(later)]
    once_state, once = advance(state, times[-1], h.rules)
    many_state, many = state, []
    for t in times:
        many_state, transitions = advance(many_state, t, h.rules)
        many += transitions
    assert many_state == once_state
    assert many == once


def worker_ticks(h: History) -> st.SearchStrategy[list[datetime]]:
    """Worker evaluations at arbitrary moments, drawn as offsets after registration or after
    a signal so that they land inside the gaps where statuses change."""
    anchors = [h.start.status_since, *(at for _, at in h.signals)]
    return st.lists(st.tuples(st.sampled_from(anchors), LATER).map(sum_pair), max_size=10)


def sum_pair(pair: tuple[datetime, timedelta]) -> datetime:
    return pair[0] + pair[1]


def horizon_of(h: History) -> datetime:
    """A moment after every tick `worker_ticks` can draw, to compare the end results."""
    return h.end + 61 * DAY


@PROPERTY
@given(h=histories(), data=st.data())
def test_history_does_not_depend_on_how_often_the_worker_ticks(
    h: History, data: st.DataObject
) -> None:
    # The worker may evaluate between any two signals (or many times, or never); ingest
    # catches up either way, so the recorded history must be the same.
    ticks = data.draw(worker_ticks(h))
    lazy_state, lazy = run(h)
    lazy_state, rest = advance(lazy_state, horizon_of(h), h.rules)
    busy_state, busy = run(h, ticks)
    busy_state, busy_rest = advance(busy_state, horizon_of(h), h.rules)
    assert busy_state == lazy_state
    assert busy + busy_rest == lazy + rest


@PROPERTY
@given(h=histories(), data=st.data())
def test_transitions_form_a_chain(h: History, data: st.DataObject) -> None:
    state, transitions = run(h, data.draw(worker_ticks(h)))
    state, more = advance(state, horizon_of(h), h.rules)
    assert_chain(h.start.status, transitions + more, state.status)
    if transitions + more:
        assert state.status_since == (transitions + more)[-1].at


# Everything that can happen to a push service, for properties that must survive pauses
# and period edits too: a signal, a pause/resume, a worker tick, or a new declared period
# (None: back to the learned one).
OPERATIONS = st.one_of(
    SUCCESS_HEAVY,
    st.sampled_from(["pause", "resume", "tick"]),
    st.none() | st.integers(1, 86_400).map(float),
)


@PROPERTY
@given(rules=ANY_RULES, ops=st.lists(st.tuples(OPERATIONS, GAPS), max_size=30), later=LATER)
def test_chain_and_deadline_survive_pauses_and_period_edits(
    rules: HeartbeatRules,
    ops: list[tuple[Signal | str | float | None, timedelta]],
    later: timedelta,
) -> None:
    state, at, history = new_service(), T0, []
    for op, gap in ops:
        at += gap
        if isinstance(op, Signal):
            state, transitions = apply_signal(state, op, at, rules)
        elif op in ("pause", "resume"):
            state, transitions = set_paused(state, op == "pause", at, rules)
        elif op == "tick":
            state, transitions = advance(state, at, rules)
        else:
            assert not isinstance(op, str)
            state, transitions = redeclare_period(state, op, at, rules)
        history += transitions
        # Nothing is ever stamped in the future of the moment it was decided.
        assert state.status_since <= at
    now = at + later
    state, transitions = advance(state, now, rules)
    assert_chain(Status.UNKNOWN, history + transitions, state.status)
    deadline = next_deadline(state, rules, now)
    if deadline is None:
        assert advance(state, now + 3650 * DAY, rules) == (state, [])
    else:
        assert advance(state, deadline - US, rules) == (state, [])
        assert advance(state, deadline, rules)[1][0].at == deadline


@PROPERTY
@given(h=histories(signals=st.just(Signal.SUCCESS), max_size=25))
def test_silence_transitions_are_stamped_when_their_condition_became_true(h: History) -> None:
    state, _ = run(h)
    rules, last = h.rules, state.last_heartbeat_at
    period = expected_period(state, rules)
    _, transitions = advance(state, h.end + 365 * DAY, rules)
    if last is None:
        assert transitions == []
        return
    down_at = last + sec(period * rules.down_factor) if period is not None else last
    expected = {
        Status.DEAD: max(last + rules.dead_after, down_at),
        Status.DOWN: down_at,
    }
    if period is not None:
        expected[Status.SILENT] = last + sec(period * rules.silent_factor)
    for t in transitions:
        assert t.at == expected[t.to_status], (t, period)
    assert transitions, "a service that goes quiet must end up dead"
    assert transitions[-1].to_status is Status.DEAD


@PROPERTY
@given(h=histories(), later=LATER)
def test_next_deadline_is_the_next_moment_advance_changes_something(
    h: History, later: timedelta
) -> None:
    now = h.end + later
    state, _ = run(h)
    state, _ = advance(state, now, h.rules)  # the worker stores the deadline after advancing
    deadline = next_deadline(state, h.rules, now)
    if deadline is None:
        assert advance(state, now + 3650 * DAY, h.rules) == (state, [])
        return
    assert deadline > now
    assert advance(state, deadline - US, h.rules) == (state, [])
    _, transitions = advance(state, deadline, h.rules)
    assert transitions
    assert transitions[0].at == deadline


@PROPERTY
@given(
    h=histories(),
    signal=SUCCESS_HEAVY,
    gap=GAPS,
    paused=st.booleans(),
    resume_on_ping=st.booleans(),
)
def test_apply_signal_invariants(
    h: History, signal: Signal, gap: timedelta, paused: bool, resume_on_ping: bool
) -> None:
    rules = h.rules
    state, _ = run(h)
    state = replace(state, resume_on_ping=resume_on_ping)
    if paused:
        state, _ = set_paused(state, True, h.end, rules)
    at = h.end + gap
    caught_up, _ = advance(state, at, rules)
    after, transitions = apply_signal(state, signal, at, rules)

    assert after.heartbeat_count == state.heartbeat_count + 1  # every signal is recorded
    assert len(after.recent_gaps) <= rules.sample_size
    assert all(g > 0 for g in after.recent_gaps)
    if transitions:
        assert after.status is transitions[-1].to_status
    if signal is not Signal.SUCCESS:
        # Only successes are heartbeats: start and fail must neither feed the learned
        # period nor postpone silence.
        assert after.last_heartbeat_at == state.last_heartbeat_at
        assert after.recent_gaps == state.recent_gaps

    resumes = resume_on_ping and signal in (Signal.SUCCESS, Signal.FAIL)
    if paused and not resumes:
        assert (after.status, transitions) == (Status.PAUSED, [])
    elif paused:  # resumed: straight from paused to the verdict, nothing in between
        assert [t.from_status for t in transitions] == [Status.PAUSED]
        assert after.status is not Status.PAUSED
    elif signal is Signal.SUCCESS:
        known = expected_period(after, rules) is not None
        assert after.status is (Status.ALIVE if known else Status.UNKNOWN)
    elif signal is Signal.FAIL:
        assert after.status is Status.DOWN
    else:  # START, LOG: exactly what the worker would have done at that moment, nothing more
        assert after == replace(caught_up, heartbeat_count=caught_up.heartbeat_count + 1)


@PROPERTY
@given(
    h=histories(),
    pause_after=LATER,
    during=st.lists(st.tuples(SUCCESS_HEAVY, GAPS), max_size=5),
    resume_after=LATER,
    later=LATER,
)
def test_paused_service_resumes_to_what_an_unpaused_twin_would_show(
    h: History,
    pause_after: timedelta,
    during: list[tuple[Signal, timedelta]],
    resume_after: timedelta,
    later: timedelta,
) -> None:
    rules = h.rules
    base, _ = run(h)
    pause_at = h.end + pause_after
    at, signals = pause_at, []
    for signal, gap in during:
        at += gap
        signals.append((signal, at))
    resume_at = at + resume_after

    paused, _ = set_paused(kept_paused(base), True, pause_at, rules)
    paused, while_paused = feed(paused, signals, rules)
    assert (paused.status, while_paused) == (Status.PAUSED, [])
    assert advance(paused, resume_at, rules) == (paused, [])

    twin, _ = feed(kept_paused(base), signals, rules)
    resumed, transitions = set_paused(paused, False, resume_at, rules)
    assert timeline(transitions) == [(Status.PAUSED, status_at(twin, resume_at, rules), resume_at)]
    # ...and from then on it follows the twin's ladder.
    assert status_at(resumed, resume_at + later, rules) is status_at(twin, resume_at + later, rules)


@PROPERTY
@given(
    h=histories(),
    pause_after=LATER,
    during=st.lists(st.tuples(SUCCESS_HEAVY, GAPS), max_size=5),
    verdict=st.sampled_from([Signal.SUCCESS, Signal.FAIL]),
    gap=GAPS,
    later=LATER,
)
def test_a_verdict_ping_resumes_to_what_an_unpaused_twin_shows(
    h: History,
    pause_after: timedelta,
    during: list[tuple[Signal, timedelta]],
    verdict: Signal,
    gap: timedelta,
    later: timedelta,
) -> None:
    rules = h.rules
    base, _ = run(h)
    at, signals = h.end + pause_after, []
    paused, _ = set_paused(base, True, at, rules)
    # Start and log only while paused: the first verdict is the one that resumes it.
    for signal, step in during:
        at += step
        signals.append((Signal.LOG if signal is Signal.LOG else Signal.START, at))
    at += gap
    signals.append((verdict, at))
    resumed, transitions = feed(paused, signals, rules)
    twin, _ = feed(base, signals, rules)
    assert timeline(transitions) == [(Status.PAUSED, twin.status, max(at, paused.status_since))]
    assert status_at(resumed, at + later, rules) is status_at(twin, at + later, rules)


@PROPERTY
@given(h=histories(), data=st.data())
def test_receive_leaves_the_schedule_of_the_state_it_returns(
    h: History, data: st.DataObject
) -> None:
    # Ingest takes the next deadline from the schedule `receive` walked last, instead of
    # working the schedule out again: it must be the returned state's own.
    state = h.start
    for signal, at in h.signals:
        new, transitions, steps = receive(state, signal, at, h.rules)
        assert (new, transitions) == apply_signal(state, signal, at, h.rules)
        assert steps == schedule(new, h.rules)
        later = at + data.draw(LATER)
        assert deadline_in(steps, later) == next_deadline(new, h.rules, later)
        state = new


def test_a_step_words_its_reason_when_asked() -> None:
    state, _ = beats([0], declared=60.0)
    alive, silent, down, dead = schedule(state, RULES)
    assert alive.reason == "heartbeat received"
    assert silent.reason == "no heartbeat for 2m (2x period 60s)"
    assert down.reason == "no heartbeat for 4m (4x period 60s)"
    assert dead.reason == "no heartbeat for 7d"
    unknown, dead = schedule(beats([0])[0], RULES)
    assert unknown.reason == "waiting for 4 heartbeats to learn the period"
    down, dead = schedule(feed(state, [(Signal.FAIL, T0 + sec(1))])[0], RULES)
    assert (down.reason, dead.reason) == ("fail signal received", "failing for 7d")


@CHEAP_PROPERTY
@given(gaps=st.lists(st.floats(0, 1e7, allow_nan=False), min_size=3, max_size=40))
def test_median_period_is_the_statistics_median_of_the_sample(gaps: list[float]) -> None:
    assert median_period(gaps, NO_FLOOR) == statistics.median(gaps[-RULES.sample_size :])


# --- the hint: why unknown, and what to do ------------------------------------------------


def _beats(rules: HeartbeatRules, *gaps_s: float) -> HeartbeatState:
    state = HeartbeatState(Status.UNKNOWN, T0)
    at = T0
    state, _ = apply_signal(state, Signal.SUCCESS, at, rules)
    for gap in gaps_s:
        at += timedelta(seconds=gap)
        state, _ = apply_signal(state, Signal.SUCCESS, at, rules)
    return state


def test_the_hint_counts_down_the_heartbeats_that_teach_the_period() -> None:
    assert hint(HeartbeatState(Status.UNKNOWN, T0), RULES) == (
        "learning the period: 4 more heartbeats at least 60s apart, or send ?period=SECONDS"
    )
    assert hint(_beats(RULES), RULES) == (
        "learning the period: 3 more heartbeats at least 60s apart, or send ?period=SECONDS"
    )
    assert hint(_beats(RULES, 90, 90), RULES) == (
        "learning the period: 1 more heartbeat at least 60s apart, or send ?period=SECONDS"
    )
    learned = _beats(RULES, 90, 90, 90)
    assert learned.status is Status.ALIVE
    assert (hint(learned, RULES), heartbeats_to_learn(learned, RULES)) == (None, 0)


def test_quick_pings_teach_nothing_and_the_hint_says_so() -> None:
    quick = _beats(RULES, 0.1, 0.1, 0.1)
    assert quick.status is Status.UNKNOWN
    assert heartbeats_to_learn(quick, RULES) == 3
    assert hint(_beats(NO_FLOOR), NO_FLOOR) == (
        "learning the period: 3 more heartbeats, or send ?period=SECONDS"
    )


def test_no_hint_once_the_period_is_known_or_a_verdict_is_in() -> None:
    declared = replace(_beats(RULES), declared_period=60.0)
    assert hint(declared, RULES) is None
    assert hint(replace(declared, last_heartbeat_at=None), RULES) == (
        "waiting for a success or fail heartbeat"
    )
    failed, _ = apply_signal(HeartbeatState(Status.UNKNOWN, T0), Signal.FAIL, T0, RULES)
    assert hint(failed, RULES) is None
    with_fallback = HeartbeatRules(fallback_period=600.0)
    assert hint(_beats(with_fallback), with_fallback) is None
    for status in (Status.ALIVE, Status.SILENT, Status.DOWN, Status.DEAD):
        assert hint(replace(_beats(RULES), status=status), RULES) is None


def test_a_paused_service_is_told_what_its_pings_do() -> None:
    paused = replace(_beats(RULES), status=Status.PAUSED)
    assert hint(paused, RULES) == "paused: its next success or fail heartbeat resumes it"
    kept = replace(paused, resume_on_ping=False)
    assert hint(kept, RULES) == (
        "paused: heartbeats are recorded but change nothing until it is resumed"
    )
