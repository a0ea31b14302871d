"""What a scheduled heartbeat service's view explains: the run it waits for and when that
run turns it down, and whether its heartbeats look like they keep another zone's time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from heartwatch.domain.heartbeat import HeartbeatState
from heartwatch.domain.schedule import zone_hint


@dataclass(frozen=True, slots=True)
class ExpectedRun:
    """The run a service waits for (it may have begun already: the service is silent
    until its deadline) and its deadline, the run plus the grace."""

    at: datetime
    deadline: datetime


def expected_run(state: HeartbeatState, now: datetime) -> ExpectedRun | None:
    """The first run the last heartbeat does not cover, while its grace lasts; once that
    is over (the run was missed) or before any heartbeat, the next run after `now`."""
    cron = state.cron
    if cron is None:
        return None
    last = state.last_heartbeat_at
    if last is not None:
        pending = cron.next_run_after(last + cron.early)
        if pending is not None and pending + cron.grace > now:
            return ExpectedRun(pending, pending + cron.grace)
    upcoming = cron.next_run_after(now)
    return None if upcoming is None else ExpectedRun(upcoming, upcoming + cron.grace)


def recent_heartbeats(state: HeartbeatState) -> list[datetime]:
    """The latest success heartbeats, oldest first, as the state remembers them: the last
    one and the gaps before it (bursts of pings count once, by their last ping)."""
    last = state.last_heartbeat_at
    if last is None:
        return []
    beats = [last]
    for gap in reversed(state.recent_gaps):
        beats.append(beats[-1] - timedelta(seconds=gap))
    return beats[::-1]


def schedule_hint(state: HeartbeatState) -> str | None:
    """ "heartbeats arrive 2 h after the schedule — is the time zone right?", when the
    last three heartbeats all say so."""
    if state.cron is None:
        return None
    return zone_hint(state.cron, recent_heartbeats(state)[-3:])
