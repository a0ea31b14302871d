"""Probe (pull) services: record finished checks, move statuses, plan the next run."""

from __future__ import annotations

import json
import logging
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.checkers.base import CheckContext, CheckerSettings, Outcome
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.checkers.runner import run_check
from heartwatch.clock import Clock
from heartwatch.domain.heartbeat import Transition
from heartwatch.domain.probe import ProbeRules, ProbeState, apply_result, only_counts
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.errors import Invalid, NotFound
from heartwatch.services.lifecycle import transition_values
from heartwatch.services.transitions import record_transitions
from heartwatch.store import history_pages, statements
from heartwatch.store import incidents as incident_store
from heartwatch.store import probes as probe_store
from heartwatch.store import services as service_store
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, SchedulerState, Service
from heartwatch.store.probes import (
    NewCheckResult,
    NextRun,
    ProbeExtend,
    ProbeSpecRow,
    ProbeStateRow,
    ProbeWrite,
)

log = structlog.get_logger("heartwatch.checks")
_stdlib_log = logging.getLogger("heartwatch.checks")


def _logs_at(level: int) -> bool:
    """Whether a line at `level` would be written. Under `log.configure_logging` (stdlib
    loggers, filtered by level first) that is the stdlib logger's say; otherwise
    (structlog's defaults) every line is."""
    return _stdlib_log.isEnabledFor(level) or not structlog.is_configured()


# A dead service is still checked (it may come back), just this many times less often.
DEAD_SLOWDOWN = 10
MAX_DETAIL_CHARS = 4000


@dataclass(frozen=True, slots=True)
class FinishedCheck:
    service_id: uuid.UUID
    outcome: Outcome
    attempts: int
    started_at: datetime
    finished_at: datetime
    # The slot it was run for; None for a manual check (`POST /services/{id}/check`).
    scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A service's check configuration, as read before the run."""

    service_id: uuid.UUID
    key: str
    type: str
    endpoint: str
    settings: CheckerSettings | None
    timeout_ms: int
    retry_count: int
    retry_backoff_ms: int
    problem: str | None = None  # configuration that no longer validates (plugin gone)
    interval_s: float = 0.0  # its check interval (0: not known, a manual check)


def _parse_settings(
    checkers: CheckerRegistry, checker_type: str, data: object
) -> tuple[CheckerSettings | None, str | None]:
    """A service's stored checker settings, validated; or why they do not validate."""
    try:
        return checkers.get(checker_type).Settings.model_validate(data or {}), None
    except (KeyError, ValueError) as exc:
        return None, f"cannot check type {checker_type!r}: {exc}"


def _spec(row: Any, settings: CheckerSettings | None, problem: str | None) -> ProbeSpec:
    """`row`: a Service, or one of `probe_store.probe_spec_rows` (the same attributes)."""
    return ProbeSpec(
        service_id=row.id,
        key=row.key,
        type=row.type,
        endpoint=row.endpoint or "",
        settings=settings,
        timeout_ms=row.timeout_ms or 10_000,
        retry_count=row.retry_count,
        retry_backoff_ms=row.retry_backoff_ms,
        problem=problem,
        interval_s=row.check_interval_sec or 0.0,
    )


def spec_of(row: Service, checkers: CheckerRegistry) -> ProbeSpec:
    settings, problem = _parse_settings(checkers, row.type, row.check_settings)
    return _spec(row, settings, problem)


class SpecReader:
    """ProbeSpecs from `probe_store.probe_spec_rows`, for the scheduler, which reads every
    service's configuration before each run (so that edits take effect by the next run).

    Validating checker settings with pydantic costs more than running many a check, and
    they seldom change: they are kept parsed by their stored JSON text (and type). An
    edit changes the text, so it is parsed anew; nothing goes stale. Settings objects are
    frozen, so services with the same settings share one."""

    MAX_KEPT = 20_000

    def __init__(self, checkers: CheckerRegistry) -> None:
        self.checkers = checkers
        self._parsed: dict[tuple[str, str | None], tuple[CheckerSettings | None, str | None]]
        self._parsed = {}
        # Each service's last spec with the row it came from: the same row (the usual
        # case, claim after claim) gives the same spec back (specs are immutable).
        self._specs: dict[uuid.UUID, tuple[ProbeSpecRow, ProbeSpec]] = {}

    def settings(
        self, checker_type: str, settings_json: str | None
    ) -> tuple[CheckerSettings | None, str | None]:
        key = (checker_type, settings_json)
        parsed = self._parsed.get(key)
        if parsed is None:
            if len(self._parsed) >= self.MAX_KEPT:
                self._parsed.clear()  # configurations churned: start over
            data = json.loads(settings_json) if settings_json is not None else None
            parsed = self._parsed[key] = _parse_settings(self.checkers, checker_type, data)
        return parsed

    def spec(self, row: ProbeSpecRow) -> ProbeSpec:
        """`row`: one of `probe_store.probe_spec_rows`."""
        kept = self._specs.get(row.id)
        if kept is not None and kept[0] == row:
            return kept[1]
        settings, problem = self.settings(row.type, row.check_settings_json)
        spec = _spec(row, settings, problem)
        if len(self._specs) >= self.MAX_KEPT:
            self._specs.clear()  # services churned: start over
        self._specs[row.id] = (row, spec)
        return spec


async def execute(
    spec: ProbeSpec,
    scheduled_at: datetime | None,
    checkers: CheckerRegistry,
    context: CheckContext,
    clock: Clock,
) -> FinishedCheck:
    """Run one check (with its retries) and say what happened; never raises."""
    started = clock.now()
    if spec.problem is not None or spec.settings is None:
        outcome, attempts = Outcome(up=False, error=spec.problem, failed_assertion="config"), 0
    else:
        outcome, attempts = await run_check(
            checkers.get(spec.type),
            spec.endpoint,
            spec.settings,
            context,
            timeout_ms=spec.timeout_ms,
            retry_count=spec.retry_count,
            retry_backoff_ms=spec.retry_backoff_ms,
        )
    finished = clock.now()
    # One line per check with its duration, at debug: a status change is the scheduler's
    # INFO line, and a thousand services would otherwise drown everything else. Asked
    # first whether the level is on: at hundreds of checks a second, even a line that is
    # filtered out costs (structlog builds its event before its level filter drops it).
    level = logging.DEBUG
    if _logs_at(level):
        log.log(
            level,
            "check",
            service=spec.key,
            up=outcome.up,
            duration_ms=round((finished - started).total_seconds() * 1000, 1),
            latency_ms=outcome.latency_ms,
            attempts=attempts,
            error=outcome.error,
        )
    return FinishedCheck(
        service_id=spec.service_id,
        outcome=outcome,
        attempts=attempts,
        started_at=started,
        finished_at=finished,
        scheduled_at=scheduled_at,
    )


def probe_state_of(row: Service | ProbeStateRow) -> ProbeState:
    return ProbeState(
        status=Status(row.status),
        status_since=row.status_since,
        streak_up=row.streak_up,
        streak_count=row.streak_count,
        streak_since=row.streak_since,
    )


def probe_rules_of(row: Service | ProbeStateRow, dead_after: timedelta) -> ProbeRules:
    return ProbeRules(
        failure_threshold=row.failure_threshold,
        success_threshold=row.success_threshold,
        dead_after=dead_after,
    )


def write_probe_state(row: Service, state: ProbeState) -> None:
    row.status = state.status
    row.status_since = state.status_since
    row.streak_up = state.streak_up
    row.streak_count = state.streak_count
    row.streak_since = state.streak_since


class _Scheduled(Protocol):
    @property
    def check_interval_sec(self) -> float | None: ...
    @property
    def status(self) -> Status: ...


def next_slot(row: _Scheduled, scheduled_at: datetime, now: datetime) -> datetime:
    """The next run: `scheduled + interval`, never `finished + interval`, so the schedule
    does not drift; slots already missed (a long outage of the worker) are skipped, not
    run in a burst."""
    assert row.check_interval_sec is not None
    return _next_slot(row.check_interval_sec, row.status, scheduled_at, now)


def _next_slot(interval: float, status: Status, scheduled_at: datetime, now: datetime) -> datetime:
    if status == Status.DEAD:
        interval = max(interval, min(interval * DEAD_SLOWDOWN, 3600.0))
    step = timedelta(seconds=interval)
    slot = scheduled_at + step
    if slot <= now:
        slot += step * math.ceil((now - slot) / step)
        if slot <= now:
            slot += step
    return slot


def first_slot(interval_sec: float, now: datetime) -> datetime:
    """Spread first runs over one interval, so 10,000 services registered at once do not
    all fire in the same second."""
    return now + timedelta(seconds=random.uniform(0, interval_sec))


def schedule_row(service_id: uuid.UUID, interval_sec: float, now: datetime) -> SchedulerState:
    return SchedulerState(service_id=service_id, next_run_at=first_slot(interval_sec, now))


def _result_row(check: FinishedCheck) -> NewCheckResult:
    o = check.outcome
    # (Positional, here and in the other rows of every check: cheaper than by keyword.)
    return NewCheckResult(
        new_id(),
        check.service_id,
        o.up,
        o.latency_ms,
        o.http_status,
        o.error,
        o.failed_assertion,
        o.detail[:MAX_DETAIL_CHARS] if o.detail else None,
        check.attempts,
        check.scheduled_at,
        check.started_at,
        check.finished_at,  # checked_at
    )


class ProbedService(NamedTuple):
    """Which service a recorded status change is of."""

    id: uuid.UUID
    key: str


async def record_checks(
    session: AsyncSession,
    checks: Sequence[FinishedCheck],
    *,
    now: datetime,
    dead_after: timedelta,
    owner: str | None = None,
) -> list[tuple[ProbedService, Transition]]:
    """Store finished checks in the caller's transaction: result rows, new statuses and
    their transitions, and (for scheduled checks run by `owner`) the next slot with the
    lease released. Checks of services deleted meanwhile are dropped."""
    tx = await statements.StatementTx.joining(session)
    return await record_checks_in(tx, session, checks, now=now, dead_after=dead_after, owner=owner)


async def record_checks_in(
    tx: statements.StatementTx,
    session: AsyncSession | None,
    checks: Sequence[FinishedCheck],
    *,
    now: datetime,
    dead_after: timedelta,
    owner: str | None = None,
) -> list[tuple[ProbedService, Transition]]:
    """`record_checks` in `tx`: plain rows and one executemany per table (no ORM objects),
    because this runs for every check. Without a session (`statements.write_lean`) it raises
    `statements.NeedsSession`, before writing anything, for a batch with a status change."""
    if owner is not None:
        # A scheduled result counts only while its slot's lease is still ours: a worker
        # that stalled past its lease may finish a check another worker has taken over
        # and run again; two results for one slot would double-count a failure. (The
        # lease is read and locked with the service's row.)
        scheduled = [c.service_id for c in checks if c.scheduled_at is not None]
        manual = [c.service_id for c in checks if c.scheduled_at is None]
        locked = await probe_store.lock_probe_rows(tx, scheduled, lease_owner=owner)
        held = {r.id for r in locked}
        late = [c for c in checks if c.scheduled_at is not None and c.service_id not in held]
        if late:
            checks = [c for c in checks if c.scheduled_at is None or c.service_id in held]
        if manual:
            locked += await probe_store.lock_probe_rows(tx, manual)
    else:
        late = []
        locked = await probe_store.lock_probe_rows(tx, [c.service_id for c in checks])
    # Plain rows with a Service's attributes, read like one.
    rows: dict[uuid.UUID, ProbeStateRow] = {r.id: r for r in locked}
    states: dict[uuid.UUID, ProbeState] = {}
    results: list[NewCheckResult] = []
    slots: list[NextRun] = []
    changes: list[tuple[ProbedService, Transition]] = []
    transition_log: list[dict[str, Any]] = []
    # Failed checks of services already down: they add to the open incident's count.
    # (An incident opened in this batch starts with the failing streak, which already
    # counts the batch's later failures.)
    failures: dict[uuid.UUID, tuple[int, str | None]] = {}
    opened: set[uuid.UUID] = set()
    # Most checks only extend their service's streak: those rows get the short UPDATE.
    # (A service's row after its last check of the batch.)
    extended: dict[uuid.UUID, ProbeExtend] = {}
    moved: dict[uuid.UUID, ProbeWrite] = {}
    for check in checks:
        sid = check.service_id
        row = rows.get(sid)
        if row is None:
            continue
        o = check.outcome
        before = states.get(sid)
        if (
            before is None
            and sid not in extended
            and only_counts(row.status, row.streak_up, row.streak_since, o.up)
        ):
            # The usual check (an alive service seen up again): counted into its streak
            # here, without the state objects, for hundreds of checks a second.
            status, streak_count = row.status, row.streak_count + 1
            extended[sid] = ProbeExtend(sid, streak_count, check.finished_at, o.latency_ms, None)
        else:
            if before is None:
                before = probe_state_of(row)
                if sid in extended:  # counted in by the usual case above, earlier in the batch
                    before = replace(before, streak_count=extended[sid].streak_count)
            if not o.up and before.status in (Status.DOWN, Status.DEAD) and sid not in opened:
                failures[sid] = (failures.get(sid, (0, None))[0] + 1, o.error)
            state, transitions = apply_result(
                before,
                o.up,
                check.finished_at,
                probe_rules_of(row, dead_after),
                o.error,
            )
            states[sid] = state
            error = None if o.up else o.error
            extended.pop(sid, None)
            moved.pop(sid, None)
            # Against the row as read: status and streak start unchanged is the short UPDATE.
            if (row.status, row.status_since, row.streak_up, row.streak_since) == (
                state.status,
                state.status_since,
                state.streak_up,
                state.streak_since,
            ):
                extended[sid] = ProbeExtend(
                    sid, state.streak_count, check.finished_at, o.latency_ms, error
                )
            else:
                moved[sid] = ProbeWrite(
                    sid,
                    state.status,
                    state.status_since,
                    state.streak_up,
                    state.streak_count,
                    state.streak_since,
                    check.finished_at,  # last_check_at
                    o.latency_ms,
                    error,
                )
            status = state.status
            if transitions:
                transition_log += transition_values(sid, transitions, now)
                changes.extend((ProbedService(sid, row.key), t) for t in transitions)
                if any(t.to_status is Status.DOWN for t in transitions):
                    opened.add(sid)
        results.append(_result_row(check))
        if owner is not None and check.scheduled_at is not None:
            assert row.check_interval_sec is not None
            slot = _next_slot(row.check_interval_sec, status, check.scheduled_at, now)
            slots.append(NextRun(sid, slot, owner))
    if transition_log and session is None:
        raise statements.NeedsSession  # nothing written yet: `write_lean` runs it again
    await probe_store.update_probe_rows(tx, list(moved.values()))
    await probe_store.extend_probe_streaks(tx, list(extended.values()))
    await probe_store.insert_check_results(tx, results)
    if session is not None:
        # After the services rows: what hangs off a transition may read the new status.
        await record_transitions(session, transition_log)
    await incident_store.count_failures(tx, failures)
    await probe_store.reschedule(tx, slots)
    if late:
        log.warning("dropping results of slots whose lease was taken over", count=len(late))
    return changes


async def check_now(
    db: Database,
    ident: str,
    *,
    checkers: CheckerRegistry,
    context: CheckContext,
    clock: Clock,
    dead_after: timedelta,
) -> CheckResult:
    """`POST /services/{id}/check`: run one check of a probe service now and record it
    like any other (outside the schedule: no slot, no lease)."""
    async with db.reading() as session:
        row = await service_store.find_service(session, ident)
        if row is None:
            raise NotFound(f"service {ident!r} not found")
        if not is_probe(row.type):
            raise Invalid(
                f"{row.key!r} is a heartbeat service: it reports in, heartwatch does not check it"
            )
        spec = spec_of(row, checkers)
    finished = await execute(spec, None, checkers, context, clock)
    async with db.writing() as session:
        await record_checks(session, [finished], now=clock.now(), dead_after=dead_after)
        latest = await history_pages.history_page(
            session, CheckResult, spec.service_id, start=None, end=None, before=None, limit=1
        )
    if not latest:
        raise NotFound(f"service {ident!r} was deleted while it was being checked")
    return latest[0]
