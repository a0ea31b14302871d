"""Cron schedules of heartbeat services: parsing and validating an expression in a time
zone, the runs it expects, how they are worded, and the time-zone hint.

A scheduled service's status rule itself lives with the other heartbeat rules
(`domain.heartbeat.schedule`): from the last heartbeat L, the first run not covered by it
is the first run t after L + early tolerance; the service is alive until t, silent from t,
down from t + grace, and dead as any heartbeat service is. A heartbeat at or before
t + grace covers t, so the same rule walks run after run.

cronsim does the calendar (L, W, #n, names, and the daylight-saving jumps as Debian cron
does them: a fixed-time job whose wall time is skipped runs right after the jump, one
whose wall time repeats runs once); this module only keeps its answers strictly ordered
in UTC and words its errors so a person can act on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

DEFAULT_GRACE = timedelta(minutes=5)
# Each field's name as people say it, and its range (cronsim's order, seconds first).
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
# cronsim's own field names, as its errors say them ("Bad day-of-month").
_CRONSIM_NAMES = {
    "second": "second",
    "minute": "minute",
    "hour": "hour",
    "day-of-month": "day of month",
    "month": "month",
    "day-of-week": "day of week",
}
_MAX_EXPRESSION = 200
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


# How a missed run is worded ("expected run at 02:00 MSK missed"), and read back.
_MISSED_PREFIX = "expected run at "
_MISSED_SUFFIX = " missed"


def missed_run_time(reason: str) -> str | None:
    """The run's wall time ("02:00 MSK") if `reason` is that of a missed run."""
    if reason.startswith(_MISSED_PREFIX) and reason.endswith(_MISSED_SUFFIX):
        return reason[len(_MISSED_PREFIX) : -len(_MISSED_SUFFIX)]
    return None


class InvalidSchedule(ValueError):
    """A schedule that cannot be used; the message says what is wrong, for a 422."""


@lru_cache(maxsize=512)
def zone_of(name: str) -> ZoneInfo:
    """The IANA zone `name` (legacy names such as US/Eastern or Europe/Kiev too: tzdata
    keeps them as links). Raises InvalidSchedule for anything else."""
    if not name or len(name) > 64 or not _ZONE_NAME.match(name):
        raise InvalidSchedule(
            f'"{name}" is not a time zone name: use an IANA name such as Europe/Moscow or UTC'
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidSchedule(
            f'unknown time zone "{name}": use an IANA name such as Europe/Moscow or UTC'
        ) from exc


def _out_of_range(field_text: str, name: str, low: int, high: int) -> str | None:
    """The first number in one field outside its range, worded; None if there is none."""
    for token in re.split(r"[,\-/#]", field_text):
        digits = token.rstrip("LW")
        if digits.isdigit() and not low <= int(digits) <= high:
            return f"{name} {int(digits)} is out of range ({low}-{high})"
    return None


def _explain_error(expression: str, parts: list[str], error: CronSimError) -> str:
    """cronsim's terse error ("Bad minute"), said with the value that is wrong."""
    text = str(error)
    if text == "Wrong number of fields":
        return (
            f'"{expression}": {len(parts)} fields; a schedule has 5 (minute hour day month '
            "weekday) or 6 (a seconds field first)"
        )
    name = _CRONSIM_NAMES.get(text.removeprefix("Bad "), text)
    six = parts if len(parts) == 6 else ["0", *parts]
    for index, (field_name, low, high) in enumerate(_FIELDS):
        if field_name == name:
            problem = _out_of_range(six[index], field_name, low, high)
            if problem is None:
                problem = f'{field_name} "{six[index]}" is not valid'
                if field_name == "day of month" and six[index].isdigit():
                    problem = f"day of month {six[index]} never occurs in the months given"
            return f'"{expression}": {problem}'
    return f'"{expression}": {text}'


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A validated cron expression in a zone, with how early and how late a run may
    report. Build it with `parse_schedule`."""

    expression: str
    zone_name: str
    grace: timedelta = DEFAULT_GRACE
    early: timedelta = timedelta(0)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zone_of(self.zone_name))

    def runs_after(self, moment: datetime, count: int) -> list[datetime]:
        """The next `count` runs strictly after `moment`, in UTC, ascending (fewer if the
        expression stops matching within cronsim's 50-year horizon)."""
        local = moment.astimezone(self.zone)
        runs: list[datetime] = []
        try:
            it = CronSim(self.expression, local)
            while len(runs) < count:
                run = next(it).astimezone(UTC)
                # In a repeated (fall-back) hour cronsim walks wall time, and a fixed-time
                # job's run is its first occurrence: that can lie before `moment` when
                # `moment` is in the second occurrence. Such a run is behind us.
                if run > moment and (not runs or run > runs[-1]):
                    runs.append(run)
        except StopIteration:
            pass
        return runs

    def next_run_after(self, moment: datetime) -> datetime | None:
        runs = self.runs_after(moment, 1)
        return runs[0] if runs else None

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def wall_time(self, moment: datetime) -> str:
        """A run's time as people in the zone say it: "02:00 MSK"."""
        local = self.local(moment)
        clock = local.strftime("%H:%M:%S" if local.second else "%H:%M")
        return f"{clock} {local.tzname()}"

    # The words of the status steps (domain.heartbeat), given a run's POSIX timestamp.
    def run_due(self, run_ts: float) -> str:
        run = datetime.fromtimestamp(run_ts, UTC)
        return f"expected run at {self.wall_time(run)} not reported yet"

    def run_missed(self, run_ts: float) -> str:
        run = datetime.fromtimestamp(run_ts, UTC)
        return f"{_MISSED_PREFIX}{self.wall_time(run)}{_MISSED_SUFFIX}"

    def describe(self) -> str:
        """cronsim's plain-English reading of the expression, with the zone."""
        text = CronSim(self.expression, datetime(2000, 1, 1, tzinfo=UTC)).explain()
        return f"{text} ({self.zone_name})"


def normalize_expression(expression: str) -> str:
    return " ".join(expression.split())


def parse_schedule(
    expression: str,
    zone_name: str,
    *,
    grace: timedelta = DEFAULT_GRACE,
    early: timedelta = timedelta(0),
) -> CronSchedule:
    """Validate a cron expression (5 fields, or 6 with seconds first; `L`, `W`, `#n` and
    month and weekday names as cronsim takes them) and a zone. Raises InvalidSchedule
    with a message that names the value at fault."""
    text = normalize_expression(expression)
    if not text:
        raise InvalidSchedule("the schedule is empty: give a cron expression such as 0 2 * * *")
    if len(text) > _MAX_EXPRESSION:
        raise InvalidSchedule(f"the schedule is longer than {_MAX_EXPRESSION} characters")
    if grace < timedelta(0) or early < timedelta(0):
        raise InvalidSchedule("grace and early tolerance cannot be negative")
    zone = zone_of(zone_name)
    parts = text.split()
    try:
        it = CronSim(text, datetime(2000, 1, 1, tzinfo=zone))
    except CronSimError as exc:
        raise InvalidSchedule(_explain_error(text, parts, exc)) from exc
    except (ValueError, IndexError) as exc:  # cronsim's own parsing of odd input
        raise InvalidSchedule(f'"{text}": not a cron expression ({exc})') from exc
    try:
        next(it)
    except StopIteration:
        raise InvalidSchedule(f'"{text}": never runs') from None
    return CronSchedule(text, zone_name, grace, early)


@lru_cache(maxsize=4096)
def cached_schedule(
    expression: str, zone_name: str, grace_sec: float, early_sec: float
) -> CronSchedule:
    """`CronSchedule` of stored (already validated) columns; ingest builds one per ping,
    and a service's schedule rarely changes."""
    return CronSchedule(
        expression, zone_name, timedelta(seconds=grace_sec), timedelta(seconds=early_sec)
    )


def zone_hint(cron: CronSchedule, heartbeats: list[datetime], *, needed: int = 3) -> str | None:
    """When the last `needed` heartbeats all arrive the same whole number of hours off the
    schedule (give or take the grace), the zone is the likely mistake: say so. Each
    heartbeat is compared with its nearest run."""
    if len(heartbeats) < needed:
        return None
    tolerance = max(cron.grace.total_seconds(), 60.0)
    hours: set[int] = set()
    for beat in heartbeats[-needed:]:
        before = _previous_run(cron, beat)
        after = cron.next_run_after(beat)
        offsets = [(beat - run).total_seconds() for run in (before, after) if run is not None]
        if not offsets:
            return None
        offset = min(offsets, key=abs)
        whole = round(offset / 3600)
        if whole == 0 or abs(offset - whole * 3600) > tolerance:
            return None
        hours.add(whole)
    if len(hours) != 1:
        return None
    (whole,) = hours
    side = "after" if whole > 0 else "before"
    return f"heartbeats arrive {abs(whole)} h {side} the schedule — is the time zone right?"


def _previous_run(cron: CronSchedule, moment: datetime) -> datetime | None:
    """The last run at or before `moment` (cronsim walks backwards too)."""
    try:
        it = CronSim(
            cron.expression, moment.astimezone(cron.zone) + timedelta(seconds=1), reverse=True
        )
        for _ in range(3):
            run = next(it).astimezone(UTC)
            if run <= moment:
                return run
    except StopIteration:
        return None
    return None
