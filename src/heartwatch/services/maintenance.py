"""Maintenance windows: plan, list and remove them; tell whether one covers a service
now; and, once no window covers a service whose alert was held, send it if the service
is still down."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.alerts import IncidentFacts, transition_alert, wants
from heartwatch.domain.maintenance import covering, one_off, recurring
from heartwatch.domain.schedule import InvalidSchedule
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.errors import Invalid, NotFound
from heartwatch.services.maintenance_windows import windows
from heartwatch.services.notifications import event_row, facts_of, policy_of
from heartwatch.store import incidents as incident_store
from heartwatch.store import maintenance as store
from heartwatch.store import notifications as notification_store
from heartwatch.store import services as service_store
from heartwatch.store.models import MaintenanceWindowRow


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """What a request asks for: `starts_at`/`ends_at`, or `schedule` + `duration_sec`
    (+ `timezone`); `service` (id or key) or `tag` or neither (everything)."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    schedule: str | None = None
    timezone: str | None = None
    duration_sec: float | None = None
    service: str | None = None
    tag: str | None = None
    reason: str = ""


async def list_windows(session: AsyncSession) -> list[MaintenanceWindowRow]:
    return await store.all_windows(session)


async def create_window(
    session: AsyncSession, plan: WindowPlan, *, default_zone: str, now: datetime
) -> MaintenanceWindowRow:
    service_id = None
    if plan.service is not None:
        found = await service_store.find_service(session, plan.service)
        if found is None:
            raise NotFound(f"service {plan.service!r} not found")
        service_id = found.id
    window_id = new_id()
    zone = plan.timezone or default_zone
    try:
        if plan.schedule is not None:
            if plan.starts_at is not None or plan.ends_at is not None:
                raise InvalidSchedule("give from/until (one-off) or schedule (recurring), not both")
            if plan.duration_sec is None:
                raise InvalidSchedule("a recurring window needs duration_sec")
            window = recurring(
                window_id,
                plan.schedule,
                zone,
                timedelta(seconds=plan.duration_sec),
                service_id=service_id,
                tag=plan.tag,
            )
        else:
            if plan.starts_at is None or plan.ends_at is None:
                raise InvalidSchedule(
                    "give from and until (a one-off window), or schedule and duration_sec"
                )
            window = one_off(
                window_id, plan.starts_at, plan.ends_at, service_id=service_id, tag=plan.tag
            )
    except InvalidSchedule as exc:
        raise Invalid(str(exc)) from exc
    row = MaintenanceWindowRow(
        id=window_id,
        service_id=service_id,
        tag=plan.tag,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        schedule=window.cron.expression if window.cron else None,
        timezone=zone if window.cron else None,
        duration_sec=plan.duration_sec if window.cron else None,
        reason=plan.reason,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def delete_window(session: AsyncSession, window_id: str) -> None:
    try:
        as_uuid = uuid.UUID(window_id)
    except ValueError:
        raise NotFound(f"maintenance window {window_id!r} not found") from None
    row = await store.get_window(session, as_uuid)
    if row is None:
        raise NotFound(f"maintenance window {window_id!r} not found")
    await session.delete(row)


async def release_held(session: AsyncSession, now: datetime) -> int:
    """For each service whose alert a window held and that no window covers now: if it is
    still down (its incident open), send the alert of its outage now; either way it is no
    longer held. Returns how many alerts were queued."""
    held = await store.held_services(session)
    if not held:
        return 0
    planned = await windows(session)
    still_open = {s.id: i for i, s in await incident_store.open_with_services(session)}
    channels = await notification_store.enabled_channels(session)
    policy = policy_of(session)
    rows = []
    for service in held:
        if covering(planned, service.id, service.tags or (), now) is not None:
            continue
        service.maintenance_held_at = None
        incident = still_open.get(service.id)
        if incident is None or Status(service.status) not in (Status.DOWN, Status.DEAD):
            continue  # recovered inside the window: nothing to tell
        facts = facts_of(service)
        told = IncidentFacts(str(incident.id), incident.started_at, None, incident.last_error)
        link = policy.link(service.key)
        text = transition_alert(
            "down",
            facts,
            Status.ALIVE,
            Status(service.status),
            incident.started_at,
            "still down when the maintenance window ended",
            told,
            link=link,
            tz=policy.tz,
        )
        rows += [
            event_row(
                ch,
                text,
                dedup=f"held:{incident.id}",
                now=now,
                at=now,
                service=facts,
                service_id=service.id,
                status=Status(service.status),
                link=link,
                incident=told,
            )
            for ch in channels
            if wants(ch.events, ch.min_criticality, ch.tags, ch.service_keys, "down", facts)
        ]
    await notification_store.queue(session, rows)
    return len(rows)
