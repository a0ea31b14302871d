"""The service registry over HTTP. `{id}` is a service's UUID or its key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.paging import Limit, check_window, decode_cursor, next_cursor
from heartwatch.api.schemas import (
    CheckResultOut,
    CheckResultPage,
    HealthOut,
    HeartbeatOut,
    HeartbeatPage,
    ServiceCreate,
    ServiceOut,
    ServicePatch,
    UTCTime,
)
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.status import Status
from heartwatch.services import probes, registry
from heartwatch.services.errors import Invalid
from heartwatch.store.models import CheckResult, Heartbeat

router = APIRouter(prefix="/services", tags=["services"])


@dataclass(frozen=True, slots=True)
class _View:
    """One service as a listing showed it, and for how long that stays true."""

    fingerprint: tuple[Any, ...]  # of the row it was made from (registry.listing_fingerprints)
    rules: HeartbeatRules
    since: datetime  # the moment it was made as of...
    until: datetime | None  # ...and the next moment its as-of view changes (a deadline)
    status: Status
    json: bytes

    def holds(self, fingerprint: tuple[Any, ...], rules: HeartbeatRules, now: datetime) -> bool:
        return (
            self.fingerprint == fingerprint
            and (self.rules is rules or self.rules == rules)
            and self.since <= now
            and (self.until is None or now < self.until)
        )


class ServiceListing:
    """GET /services shows every service; between two calls hardly any of them change.
    Each service's JSON is kept with the row it was made from, and is shown again while
    that row is unchanged and `now` has not reached the service's next deadline (before
    it, the as-of view cannot move): only changed rows are read converted and rebuilt.
    That made a listing of 1,000 services several times cheaper (bench/api_latency.py).
    When most rows change between calls (probes checked more often than the list is
    read), it reads them all converted at once instead, as a listing without views
    would, with their fingerprints: such a call costs a few percent more than one
    without views. A memo of a pure function, so one per app is safe (`create_app`
    makes it; it lives in `app.state`, not in a module global); it keeps only the
    services of the latest call."""

    def __init__(self) -> None:
        self._views: dict[str, _View] = {}
        self._one = TypeAdapter(ServiceOut)
        # Most views were rebuilt last time (a first call, or rows that change between
        # every two calls): then read every row converted at once, not fingerprints first.
        self._mostly_rebuilt = True

    async def json(
        self, session: AsyncSession, rules: HeartbeatRules, now: datetime, status: Status | None
    ) -> bytes:
        kept: dict[str, _View] = self._views
        views: dict[str, _View] = {}
        if self._mostly_rebuilt:
            rows = await registry.listing_rows(session, None)
            keys = [row.key for _, row in rows]
        else:
            fingerprints = await registry.listing_fingerprints(session)
            keys = [key for key, _ in fingerprints]
            stale = []
            for key, fp in fingerprints:
                view = kept.get(key)
                if view is not None and view.holds(fp, rules, now):
                    views[key] = view
                else:
                    stale.append(key)
            rows = await registry.listing_rows(session, stale) if stale else []
        rebuilt = 0
        for fingerprint, row in rows:
            view = kept.get(row.key)
            if view is None or not view.holds(fingerprint, rules, now):
                out = ServiceOut.of(row, rules, now)
                dump = self._one.dump_json(out)
                view = _View(fingerprint, rules, now, out.next_deadline_at, out.status, dump)
                rebuilt += 1
            views[row.key] = view
        self._views = views
        self._mostly_rebuilt = rebuilt > len(keys) // 2
        # (In the order read; a service deleted in between is left out.)
        parts = [
            view.json
            for key in keys
            if (view := views.get(key)) is not None and (status is None or view.status is status)
        ]
        return b"[" + b",".join(parts) + b"]"


@router.get("", response_model=list[ServiceOut])
async def list_services(
    request: Request, runtime: RuntimeDep, session: ReadSession, status: Status | None = None
) -> Response:
    # Filtered on the status as shown (as of now), not the stored one: with a lagging
    # worker, `?status=down` must list what the rows say is down.
    listing: ServiceListing = request.app.state.service_listing
    body = await listing.json(session, runtime.rules, runtime.clock.now(), status)
    return Response(body, media_type="application/json")


def _probe_config(body: ServiceCreate, runtime: RuntimeDep) -> registry.ProbeConfig | None:
    """The probe configuration given; ProbeConfig supplies the defaults of the rest."""
    registry.check_type(body.type, runtime.checkers)
    if body.type == "heartbeat":
        return None
    if body.endpoint is None:
        raise Invalid(f"endpoint is required for {body.type} services")
    return registry.ProbeConfig(
        type=body.type, settings=body.checker_settings(), **body.probe_fields()
    )


@router.post("", response_model=ServiceOut, status_code=201)
async def create_service(runtime: RuntimeDep, body: ServiceCreate) -> ServiceOut:
    """Register a heartbeat service ahead of its first heartbeat (optionally with its
    period), or a probe service (`type`: http, tcp, script, or a plugin's) that
    heartwatch checks on its interval."""
    if problem := body.heartbeat_only_problem():
        raise Invalid(problem)
    async with runtime.db.writing() as session:
        row = await registry.create_service(
            session,
            key=body.key,
            name=body.name,
            description=body.description or "",
            expected_period_sec=body.expected_period_sec,
            now=runtime.clock.now(),
            probe=_probe_config(body, runtime),
            labels=registry.Labels(**body.labels()),
            active=body.is_active is not False,
            resume_on_ping=body.resume_on_ping,
            checkers=runtime.checkers,
            allow_scripts=runtime.check_context.allow_scripts,
        )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now())


@router.get("/{id}", response_model=ServiceOut)
async def get_service(runtime: RuntimeDep, session: ReadSession, id: str) -> ServiceOut:
    row = await registry.get_service(session, id)
    return ServiceOut.of(row, runtime.rules, runtime.clock.now())


async def _update(runtime: RuntimeDep, id: str, changes: registry.ServiceChanges) -> ServiceOut:
    async with runtime.db.writing() as session:
        row = await registry.update_service(
            session,
            id,
            changes,
            rules=runtime.rules,
            now=runtime.clock.now(),
            checkers=runtime.checkers,
        )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now())


def _paused(body: ServicePatch | ServiceCreate) -> bool | None:
    if isinstance(body, ServicePatch) and body.paused is not None:
        return body.paused
    return None if body.is_active is None else not body.is_active


@router.patch("/{id}", response_model=ServiceOut)
async def update_service(runtime: RuntimeDep, id: str, body: ServicePatch) -> ServiceOut:
    """Change only the fields given."""
    given = body.model_fields_set
    return await _update(
        runtime,
        id,
        registry.ServiceChanges(
            key=body.key,
            name=body.name,
            description=body.description,
            paused=_paused(body),
            resume_on_ping=body.resume_on_ping,
            set_period="expected_period_sec" in given,
            expected_period_sec=body.expected_period_sec,
            probe=body.probe_fields(),
            settings=body.checker_settings(),
            labels=body.labels(),
        ),
    )


@router.put("/{id}", response_model=ServiceOut)
async def replace_service(runtime: RuntimeDep, id: str, body: ServiceCreate) -> ServiceOut:
    """Replace the configuration: fields left out go back to their defaults. The type
    cannot change (delete and register again); history and status are kept."""
    if problem := body.heartbeat_only_problem():
        raise Invalid(problem)
    probe = _probe_config(body, runtime)
    return await _update(
        runtime,
        id,
        registry.ServiceChanges(
            key=body.key,
            type=body.type,
            name=body.name or body.key,
            description=body.description or "",
            paused=_paused(body) or False,
            # left out: back to the default (resume), as every field PUT leaves out
            resume_on_ping=body.resume_on_ping
            if body.resume_on_ping is not None or probe
            else True,
            set_period=probe is None,
            expected_period_sec=body.expected_period_sec,
            probe={f: getattr(probe, f) for f in registry.PROBE_FIELDS} if probe else {},
            settings=dict(probe.settings) if probe else {},
            replace_settings=True,
            labels={
                "criticality": body.criticality or "medium",
                "tags": tuple(body.tags or ()),
                "sla_target": body.sla_target,
            },
        ),
    )


@router.delete("/{id}", status_code=204, response_class=Response)
async def delete_service(runtime: RuntimeDep, id: str) -> Response:
    async with runtime.db.writing() as session:
        await registry.delete_service(session, id)
    return Response(status_code=204)


@router.get("/{id}/history", response_model=HeartbeatPage | CheckResultPage)
async def history(
    session: ReadSession,
    id: str,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> HeartbeatPage | CheckResultPage:
    """Newest first: heartbeats of a heartbeat service, check results of a probe service.
    Follow `next_cursor` for older pages."""
    check_window(start, end)
    before = decode_cursor(cursor) if cursor else None
    service = await registry.get_service(session, id)
    rows = await registry.history(
        session, service, start=start, end=end, before=before, limit=limit
    )
    cursor_out = None
    if len(rows) == limit:
        last = rows[-1]
        at = last.checked_at if isinstance(last, CheckResult) else last.received_at
        cursor_out = next_cursor(at, last.id)
    if registry.is_probe(service):
        return CheckResultPage(
            service_id=service.id,
            service_key=service.key,
            items=[CheckResultOut.of(r) for r in rows if isinstance(r, CheckResult)],
            next_cursor=cursor_out,
        )
    return HeartbeatPage(
        service_id=service.id,
        service_key=service.key,
        items=[HeartbeatOut.of(r) for r in rows if isinstance(r, Heartbeat)],
        next_cursor=cursor_out,
    )


@router.get("/{id}/health", response_model=HealthOut)
async def health(runtime: RuntimeDep, session: ReadSession, id: str) -> HealthOut:
    """Current status, seed 004's healthy/unhealthy/unknown view, and the last result."""
    row = await registry.get_service(session, id)
    view = ServiceOut.of(row, runtime.rules, runtime.clock.now())
    last = None
    if registry.is_probe(row):
        latest = await registry.history(session, row, start=None, end=None, before=None, limit=1)
        last = (
            CheckResultOut.of(latest[0]) if latest and isinstance(latest[0], CheckResult) else None
        )
    return HealthOut(
        service_id=row.id,
        service_key=row.key,
        type=row.type,
        status=view.status,
        health=view.health,
        status_since=view.status_since,
        last_check_at=row.last_check_at,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error,
        last_result=last,
        last_heartbeat_at=row.last_heartbeat_at,
    )


@router.post("/{id}/check", response_model=CheckResultOut)
async def check_now(runtime: RuntimeDep, id: str) -> CheckResultOut:
    """Run one check now, in this request, and answer with its result (recorded like
    any other). The one endpoint allowed to be slow: up to the service's timeout."""
    result = await probes.check_now(
        runtime.db,
        id,
        checkers=runtime.checkers,
        context=runtime.check_context,
        clock=runtime.clock,
        dead_after=runtime.rules.dead_after,
    )
    return CheckResultOut.of(result)
