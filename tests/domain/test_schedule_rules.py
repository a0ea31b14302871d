"""Cron schedules: validation wording, the runs across daylight-saving jumps, and the
status rule of a scheduled heartbeat service.

Worked examples first (each pins one rule), then a property: for generated expressions,
zones, grace, early tolerance, heartbeats and worker ticks, the statuses the rules record
(worker ticking only at `next_deadline`, as the evaluator does) equal a brute-force
evaluation that matches the expression against every minute's wall-clock time and applies
the definition — a run t is covered by a heartbeat in [t - early, t + grace]; an uncovered
run makes the service silent from t and down from t + grace — at every minute.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Signal,
    Transition,
    advance,
    hint,
    next_deadline,
    receive,
)
from heartwatch.domain.schedule import (
    CronSchedule,
    InvalidSchedule,
    parse_schedule,
    zone_hint,
    zone_of,
)
from heartwatch.domain.schedule_rules import redeclare_schedule
from heartwatch.domain.status import Status

RULES = HeartbeatRules()
MINUTE = timedelta(minutes=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", '"61 * * * *": minute 61 is out of range'),
        ("0 24 * * *", '"0 24 * * *": hour 24 is out of range'),
        ("0 2 * 13 *", '"0 2 * 13 *": month 13 is out of range'),
        ("0 2 * * 8", '"0 2 * * 8": day of week 8 is out of range'),
        ("0 0 30 2 *", "day of month 30 never occurs in the months given"),
        ("0 2 * * MON#6", 'day of week "MON#6" is not valid'),
        ("*/0 * * * *", 'minute "*/0" is not valid'),
        ("1 2 3", "3 fields; a schedule has 5"),
        ("   ", "the schedule is empty"),
    ],
)
def test_a_bad_expression_says_which_value_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule(expression, "UTC")
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["Europe/Moscow", "US/Eastern", "Europe/Kiev", "UTC", "GMT"])
def test_iana_zones_and_their_legacy_names_are_accepted(name: str) -> None:
    assert zone_of(name).key == name


@pytest.mark.parametrize("name", ["Mars/Base", "../etc/passwd", "", "Europe/", "a" * 80])
def test_an_unknown_zone_is_refused_with_a_hint(name: str) -> None:
    with pytest.raises(InvalidSchedule, match="IANA name"):
        parse_schedule("0 2 * * *", name)


def test_names_l_lw_nth_weekday_and_six_fields() -> None:
    start = utc(2026, 1, 1)
    assert parse_schedule("0 9 * * MON-FRI", "UTC").runs_after(start, 2) == [
        utc(2026, 1, 1, 9),
        utc(2026, 1, 2, 9),
    ]
    assert parse_schedule("0 2 L * *", "UTC").runs_after(start, 2) == [
        utc(2026, 1, 31, 2),
        utc(2026, 2, 28, 2),
    ]
    assert parse_schedule("0 2 LW * *", "UTC").runs_after(utc(2026, 5, 1), 1) == [
        utc(2026, 5, 29, 2)  # 31 May 2026 is a Sunday
    ]
    assert parse_schedule("0 2 * * FRI#2", "UTC").runs_after(start, 1) == [utc(2026, 1, 9, 2)]
    assert parse_schedule("30 0 2 * * *", "UTC").runs_after(start, 1) == [utc(2026, 1, 1, 2, 0, 30)]


def test_describe_reads_the_expression_in_words() -> None:
    assert parse_schedule("0 2 * * *", "Europe/Moscow").describe() == (
        "At 02:00 every day (Europe/Moscow)"
    )


# --- runs across daylight-saving jumps ---------------------------------------------


def test_berlin_spring_forward_runs_a_skipped_job_right_after_the_jump() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
    cron = parse_schedule("30 2 * * *", "Europe/Berlin")
    runs = cron.runs_after(utc(2026, 3, 28, 12), 2)
    assert runs == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]  # 03:00 CEST, 02:30 CEST


def test_berlin_fall_back_runs_a_fixed_time_job_once_and_an_hourly_one_twice() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:xx happens twice.
    daily = parse_schedule("30 2 * * *", "Europe/Berlin")
    assert daily.runs_after(utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST)
        utc(2026, 10, 26, 1, 30),  # 02:30 CET the next night
    ]
    # Asked from inside the second 02:xx, after the run: the next run is the next night.
    assert daily.next_run_after(utc(2026, 10, 25, 1, 15)) == utc(2026, 10, 26, 1, 30)
    hourly = parse_schedule("30 * * * *", "Europe/Berlin")
    assert hourly.runs_after(utc(2026, 10, 25, 0, 0), 3) == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 1, 30),  # 02:30 CET
        utc(2026, 10, 25, 2, 30),  # 03:30 CET
    ]


def test_new_york_spring_forward_and_fall_back() -> None:
    cron = parse_schedule("30 2 * * *", "America/New_York")
    assert cron.next_run_after(utc(2026, 3, 8, 0)) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    # 1 November 2026: 02:00 EDT becomes 01:00 EST; a 01:30 job runs once, in EDT.
    repeated = parse_schedule("30 1 * * *", "America/New_York")
    assert repeated.runs_after(utc(2026, 10, 31, 12), 2) == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
    ]


# --- the status rule ---------------------------------------------------------------

MOSCOW_2AM = parse_schedule("0 2 * * *", "Europe/Moscow")  # 02:00 MSK = 23:00 UTC


def _state(cron: CronSchedule, at: datetime) -> HeartbeatState:
    return HeartbeatState(status=Status.UNKNOWN, status_since=at, cron=cron)


def _ping(
    state: HeartbeatState, at: datetime, signal: Signal = Signal.SUCCESS
) -> tuple[HeartbeatState, list[Transition]]:
    new, transitions, _ = receive(state, signal, at, RULES)
    return new, transitions


def test_a_run_pinged_on_time_stays_alive_and_a_missed_night_goes_silent_then_down() -> None:
    state = _state(MOSCOW_2AM, utc(2026, 1, 1))
    state, _ = _ping(state, utc(2026, 1, 1, 23, 1))  # 02:01 MSK on 2 Jan
    assert state.status is Status.ALIVE
    assert next_deadline(state, RULES, utc(2026, 1, 1, 23, 1)) == utc(2026, 1, 2, 23, 0)
    assert advance(state, utc(2026, 1, 2, 22, 59), RULES)[1] == []
    state, silent = advance(state, utc(2026, 1, 2, 23, 0), RULES)
    assert [(t.to_status, t.at) for t in silent] == [(Status.SILENT, utc(2026, 1, 2, 23, 0))]
    assert silent[0].reason == "expected run at 02:00 MSK not reported yet"
    assert next_deadline(state, RULES, utc(2026, 1, 2, 23, 0)) == utc(2026, 1, 2, 23, 5)
    state, down = advance(state, utc(2026, 1, 2, 23, 7), RULES)
    assert [(t.to_status, t.at) for t in down] == [(Status.DOWN, utc(2026, 1, 2, 23, 5))]
    assert down[0].reason == "expected run at 02:00 MSK missed"
    # A late ping (02:20) brings it back; the missed run stays in the history.
    state, back = _ping(state, utc(2026, 1, 2, 23, 20))
    assert [t.to_status for t in back] == [Status.ALIVE]
    assert state.status is Status.ALIVE


def test_a_late_ping_the_worker_had_not_seen_still_records_the_missed_run() -> None:
    state, _ = _ping(_state(MOSCOW_2AM, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
    state, transitions = _ping(state, utc(2026, 1, 2, 23, 20))
    assert [(t.to_status, t.at) for t in transitions] == [
        (Status.SILENT, utc(2026, 1, 2, 23, 0)),
        (Status.DOWN, utc(2026, 1, 2, 23, 5)),
        (Status.ALIVE, utc(2026, 1, 2, 23, 20)),
    ]


def test_a_ping_within_grace_covers_the_run() -> None:
    state, _ = _ping(_state(MOSCOW_2AM, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
    state, transitions = _ping(state, utc(2026, 1, 2, 23, 5))  # exactly at the end of grace
    assert [t.to_status for t in transitions] == [Status.SILENT, Status.ALIVE]
    assert next_deadline(state, RULES, utc(2026, 1, 2, 23, 5)) == utc(2026, 1, 3, 23, 0)


def test_early_pings_cover_the_run_only_within_the_early_tolerance() -> None:
    strict = MOSCOW_2AM
    tolerant = parse_schedule("0 2 * * *", "Europe/Moscow", early=timedelta(minutes=10))
    for cron, expect_silent in ((strict, True), (tolerant, False)):
        state, _ = _ping(_state(cron, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
        state, _ = _ping(state, utc(2026, 1, 2, 22, 55))  # 01:55 MSK: five minutes early
        state, transitions = advance(state, utc(2026, 1, 2, 23, 1), RULES)
        assert bool(transitions) is expect_silent


def test_a_whole_missed_day_is_one_outage_then_dead_after_seven_days() -> None:
    state, _ = _ping(_state(MOSCOW_2AM, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
    state, transitions = advance(state, utc(2026, 1, 4), RULES)
    assert [t.to_status for t in transitions] == [Status.SILENT, Status.DOWN]
    state, later = advance(state, utc(2026, 1, 9), RULES)
    assert [(t.to_status, t.at) for t in later] == [(Status.DEAD, utc(2026, 1, 8, 23, 1))]


def test_a_new_scheduled_service_waits_for_its_first_heartbeat() -> None:
    state = _state(MOSCOW_2AM, utc(2026, 1, 1))
    assert advance(state, utc(2026, 2, 1), RULES)[1] == []
    assert hint(state, RULES) == "waiting for a success or fail heartbeat"


def test_changing_the_zone_re_evaluates_from_now() -> None:
    state, _ = _ping(_state(MOSCOW_2AM, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
    # At 21:30 UTC on 2 Jan: 00:30 MSK, not due; in Tokyo 02:00 JST was at 17:00 UTC.
    tokyo = parse_schedule("0 2 * * *", "Asia/Tokyo")
    now = utc(2026, 1, 2, 21, 30)
    state, transitions = redeclare_schedule(state, tokyo, now, RULES)
    assert [(t.to_status, t.at, t.reason) for t in transitions] == [
        (Status.DOWN, now, "schedule set to 0 2 * * * (Asia/Tokyo)")
    ]
    state, cleared = redeclare_schedule(state, MOSCOW_2AM, now, RULES)
    assert [t.to_status for t in cleared] == [Status.ALIVE]


def test_a_fail_ping_turns_a_scheduled_service_down_at_once() -> None:
    state, _ = _ping(_state(MOSCOW_2AM, utc(2026, 1, 1)), utc(2026, 1, 1, 23, 1))
    state, transitions = _ping(state, utc(2026, 1, 2, 12), Signal.FAIL)
    assert [t.to_status for t in transitions] == [Status.DOWN]


# --- the time-zone hint ------------------------------------------------------------


def test_three_heartbeats_a_whole_number_of_hours_late_suggest_the_zone() -> None:
    beats = [utc(2026, 1, d, 1, 2) for d in (2, 3, 4)]  # 04:02 MSK, schedule 02:00 MSK
    assert zone_hint(MOSCOW_2AM, beats) == (
        "heartbeats arrive 2 h after the schedule — is the time zone right?"
    )
    assert zone_hint(MOSCOW_2AM, beats[:2]) is None
    early = [utc(2026, 1, d, 20, 0) for d in (2, 3, 4)]  # 23:00 MSK: 3 h before
    assert zone_hint(MOSCOW_2AM, early) == (
        "heartbeats arrive 3 h before the schedule — is the time zone right?"
    )
    on_time = [utc(2026, 1, d, 23, 1) for d in (2, 3, 4)]
    assert zone_hint(MOSCOW_2AM, on_time) is None
    mixed = [utc(2026, 1, 2, 1, 2), utc(2026, 1, 3, 2, 2), utc(2026, 1, 4, 1, 2)]
    assert zone_hint(MOSCOW_2AM, mixed) is None


# --- the property: the rules against a brute-force evaluation ----------------------

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _naive_field(text: str, low: int, high: int, names: list[str] | None = None) -> set[int]:
    """One cron field as the set of values it matches (numbers, names, *, a-b, /step, lists)."""
    values: set[int] = set()
    for term in text.split(","):
        step = 1
        if "/" in term:
            term, step_text = term.split("/")
            step = int(step_text)
        if term == "*":
            first, last = low, high
        elif "-" in term:
            a, b = term.split("-")
            first, last = _value(a, names, low), _value(b, names, low)
        else:
            first = _value(term, names, low)
            last = high if step > 1 else first
        values.update(range(first, last + 1, step))
    return values


def _value(text: str, names: list[str] | None, low: int) -> int:
    if names is not None and text in names:
        return names.index(text) + low
    return int(text)


def _matches_wall(fields: list[str], wall: datetime) -> bool:
    """Does the wall-clock minute `wall` match a 5-field expression (dom `L` allowed)?"""
    minute, hour, dom, month, dow = fields
    if wall.minute not in _naive_field(minute, 0, 59) or wall.hour not in _naive_field(hour, 0, 23):
        return False
    if wall.month not in _naive_field(month, 1, 12, _MONTHS):
        return False
    last_of_month = (wall + timedelta(days=1)).month != wall.month
    dom_ok = last_of_month if dom == "L" else wall.day in _naive_field(dom, 1, 31)
    dows = {d % 7 for d in _naive_field(dow, 0, 7, _DAYS)}
    dow_ok = (wall.isoweekday() % 7) in dows
    if dom.startswith("*") or dow.startswith("*"):
        return dom_ok and dow_ok
    return dom_ok or dow_ok


def brute_runs(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every run in [start, end), minute by minute, with Debian cron's daylight-saving
    rules: a fixed-time job (minute and hour without `*`) whose wall time is skipped runs
    at the first minute after the jump, and runs once in a repeated hour; other jobs run at
    every minute whose wall time matches."""
    fields = expression.split()
    fixed = not fields[0].startswith("*") and not fields[1].startswith("*")
    runs: list[datetime] = []
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        wall = local.replace(tzinfo=None)
        run = False
        if fixed:
            before = (moment - MINUTE).astimezone(zone).replace(tzinfo=None)
            repeated = local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
            if not repeated:
                run = _matches_wall(fields, wall)
                skipped = before + MINUTE
                while not run and skipped < wall:  # the wall minutes a jump skipped
                    run = _matches_wall(fields, skipped)
                    skipped += MINUTE
        else:
            run = _matches_wall(fields, wall)
        if run:
            runs.append(moment)
        moment += MINUTE
    return runs


def brute_status(
    runs: list[datetime],
    beats: list[datetime],
    at: datetime,
    grace: timedelta,
    early: timedelta,
) -> Status:
    """The definition, evaluated at `at`: the runs since the last heartbeat that no
    heartbeat covers make the service silent (from the run) or down (after its grace)."""
    last_index = bisect_right(beats, at)
    if last_index == 0:
        return Status.UNKNOWN
    last = beats[last_index - 1]
    status = Status.ALIVE
    for run in runs[bisect_right(runs, last) : bisect_right(runs, at)]:
        covered = any(run - early <= b <= run + grace for b in beats[:last_index])
        if not covered:
            status = Status.DOWN if at >= run + grace else Status.SILENT
            if status is Status.DOWN:
                break
    if status is Status.DOWN and at >= last + RULES.dead_after:
        return Status.DEAD
    return status


_MINUTE_FIELDS = st.sampled_from(["0", "30", "15,45", "*/20", "5-10", "*"])
_HOUR_FIELDS = st.sampled_from(["2", "1-3", "*/6", "2,14", "0", "*", "23"])
_DOM_FIELDS = st.sampled_from(["*", "*", "L", "1", "25-31", "*/2"])
_DOW_FIELDS = st.sampled_from(["*", "*", "MON-FRI", "SUN", "0,3", "SAT"])
_ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Europe/Moscow", "UTC"])
# Around the jumps of 2026 (Berlin 29 Mar / 25 Oct, New York 8 Mar / 1 Nov) and month ends.
_STARTS = st.sampled_from(
    [
        utc(2026, 3, 27, 20),
        utc(2026, 10, 23, 20),
        utc(2026, 3, 6, 20),
        utc(2026, 10, 30, 20),
        utc(2026, 2, 26, 12),
    ]
)
_SPAN = timedelta(days=4)


@settings(max_examples=60, deadline=None)
@given(
    minute=_MINUTE_FIELDS,
    hour=_HOUR_FIELDS,
    dom=_DOM_FIELDS,
    dow=_DOW_FIELDS,
    zone_name=_ZONES,
    start=_STARTS,
    grace_min=st.integers(0, 90),
    early_min=st.integers(0, 30),
    beat_offsets=st.lists(st.integers(0, int(_SPAN.total_seconds()) - 1), max_size=12),
    tick_offsets=st.lists(st.integers(0, int(_SPAN.total_seconds()) - 1), max_size=30),
)
def test_recorded_statuses_match_a_brute_force_evaluation(
    minute: str,
    hour: str,
    dom: str,
    dow: str,
    zone_name: str,
    start: datetime,
    grace_min: int,
    early_min: int,
    beat_offsets: list[int],
    tick_offsets: list[int],
) -> None:
    expression = f"{minute} {hour} {dom} * {dow}"
    grace, early = timedelta(minutes=grace_min), timedelta(minutes=early_min)
    cron = parse_schedule(expression, zone_name, grace=grace, early=early)
    end = start + _SPAN
    # The runs cronsim gives are the brute-force runs (with the daylight-saving rules).
    runs = brute_runs(expression, cron.zone, start - timedelta(days=1), end + timedelta(days=1))
    inside = [r for r in runs if start <= r < end]
    assert [r for r in cron.runs_after(start - MINUTE, len(inside) + 1) if r < end] == inside

    beats = sorted({start + timedelta(seconds=s) for s in beat_offsets})
    ticks = sorted({start + timedelta(seconds=s) for s in tick_offsets})
    # Replay: pings through `receive`, the worker ticking at random moments but acting only
    # when the deadline index says the service is due (as `evaluate_due` selects it).
    state = _state(cron, start)
    deadline: datetime | None = None
    history: list[Transition] = []
    events = sorted([(b, "beat") for b in beats] + [(t, "tick") for t in ticks])
    for at, kind in events:
        if kind == "beat":
            state, transitions = _ping(state, at)
        elif deadline is not None and at >= deadline:
            state, transitions = advance(state, at, RULES)
        else:
            # Not due: the deadline index promises nothing would change.
            assert advance(state, at, RULES)[1] == []
            continue
        history += transitions
        deadline = next_deadline(state, RULES, at)
    state, transitions = advance(state, end, RULES)
    history += transitions

    stamps = [t.at for t in history]
    assert stamps == sorted(stamps)
    moments = sorted({start + MINUTE * i for i in range(int(_SPAN / MINUTE))} | set(beats))
    for at in moments:
        index = bisect_right(stamps, at)
        recorded = history[index - 1].to_status if index else Status.UNKNOWN
        expected = brute_status(runs, beats, at, grace, early)
        assert recorded is expected, (at, recorded, expected, history)
    assert bisect_left(stamps, start) == 0


def test_a_start_is_no_verdict_and_the_schedule_can_say_down_before_the_runtime() -> None:
    state = replace(_state(MOSCOW_2AM, utc(2026, 1, 1)), max_runtime=timedelta(minutes=30))
    state, _ = _ping(state, utc(2026, 1, 1, 23, 1))
    state, _ = _ping(state, utc(2026, 1, 2, 23, 0), Signal.START)  # 02:00 MSK: starts
    # The run's start does not cover it: silent from 02:00 until a verdict comes ...
    assert state.status is Status.SILENT and state.started_at == utc(2026, 1, 2, 23, 0)
    # ... and down after the grace, before the run time is over: the schedule says it first.
    assert next_deadline(state, RULES, utc(2026, 1, 2, 23, 0)) == utc(2026, 1, 2, 23, 5)
    state, transitions = advance(state, utc(2026, 1, 2, 23, 40), RULES)
    assert [t.to_status for t in transitions] == [Status.DOWN]
    assert transitions[0].reason == "expected run at 02:00 MSK missed"


def test_max_runtime_turns_a_long_run_down_within_the_grace() -> None:
    tolerant = parse_schedule("0 2 * * *", "Europe/Moscow", grace=timedelta(hours=2))
    state = replace(_state(tolerant, utc(2026, 1, 1)), max_runtime=timedelta(minutes=30))
    state, _ = _ping(state, utc(2026, 1, 1, 23, 1))
    state, _ = _ping(state, utc(2026, 1, 2, 22, 50), Signal.START)  # 01:50 MSK
    assert next_deadline(state, RULES, utc(2026, 1, 2, 22, 50)) == utc(2026, 1, 2, 23, 0)
    state, transitions = advance(state, utc(2026, 1, 2, 23, 30), RULES)
    assert [(t.to_status, t.at) for t in transitions] == [
        (Status.SILENT, utc(2026, 1, 2, 23, 0)),
        (Status.DOWN, utc(2026, 1, 2, 23, 20)),
    ]
    assert transitions[-1].reason == "run started at 01:50 MSK still running after 30m"
    state, back = _ping(state, utc(2026, 1, 2, 23, 35))  # it finishes, late but in grace
    assert [t.to_status for t in back] == [Status.ALIVE] and state.started_at is None
