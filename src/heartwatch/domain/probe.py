"""The pull (probe) lifecycle: statuses from a stream of check results.

A service turns down after `failure_threshold` consecutive failed checks and alive after
`success_threshold` consecutive good ones; it is unknown until a threshold is first met,
and dead once it has been down for `dead_after` (it keeps being checked).

Stamps: a status change is stamped with the first check of the streak that crossed the
threshold — the moment the service was first seen failing (or healthy) — while the check
that crossed it is when it was detected. So a threshold of 3 delays the alert, not the
start of the outage, and uptime does not depend on the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from heartwatch.domain.heartbeat import Transition
from heartwatch.domain.status import Status


@dataclass(frozen=True, slots=True)
class ProbeRules:
    failure_threshold: int = 1
    success_threshold: int = 1
    dead_after: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.success_threshold < 1:
            raise ValueError("thresholds are at least 1")


@dataclass(frozen=True, slots=True)
class ProbeState:
    status: Status
    status_since: datetime
    # The run of equal results the latest check belongs to: up or down, how many, since.
    streak_up: bool | None = None
    streak_count: int = 0
    streak_since: datetime | None = None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def only_counts(
    status: Status, streak_up: bool | None, streak_since: datetime | None, up: bool
) -> bool:
    """Whether `apply_result` of this result (`up`) would only count it into the current
    streak, whatever the rules: an alive service seen up again, the usual check. Nothing
    else can move then, so a caller with many such results may skip the state objects and
    add one to the streak's count itself."""
    return up and status is Status.ALIVE and streak_up is True and streak_since is not None


def apply_result(
    state: ProbeState, up: bool, at: datetime, rules: ProbeRules, error: str | None = None
) -> tuple[ProbeState, list[Transition]]:
    """Record one check result finished at `at`."""
    if state.streak_up is up and state.streak_since is not None:
        state = replace(state, streak_count=state.streak_count + 1)
    else:
        state = replace(state, streak_up=up, streak_count=1, streak_since=at)
    if state.status is Status.PAUSED:
        return state, []  # a manual check of a paused service is recorded, nothing moves

    assert state.streak_since is not None
    target: Status | None = None
    if up and state.streak_count >= rules.success_threshold and state.status is not Status.ALIVE:
        target = Status.ALIVE
        reason = f"{_plural(state.streak_count, 'successful check')}"
    elif (
        not up
        and state.streak_count >= rules.failure_threshold
        and state.status not in (Status.DOWN, Status.DEAD)
    ):
        target = Status.DOWN
        reason = f"{_plural(state.streak_count, 'failed check')}" + (f": {error}" if error else "")
    transitions: list[Transition] = []
    if target is not None:
        since = max(state.streak_since, state.status_since)
        transitions.append(Transition(state.status, target, since, reason))
        state = replace(state, status=target, status_since=since)
    if state.status is Status.DOWN and at - state.status_since >= rules.dead_after:
        dead_at = state.status_since + rules.dead_after
        days = rules.dead_after.total_seconds() / 86400
        transitions.append(Transition(Status.DOWN, Status.DEAD, dead_at, f"down for {days:g} days"))
        state = replace(state, status=Status.DEAD, status_since=dead_at)
    return state, transitions


def set_paused(
    state: ProbeState, paused: bool, now: datetime
) -> tuple[ProbeState, list[Transition]]:
    """Pause (not checked, no changes) or resume (unknown until the thresholds speak again)."""
    if paused == (state.status is Status.PAUSED):
        return state, []
    at = max(now, state.status_since)
    target = Status.PAUSED if paused else Status.UNKNOWN
    fresh = ProbeState(status=target, status_since=at)
    return fresh, [Transition(state.status, target, at, "paused" if paused else "resumed")]
