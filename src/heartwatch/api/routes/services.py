"""The service registry over HTTP. `{id}` is a service's UUID or its key."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import TypeAdapter

from heartwatch.api import examples
from heartwatch.api.auth import Reveal
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.list_schemas import ServiceList
from heartwatch.api.paging import Cursor, Limit, check_window, decode_cursor, next_cursor
from heartwatch.api.probe_secrets import has_masked, restore_masked
from heartwatch.api.problems import problems
from heartwatch.api.schemas import (
    CheckResultOut,
    CheckResultPage,
    HealthOut,
    HeartbeatOut,
    HeartbeatPage,
    ServiceColumns,
    ServiceCreate,
    ServiceOut,
    ServicePatch,
    ServiceReplace,
    UTCTime,
    shown_id,
)
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.services import cron_schedules, probes, registry
from heartwatch.services.errors import Invalid
from heartwatch.services.listing import ServiceListing, Shown

router = APIRouter(prefix="/services", tags=["services"])
_LISTED = TypeAdapter(ServiceOut)
NOT_FOUND = problems(404)
TAKEN = problems(404, s409="another service has that key")

NewService = Annotated[ServiceCreate, Body(openapi_examples=examples.SERVICE_CREATE)]
ReplacedService = Annotated[ServiceReplace, Body(openapi_examples=examples.SERVICE_CREATE)]


def listed_service(
    row: ServiceColumns, rules: HeartbeatRules, now: datetime, *, reveal: bool
) -> Shown:
    """How GET /services renders one service (services.listing keeps it while it holds)."""
    out = ServiceOut.of(row, rules, now, reveal=reveal)
    # A scheduled service's view also moves when its expected run passes (a down one
    # has no deadline then, but shows the next run).
    moments = [m for m in (out.next_deadline_at, out.deadline_at) if m is not None and m > now]
    return Shown(_LISTED.dump_json(out), out.status, min(moments, default=None), tuple(out.tags))


def service_listings() -> dict[bool, ServiceListing]:
    """GET /services' views, one listing per audience (with ids or without: `Reveal`)."""
    return {
        reveal: ServiceListing(partial(listed_service, reveal=reveal)) for reveal in (True, False)
    }


@router.get("", response_model=ServiceList)
async def list_services(
    request: Request,
    runtime: RuntimeDep,
    session: ReadSession,
    reveal: Reveal,
    status: Annotated[
        Status | None, Query(description="only the services with this status")
    ] = None,
    tag: Annotated[str | None, Query(description="only the services with this tag")] = None,
) -> Response:
    """Every service with its status as of now, by key, in one page (`next_cursor` is
    null)."""
    # Filtered on the status as shown (as of now), not the stored one: with a lagging
    # worker, `?status=down` must list what the rows say is down.
    listing: ServiceListing = request.app.state.service_listings[reveal]
    items = await listing.json(session, runtime.rules, runtime.clock.now(), status, tag)
    return Response(b'{"items":' + items + b',"next_cursor":null}', media_type="application/json")


def _probe_config(body: ServiceCreate, runtime: RuntimeDep) -> registry.ProbeConfig | None:
    """The probe configuration given; ProbeConfig supplies the defaults of the rest."""
    registry.check_type(body.type, runtime.checkers)
    if not is_probe(body.type):
        return None
    if body.endpoint is None:
        raise Invalid(f"endpoint is required for {body.type} services")
    return registry.ProbeConfig(
        type=body.type, settings=body.checker_settings(), **body.probe_fields()
    )


def _schedule_spec(body: ServiceCreate, runtime: RuntimeDep) -> cron_schedules.ScheduleSpec | None:
    given = body.schedule_fields()
    if not any(v is not None for v in given.values()):
        return None
    return cron_schedules.merged_spec(None, given, runtime.settings.timezone)


@router.post(
    "",
    response_model=ServiceOut,
    status_code=201,
    responses=problems(s409="a service with that key exists"),
)
async def create_service(runtime: RuntimeDep, reveal: Reveal, body: NewService) -> ServiceOut:
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
            schedule=_schedule_spec(body, runtime),
            push_token=body.push_token,
        )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now(), reveal=reveal)


@router.get("/{id}", response_model=ServiceOut, responses=NOT_FOUND)
async def get_service(
    runtime: RuntimeDep, session: ReadSession, reveal: Reveal, id: str
) -> ServiceOut:
    """One service (by its UUID or its key) with its status as of now."""
    row = await registry.get_service(session, id)
    return ServiceOut.of(row, runtime.rules, runtime.clock.now(), reveal=reveal)


async def _update(
    runtime: RuntimeDep, id: str, changes: registry.ServiceChanges, *, reveal: bool
) -> ServiceOut:
    row = await registry.change_service(
        runtime.db,
        id,
        changes,
        rules=runtime.rules,
        now=runtime.clock.now(),
        checkers=runtime.checkers,
    )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now(), reveal=reveal)


async def _unmask(runtime: RuntimeDep, id: str, body: ServicePatch | ServiceCreate) -> None:
    """A service sent back as a read key saw it: its masked secrets become the stored
    ones again (api/probe_secrets.py), in `body` itself."""
    settings = body.checker_settings()
    if not (has_masked(settings) or has_masked(body.endpoint)):
        return
    async with runtime.db.reading() as session:
        row = await registry.get_service(session, id)
    restored, endpoint = restore_masked(
        settings, body.endpoint, dict(row.check_settings or {}), row.endpoint
    )
    if body.model_extra is not None:
        body.model_extra.update(restored)
    body.endpoint = endpoint


def _paused(body: ServicePatch | ServiceCreate) -> bool | None:
    if isinstance(body, ServicePatch) and body.paused is not None:
        return body.paused
    return None if body.is_active is None else not body.is_active


@router.patch("/{id}", response_model=ServiceOut, responses=TAKEN)
async def update_service(
    runtime: RuntimeDep,
    reveal: Reveal,
    id: str,
    body: Annotated[ServicePatch, Body(openapi_examples=examples.SERVICE_PATCH)],
) -> ServiceOut:
    """Change only the fields given: `expected_period_sec: null` goes back to the learned
    period; the settings given are merged into the type's current ones."""
    await _unmask(runtime, id, body)
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
            set_push_token="push_token" in given,
            push_token=body.push_token,
            set_period="expected_period_sec" in given,
            expected_period_sec=body.expected_period_sec,
            probe=body.probe_fields(),
            settings=body.checker_settings(),
            labels=body.labels(),
            schedule=body.schedule_fields(),
            default_zone=runtime.settings.timezone,
        ),
        reveal=reveal,
    )


def _replaced_key(id: str, given: str | None) -> str | None:
    """The key a PUT leaves the service with: the URL's, when the URL names the service
    by its key (a key in the body must then be the same); else the body's, if any."""
    try:
        uuid.UUID(id)
    except ValueError:
        if given is not None and given != id:
            raise Invalid(
                f"the body's key {given!r} is not the URL's {id!r}: leave it out, or rename "
                f'with PATCH /services/{id} {{"key": "{given}"}}'
            ) from None
        return id
    return given


@router.put("/{id}", response_model=ServiceOut, responses=TAKEN)
async def replace_service(
    runtime: RuntimeDep, reveal: Reveal, id: str, body: ReplacedService
) -> ServiceOut:
    """Replace the configuration: fields left out go back to their defaults. The URL
    names the service; a `key` in the body is optional. The type cannot change (delete
    and register again); history and status are kept."""
    if problem := body.heartbeat_only_problem():
        raise Invalid(problem)
    await _unmask(runtime, id, body)
    probe = _probe_config(body, runtime)
    key = _replaced_key(id, body.key)
    return await _update(
        runtime,
        id,
        registry.ServiceChanges(
            key=key,
            type=body.type,
            name=body.name or key,
            description=body.description or "",
            paused=_paused(body) or False,
            # left out: back to the default (resume), as every field PUT leaves out
            resume_on_ping=body.resume_on_ping
            if body.resume_on_ping is not None or probe
            else True,
            set_push_token=True,
            push_token=body.push_token,
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
            # left out: no schedule (the period rules), as every field PUT leaves out
            schedule={f: getattr(body, f) for f in cron_schedules.SCHEDULE_FIELDS},
            default_zone=runtime.settings.timezone,
        ),
        reveal=reveal,
    )


@router.post("/{id}/pause", response_model=ServiceOut, responses=NOT_FOUND)
async def pause(runtime: RuntimeDep, reveal: Reveal, id: str) -> ServiceOut:
    """Pause a service (as `PATCH {"paused": true}`): no status changes, no checks, no
    alerts until it is resumed."""
    return await _update(runtime, id, registry.ServiceChanges(paused=True), reveal=reveal)


@router.post("/{id}/resume", response_model=ServiceOut, responses=NOT_FOUND)
async def resume(runtime: RuntimeDep, reveal: Reveal, id: str) -> ServiceOut:
    """Resume a paused service (as `PATCH {"paused": false}`)."""
    return await _update(runtime, id, registry.ServiceChanges(paused=False), reveal=reveal)


@router.delete("/{id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_service(runtime: RuntimeDep, id: str) -> Response:
    """Delete a service, with its history and incidents."""
    async with runtime.db.writing() as session:
        await registry.delete_service(session, id)
    return Response(status_code=204)


@router.get("/{id}/history", response_model=HeartbeatPage | CheckResultPage, responses=NOT_FOUND)
async def history(
    session: ReadSession,
    reveal: Reveal,
    id: str,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> HeartbeatPage | CheckResultPage:
    """Newest first: heartbeats of a heartbeat service, check results of a probe service.
    Follow `next_cursor` for older pages."""
    check_window(start, end)
    before = decode_cursor(cursor) if cursor else None
    service = await registry.get_service(session, id)
    if is_probe(service.type):
        results = await registry.check_results(
            session, service, start=start, end=end, before=before, limit=limit
        )
        checks = [CheckResultOut.of(r, reveal=reveal) for r in results]
        return CheckResultPage(
            service_id=shown_id(service.id, reveal),
            service_key=service.key,
            items=checks,
            next_cursor=(
                next_cursor(checks[-1].checked_at, checks[-1].id) if len(checks) == limit else None
            ),
        )
    rows = await registry.heartbeats(
        session, service, start=start, end=end, before=before, limit=limit
    )
    beats = [HeartbeatOut.of(r) for r in rows]
    return HeartbeatPage(
        service_id=shown_id(service.id, reveal),
        service_key=service.key,
        items=beats,
        next_cursor=(
            next_cursor(beats[-1].received_at, beats[-1].id) if len(beats) == limit else None
        ),
    )


@router.get("/{id}/health", response_model=HealthOut, responses=NOT_FOUND)
async def health(runtime: RuntimeDep, session: ReadSession, reveal: Reveal, id: str) -> HealthOut:
    """Current status, its healthy/unhealthy/unknown view, and the last result."""
    row = await registry.get_service(session, id)
    view = ServiceOut.of(row, runtime.rules, runtime.clock.now(), reveal=reveal)
    last = None
    if is_probe(row.type):
        latest = await registry.check_results(session, row, limit=1)
        last = CheckResultOut.of(latest[0], reveal=reveal) if latest else None
    return HealthOut(
        service_id=shown_id(row.id, reveal),
        service_key=row.key,
        type=row.type,
        status=view.status,
        health=view.health,
        status_since=view.status_since,
        last_check_at=row.last_check_at,
        last_latency_ms=row.last_latency_ms,
        last_error=view.last_error,  # (hidden from those who may not see it)
        last_result=last,
        last_heartbeat_at=row.last_heartbeat_at,
    )


@router.post("/{id}/check", response_model=CheckResultOut, responses=NOT_FOUND)
async def check_now(runtime: RuntimeDep, reveal: Reveal, id: str) -> CheckResultOut:
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
    return CheckResultOut.of(result, reveal=reveal)
