"""The outbox side of notifications: which channels want a transition, in what words.

Runs inside the transaction that records the transitions (`services.transitions`), so
an alert is queued if and only if its transition commits. Delivery is the dispatcher's
business (`services.dispatch`), in the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.alerts import (
    AlertText,
    IncidentFacts,
    ServiceFacts,
    event_of,
    flapping_alert,
    transition_alert,
    wants,
)
from heartwatch.domain.maintenance import covering
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.maintenance_windows import windows
from heartwatch.store import maintenance as maintenance_store
from heartwatch.store import notifications as store
from heartwatch.store.models import NotificationChannel

POLICY_KEY = "heartwatch.notify"
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    """Process-wide wording and flapping rules (from settings; see `Runtime`)."""

    public_url: str | None = None
    tz: ZoneInfo = UTC_ZONE
    # More than `flap_changes` transitions within `flap_window`: flapping.
    flap_changes: int = 5
    flap_window: timedelta = timedelta(minutes=30)
    max_attempts: int = 8

    def link(self, key: str) -> str | None:
        return f"{self.public_url.rstrip('/')}/services/{key}" if self.public_url else None


def policy_of(session: AsyncSession) -> NotifyPolicy:
    policy = session.info.get(POLICY_KEY)
    return policy if isinstance(policy, NotifyPolicy) else NotifyPolicy()


def facts_of(row: Any) -> ServiceFacts:
    return ServiceFacts(
        key=row.key,
        name=row.name,
        criticality=row.criticality,
        type=row.type,
        tags=tuple(row.tags or ()),
        last_heartbeat_at=row.last_heartbeat_at,
        last_error=row.last_error,
    )


def event_row(
    channel: NotificationChannel,
    text: AlertText,
    *,
    dedup: str,
    now: datetime,
    at: datetime,
    service: ServiceFacts | None,
    service_id: uuid.UUID | None,
    status: Status | None,
    link: str | None,
    incident: IncidentFacts | None = None,
    transition_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    payload = {
        **text.payload(),
        "service_key": service.key if service else None,
        "service_name": service.name if service else None,
        "status": status.value if status else None,
        "criticality": service.criticality if service else None,
        "url": link,
        "incident_id": incident.id if incident else None,
        "at": at.isoformat(),
    }
    return {
        "id": new_id(),
        "channel_id": channel.id,
        "dedup_key": f"{dedup}:{channel.id}",
        "kind": text.event,
        "transition_id": transition_id,
        "service_id": service_id,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_error": None,
        "payload": payload,
        "created_at": now,
        "sent_at": None,
    }


@dataclass(frozen=True, slots=True)
class _News:
    """The transition of one service to alert on, and the statuses it went through."""

    transition: dict[str, Any]
    event: str
    path: tuple[Status, ...]


def latest_news(transitions: Sequence[dict[str, Any]]) -> dict[uuid.UUID, _News]:
    """Per service, the last of its transitions that is news, with the path that led to
    it. Several changes of one service recorded together (a worker catching up finds
    silent, then down, at the same moment) are one alert, not one a second: the last,
    naming the way it came ("alive → silent → down"). Every transition is still recorded."""
    paths: dict[uuid.UUID, list[Status]] = {}
    news: dict[uuid.UUID, _News] = {}
    for t in transitions:  # in time order per service
        path = paths.setdefault(t["service_id"], [Status(t["from_status"])])
        path.append(Status(t["to_status"]))
        if event := event_of(t["from_status"], t["to_status"]):
            news[t["service_id"]] = _News(t, event, tuple(path))
    return news


async def queue_for_transitions(
    session: AsyncSession,
    transitions: Sequence[dict[str, Any]],
    incidents: dict[uuid.UUID, IncidentFacts],
) -> None:
    news = latest_news(transitions)
    if not news:
        return
    channels = await store.enabled_channels(session)
    if not channels:
        return
    policy = policy_of(session)
    services = await store.service_facts(session, list(news))
    now = max(n.transition["detected_at"] for n in news.values())
    recent = await store.transitions_since(session, list(news), now - policy.flap_window)
    planned = await windows(session)
    rows: list[dict[str, Any]] = []
    for sid, told in news.items():
        row = services.get(sid)
        if row is None:
            continue
        if row.muted_until is not None and row.muted_until > now:
            continue  # muted: the history records it, nobody is told
        if covering(planned, sid, row.tags or (), now) is not None:
            # Planned work: recorded, held; sent when the window ends if still down.
            await maintenance_store.mark_held(session, sid, now)
            continue
        facts = facts_of(row)
        link = policy.link(facts.key)
        if recent.get(sid, 0) > policy.flap_changes:
            if row.flapping_since is None:  # announce once; hold the individual alerts
                await store.set_flapping(session, sid, now)
                text = flapping_alert(
                    facts,
                    recent[sid],
                    policy.flap_window,
                    Status(row.status),
                    stable=False,
                    link=link,
                )
                rows += [
                    event_row(
                        ch,
                        text,
                        dedup=f"flap:{sid}:{now.isoformat()}",
                        now=now,
                        at=now,
                        service=facts,
                        service_id=sid,
                        status=Status(row.status),
                        link=link,
                    )
                    for ch in channels
                    if wants(
                        ch.events, ch.min_criticality, ch.tags, ch.service_keys, "flapping", facts
                    )
                ]
            continue
        if row.flapping_since is not None:
            continue  # still settling: the worker announces when it is stable again
        t, event = told.transition, told.event
        incident = incidents.get(t["id"])
        text = transition_alert(
            event,
            facts,
            Status(t["from_status"]),
            Status(t["to_status"]),
            t["at"],
            t["reason"],
            incident,
            link=link,
            tz=policy.tz,
            path=told.path,
        )
        rows += [
            event_row(
                ch,
                text,
                dedup=f"t:{t['id']}",
                now=now,
                at=t["at"],
                service=facts,
                service_id=sid,
                status=Status(t["to_status"]),
                link=link,
                incident=incident,
                transition_id=t["id"],
            )
            for ch in channels
            if wants(ch.events, ch.min_criticality, ch.tags, ch.service_keys, event, facts)
        ]
    await store.queue(session, rows)
