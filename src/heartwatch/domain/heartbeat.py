"""The push (heartbeat) lifecycle, as pure functions of a service's state and a moment.

The central idea: from the last signal a service sent, its future is fully determined
until the next signal arrives — alive until last + 2P, silent until last + 4P, down until
the dead age, dead after. `schedule()` returns that future as a list of steps. Everything
else is reading that list:

- the worker's periodic evaluation (`advance`) emits one transition per step it passed,
  each stamped with the step's own moment, so the history does not depend on how often the
  worker ticks (a property test checks exactly this);
- ingest (`apply_signal`) first catches up on steps that passed before the signal, then
  applies it, so an outage that the worker had not noticed yet is still recorded;
- `next_deadline` is the first step still ahead: the only moment the worker needs to look
  at this service again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import NamedTuple

from heartwatch.domain.schedule import CronSchedule
from heartwatch.domain.status import Status


class Signal(StrEnum):
    """What a ping says (Healthchecks' vocabulary): success, a job starting, a job failing,
    or just a log line that carries no verdict."""

    SUCCESS = "success"
    START = "start"
    FAIL = "fail"
    LOG = "log"


# The clock's resolution: datetimes carry microseconds.
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class HeartbeatRules:
    silent_factor: float = 2.0
    down_factor: float = 4.0
    dead_after: timedelta = timedelta(days=7)
    # With fewer heartbeats than this (and no declared period) the period is not learned.
    min_heartbeats: int = 4
    # The learned period is the median of this many most recent gaps.
    sample_size: int = 20
    # Period to assume while none is declared or learned; None keeps such services unknown.
    fallback_period: float | None = None
    # The shortest period that can be learned, in seconds: a gap shorter than this teaches
    # nothing. A few pings sent by hand, or a retried request, come fractions of a second
    # apart; learned as the period, they would make the service silent a second later and
    # alert everyone. (A declared period is the sender's word and is not held to this.)
    min_period: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.silent_factor < self.down_factor:
            raise ValueError("need 0 < silent_factor < down_factor")
        if self.min_period < 0:
            raise ValueError("need min_period >= 0")
        if self.min_heartbeats < 2 or self.sample_size < self.min_heartbeats - 1:
            # Only sample_size gaps are kept, so fewer than min_heartbeats - 1 of them
            # could never be enough to learn a period.
            raise ValueError("need min_heartbeats >= 2 and sample_size >= min_heartbeats - 1")


@dataclass(frozen=True, slots=True)
class HeartbeatState:
    status: Status
    status_since: datetime
    last_heartbeat_at: datetime | None = None
    # Set by a fail signal, cleared by the next success: "reported failing since".
    failed_at: datetime | None = None
    declared_period: float | None = None
    # Seconds between consecutive success heartbeats, oldest first, at most sample_size.
    # Kept on the service rather than re-read from the heartbeats table so ingest stays
    # O(1) per heartbeat and the learned period survives pruning of old heartbeats.
    recent_gaps: tuple[float, ...] = ()
    heartbeat_count: int = 0
    # A success or fail ping to a paused service resumes it (as Healthchecks does: a job
    # that reports again is being watched again); False keeps it paused until resumed.
    resume_on_ping: bool = True
    # A cron schedule instead of a period (domain.schedule): runs are expected at set times.
    cron: CronSchedule | None = None
    # A scheduled service's run that sent /start and no verdict yet, and how long such a
    # run may take before it counts as down (max_runtime_sec; None: as long as it likes).
    started_at: datetime | None = None
    max_runtime: timedelta | None = None


class Step(NamedTuple):
    """From `at` on, the status is `status` (if nothing else arrives).

    `schedule()` runs for every heartbeat and a transition is rare, so a step keeps what
    its reason is made of and words it only when asked (`reason`)."""

    status: Status
    at: datetime
    words: Callable[..., str]
    args: tuple[float, ...] = ()

    @property
    def reason(self) -> str:
        return self.words(*self.args)


@dataclass(frozen=True, slots=True)
class Transition:
    from_status: Status
    to_status: Status
    at: datetime
    reason: str


def median_period(gaps: tuple[float, ...] | list[float], rules: HeartbeatRules) -> float | None:
    """Median of the last `sample_size` gaps that are at least `min_period` long; None
    until there are `min_heartbeats - 1` of them."""
    if len(gaps) < rules.min_heartbeats - 1:
        return None
    # statistics.median, without its generality (this runs for every heartbeat).
    ordered = sorted(gaps[-rules.sample_size :])
    if ordered[0] < rules.min_period:
        # `receive` records no gap below the floor; these were recorded under a lower one
        # (or before there was one), and teach nothing either.
        ordered = ordered[bisect_left(ordered, rules.min_period) :]
        if len(ordered) < rules.min_heartbeats - 1:
            return None
    mid = len(ordered) // 2
    return float(ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2)


def expected_period(state: HeartbeatState, rules: HeartbeatRules) -> float | None:
    if state.declared_period is not None:
        return state.declared_period
    learned = median_period(state.recent_gaps, rules)
    return learned if learned is not None else rules.fallback_period


def heartbeats_to_learn(state: HeartbeatState, rules: HeartbeatRules) -> int:
    """How many more success heartbeats (each at least `min_period` after the last) the
    rules need to learn this service's period; 0 once they have it."""
    if median_period(state.recent_gaps, rules) is not None:
        return 0
    taught = sum(1 for gap in state.recent_gaps[-rules.sample_size :] if gap >= rules.min_period)
    first = 1 if state.last_heartbeat_at is None else 0
    return rules.min_heartbeats - 1 - taught + first


def hint(state: HeartbeatState, rules: HeartbeatRules) -> str | None:
    """What a sender or a reader needs told about this status, or None: why a heartbeat
    service is still unknown (the period is being learned) and what to do about it, or
    what a paused one does with its pings. Cheap for the common case (it runs for every
    ping): anything but unknown or paused says nothing."""
    status = state.status
    if status is Status.PAUSED:
        if state.resume_on_ping:
            return "paused: its next success or fail heartbeat resumes it"
        return "paused: heartbeats are recorded but change nothing until it is resumed"
    if status is not Status.UNKNOWN or state.failed_at is not None:
        return None
    if (
        state.declared_period is not None
        or rules.fallback_period is not None
        or state.cron is not None
    ):
        if state.last_heartbeat_at is None:
            return "waiting for a success or fail heartbeat"
        return None
    more = heartbeats_to_learn(state, rules)
    if more <= 0:
        return None
    apart = f" at least {_human(rules.min_period)} apart" if rules.min_period > 0 else ""
    plural = "s" if more != 1 else ""
    return f"learning the period: {more} more heartbeat{plural}{apart}, or send ?period=SECONDS"


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g}s"
    if seconds < 7200:
        return f"{seconds / 60:.3g}m"
    if seconds < 172800:
        return f"{seconds / 3600:.3g}h"
    return f"{seconds / 86400:.3g}d"


# What the steps of a schedule say, worded only when a step becomes a transition.
def _fail_received() -> str:
    return "fail signal received"


def _failing_for(seconds: float) -> str:
    return f"failing for {_human(seconds)}"


def _waiting(needed: int) -> str:
    return f"waiting for {needed} heartbeats to learn the period"


def _heartbeat_received() -> str:
    return "heartbeat received"


def _no_heartbeat_for(seconds: float) -> str:
    return f"no heartbeat for {_human(seconds)}"


def _no_heartbeat_factor(seconds: float, factor: float, period: float) -> str:
    return f"no heartbeat for {_human(seconds)} ({factor:g}x period {_human(period)})"


def schedule(state: HeartbeatState, rules: HeartbeatRules) -> list[Step]:
    """The status this service will have from its last signal on, if nothing else arrives."""
    if state.status is Status.PAUSED:
        return []
    if state.failed_at is not None:
        f = state.failed_at
        return [
            Step(Status.DOWN, f, _fail_received),
            Step(
                Status.DEAD,
                f + rules.dead_after,
                _failing_for,
                (rules.dead_after.total_seconds(),),
            ),
        ]
    last = state.last_heartbeat_at
    if last is None:
        return []  # never heard from: stays as it is (unknown) until the first signal
    if state.cron is not None:
        steps = _scheduled_steps(last, state.cron, rules)
        started, longest = state.started_at, state.max_runtime
        if started is not None and longest is not None and started >= last:
            return _overdue(steps, started, longest, state.cron)
        return steps
    period = expected_period(state, rules)
    if period is None:
        return [
            Step(Status.UNKNOWN, last, _waiting, (rules.min_heartbeats,)),
            Step(
                Status.DEAD,
                last + rules.dead_after,
                _no_heartbeat_for,
                (rules.dead_after.total_seconds(),),
            ),
        ]
    silent_s, down_s = period * rules.silent_factor, period * rules.down_factor
    down_at = last + timedelta(seconds=down_s)
    # Dead is the far end of down: never before the service is down (a weekly job with a
    # 4-week down threshold must not die after 7 days).
    dead_at = max(last + rules.dead_after, down_at)
    # When down and dead coincide (slow jobs), both steps stay: the service passes through
    # down (which is what opens an incident) on its way to dead.
    return [
        Step(Status.ALIVE, last, _heartbeat_received),
        Step(
            Status.SILENT,
            last + timedelta(seconds=silent_s),
            _no_heartbeat_factor,
            (silent_s, rules.silent_factor, period),
        ),
        Step(Status.DOWN, down_at, _no_heartbeat_factor, (down_s, rules.down_factor, period)),
        Step(Status.DEAD, dead_at, _no_heartbeat_for, ((dead_at - last).total_seconds(),)),
    ]


def _scheduled_steps(last: datetime, cron: CronSchedule, rules: HeartbeatRules) -> list[Step]:
    """`schedule` for a cron service: the first run the last heartbeat does not cover is
    the first after it plus the early tolerance; silent from that run, down after its grace."""
    due = cron.next_run_after(last + cron.early)
    if due is None:  # the expression has no more runs: only dead is ahead
        dead_at = last + rules.dead_after
        return [
            Step(Status.ALIVE, last, _heartbeat_received),
            Step(Status.DEAD, dead_at, _no_heartbeat_for, (rules.dead_after.total_seconds(),)),
        ]
    late = due + cron.grace
    dead_at = max(last + rules.dead_after, late)
    return [
        Step(Status.ALIVE, last, _heartbeat_received),
        Step(Status.SILENT, due, cron.run_due, (due.timestamp(),)),
        Step(Status.DOWN, late, cron.run_missed, (due.timestamp(),)),
        Step(Status.DEAD, dead_at, _no_heartbeat_for, ((dead_at - last).total_seconds(),)),
    ]


def _overdue(
    steps: list[Step], started: datetime, longest: timedelta, cron: CronSchedule
) -> list[Step]:
    """The steps of a scheduled service whose run started and has not finished: down
    once it has run `longest`, unless the schedule has it down before that."""
    overdue = started + longest
    before = [step for step in steps if step.at < overdue]
    if any(step.status in (Status.DOWN, Status.DEAD) for step in before):
        return steps
    words = partial(_still_running, cron)
    down = Step(Status.DOWN, overdue, words, (started.timestamp(), longest.total_seconds()))
    after = [step for step in steps if step.at >= overdue and step.status is Status.DEAD]
    return [*before, down, *after]


def _still_running(cron: CronSchedule, started_ts: float, longest_s: float) -> str:
    started = datetime.fromtimestamp(started_ts, UTC)
    return f"run started at {cron.wall_time(started)} still running after {_human(longest_s)}"


def step_at(steps: list[Step], moment: datetime) -> Step | None:
    """The step in force at `moment` (the last one that has begun), if any."""
    current = None
    for step in steps:
        if step.at > moment:
            break
        current = step
    return current


def next_deadline(state: HeartbeatState, rules: HeartbeatRules, now: datetime) -> datetime | None:
    """The next moment this service's status changes on its own, if nothing arrives."""
    return deadline_in(schedule(state, rules), now)


def deadline_in(steps: list[Step], now: datetime) -> datetime | None:
    """`next_deadline` from the state's schedule, when the caller has it already."""
    for step in steps:
        if step.at > now:
            return step.at
    return None


def advance(
    state: HeartbeatState, now: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition]]:
    """Bring `state` up to `now`: one transition per step passed since its status began,
    each stamped with the moment its condition became true."""
    return _advance(state, schedule(state, rules), now)


def _advance(
    state: HeartbeatState, steps: list[Step], now: datetime
) -> tuple[HeartbeatState, list[Transition]]:
    """`advance`, along `steps` = `schedule(state, rules)`."""
    if not steps:
        return state, []
    transitions: list[Transition] = []
    status, since = state.status, state.status_since
    for step in steps:
        if step.at > now:
            break
        # Steps at the moment the current status began are already accounted for, unless
        # this walk just entered that status (down and dead may share a moment).
        begun = step.at > since or (transitions and step.at == since)
        if begun and step.status is not status:
            transitions.append(Transition(status, step.status, step.at, step.reason))
            status, since = step.status, step.at
    # The schedule itself may have changed under the current status (a signal arrived, the
    # declared period was edited): then the status in force now differs from the running
    # one without any step in between, and the change happens now.
    in_force = step_at(steps, now)
    if in_force is not None and in_force.status is not status:
        at = max(now, since)
        transitions.append(Transition(status, in_force.status, at, in_force.reason))
        status, since = in_force.status, at
    if not transitions:
        return state, []
    return replace(state, status=status, status_since=since), transitions


def apply_signal(
    state: HeartbeatState, signal: Signal, at: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition]]:
    """Record one ping received at `at`. Steps that passed before it are recorded first.

    "Before" is strict: a heartbeat arriving exactly at last + 2P is on time (alive while
    E <= 2P), so the catch-up stops one tick (a microsecond, the clock's resolution) short.
    """
    state, transitions, _ = receive(state, signal, at, rules)
    return state, transitions


def receive(
    state: HeartbeatState, signal: Signal, at: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition], list[Step]]:
    """`apply_signal`, plus the schedule of the state it returns (`schedule(state, rules)`),
    for ingest to take the next deadline from (`deadline_in`) without working it out again.
    (A state's schedule does not depend on its status unless paused, nor on its
    `status_since`, so the schedule the final catch-up walked is the returned state's.)

    A paused service stays paused, its signals recorded, unless it resumes on a ping
    (`resume_on_ping`) and this one carries a verdict (success or fail): then it goes
    straight to what that signal makes it, in one transition from paused. Start and log
    are not verdicts; a paused service that sends them waits for one, still paused."""
    resumes = (
        state.status is Status.PAUSED
        and state.resume_on_ping
        and signal in (Signal.SUCCESS, Signal.FAIL)
    )
    state, transitions = _advance(state, schedule(state, rules), at - _JUST_BEFORE)
    count = state.heartbeat_count + 1
    if signal is Signal.SUCCESS:
        gaps = state.recent_gaps
        last = state.last_heartbeat_at
        if last is not None and at > last:
            gap = (at - last).total_seconds()
            # A burst of pings (a retry, a few by hand) is one heartbeat, not several
            # gaps: a gap below the floor is not recorded, and the next gap is measured
            # from the burst's last ping, which still counts as the last heartbeat.
            if gap >= rules.min_period:
                gaps = (*gaps, gap)[-rules.sample_size :]
        state = replace(
            state,
            last_heartbeat_at=at if last is None else max(at, last),
            failed_at=None,
            recent_gaps=gaps,
            heartbeat_count=count,
            started_at=None,  # the verdict ends the run
        )
    elif signal is Signal.FAIL:
        # Keep the first failure: a job that fails every hour has been failing since then,
        # and dies dead_after later.
        state = replace(
            state, failed_at=state.failed_at or at, heartbeat_count=count, started_at=None
        )
    else:  # START or LOG: a sign of life, not a verdict; the status waits for one
        timed = signal is Signal.START and state.max_runtime is not None  # a run time limit
        state = replace(state, heartbeat_count=count, started_at=at if timed else state.started_at)
    if resumes:
        return _resume_on(state, signal, at, rules)
    steps = schedule(state, rules)
    state, more = _advance(state, steps, at)
    return state, transitions + more, steps


def _resume_on(
    paused: HeartbeatState, signal: Signal, at: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition], list[Step]]:
    """`receive` of a verdict by a service that resumes on it (the signal is applied to
    `paused` already): from paused to the status in force now, with nothing in between
    — the pause covered the time before, so no outage is found in it after the fact."""
    steps = schedule(replace(paused, status=Status.UNKNOWN), rules)
    in_force = step_at(steps, at)
    target = in_force.status if in_force is not None else Status.UNKNOWN
    since = max(at, paused.status_since)
    reason = f"resumed by a {signal.value} ping"
    state = replace(paused, status=target, status_since=since)
    return state, [Transition(Status.PAUSED, target, since, reason)], steps


def _settle(
    state: HeartbeatState, now: datetime, rules: HeartbeatRules, reason: str
) -> tuple[HeartbeatState, list[Transition]]:
    """After a change of configuration: move to whatever status is in force now, stamped
    now — the configuration did not exist before, so neither did its verdict."""
    in_force = step_at(schedule(state, rules), now)
    target = in_force.status if in_force is not None else Status.UNKNOWN
    if target is state.status:
        return state, []
    at = max(now, state.status_since)
    return replace(state, status=target, status_since=at), [
        Transition(state.status, target, at, reason)
    ]


def set_paused(
    state: HeartbeatState, paused: bool, now: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition]]:
    """Pause (no status changes, no alerts) or resume (back to what the signals say now).
    An outage that had begun before the pause is recorded first."""
    if paused == (state.status is Status.PAUSED):
        return state, []
    if paused:
        state, transitions = advance(state, now, rules)
        at = max(now, state.status_since)
        pause = Transition(state.status, Status.PAUSED, at, "paused")
        return replace(state, status=Status.PAUSED, status_since=at), [*transitions, pause]
    resumed = replace(state, status=Status.UNKNOWN)
    state, transitions = _settle(resumed, now, rules, "resumed")
    if not transitions:  # resumed into unknown: still a change, from paused
        return state, [
            Transition(Status.PAUSED, Status.UNKNOWN, max(now, state.status_since), "resumed")
        ]
    return state, [replace(transitions[0], from_status=Status.PAUSED)]


def redeclare_period(
    state: HeartbeatState, period: float | None, now: datetime, rules: HeartbeatRules
) -> tuple[HeartbeatState, list[Transition]]:
    """Change the declared period (None: go back to the learned one) and re-evaluate now.
    What happened under the old period is recorded first."""
    if state.status is Status.PAUSED:
        return replace(state, declared_period=period), []  # paused stays paused
    state, transitions = advance(state, now, rules)
    what = "cleared" if period is None else f"set to {_human(period)}"
    state, more = _settle(replace(state, declared_period=period), now, rules, f"period {what}")
    return state, transitions + more
