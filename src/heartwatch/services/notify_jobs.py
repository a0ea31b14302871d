"""The worker's timed alerts: reminders while down, the end of flapping, the daily
summary. Each is queued into the outbox with a dedup key that names its occasion
(`reminder:<incident>:<n>`, `summary:<date>`), so several workers, restarts and
repeated runs queue it once."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.alerts import (
    AlertText,
    IncidentFacts,
    flapping_alert,
    human_duration,
    local,
    reminder_alert,
    wants,
)
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.schedule import missed_run_time
from heartwatch.domain.status import Status
from heartwatch.services import uptime
from heartwatch.services.lifecycle import as_of
from heartwatch.services.notifications import event_row, facts_of, policy_of
from heartwatch.store import incidents as incident_store
from heartwatch.store import notifications as store
from heartwatch.store import schedules as schedule_store
from heartwatch.store import services as service_store


async def queue_reminders(session: AsyncSession, now: datetime) -> int:
    """Every `reminder_hours` while an incident stays open, on channels that ask."""
    channels = [c for c in await store.enabled_channels(session) if c.reminder_hours]
    if not channels:
        return 0
    policy = policy_of(session)
    rows = []
    for incident, service in await incident_store.open_with_services(session):
        if (
            (service.muted_until and service.muted_until > now)
            or service.flapping_since
            or service.maintenance_held_at  # held by a window: told when it ends
        ):
            continue
        facts = facts_of(service)
        told = IncidentFacts(str(incident.id), incident.started_at, None, incident.last_error)
        link = policy.link(service.key)
        for ch in channels:
            assert ch.reminder_hours is not None
            n = math.floor((now - incident.started_at) / timedelta(hours=ch.reminder_hours))
            if n < 1 or not wants(
                ch.events, ch.min_criticality, ch.tags, ch.service_keys, "reminder", facts
            ):
                continue
            text = reminder_alert(facts, service.status, told, now, link=link, tz=policy.tz)
            rows.append(
                event_row(
                    ch,
                    text,
                    dedup=f"reminder:{incident.id}:{n}",
                    now=now,
                    at=now,
                    service=facts,
                    service_id=service.id,
                    status=service.status,
                    link=link,
                    incident=told,
                )
            )
    await store.queue(session, rows)
    return len(rows)


async def settle_flapping(session: AsyncSession, now: datetime) -> int:
    """A flapping service with no change for a whole flap window is stable again: say so
    once (with the status it settled on) and let its alerts through again."""
    policy = policy_of(session)
    flapping = await store.flapping_services(session)
    if not flapping:
        return 0
    since = now - policy.flap_window
    recent = await store.transitions_since(session, [s.id for s in flapping], since)
    channels = await store.enabled_channels(session)
    rows = []
    settled = 0
    for service in flapping:
        began = service.flapping_since
        assert began is not None
        if recent.get(service.id) or began > since:
            continue
        await store.set_flapping(session, service.id, None)
        settled += 1
        facts = facts_of(service)
        link = policy.link(service.key)
        text = flapping_alert(facts, 0, policy.flap_window, service.status, stable=True, link=link)
        rows += [
            event_row(
                ch,
                text,
                dedup=f"flap-end:{service.id}:{began.isoformat()}",
                now=now,
                at=now,
                service=facts,
                service_id=service.id,
                status=service.status,
                link=link,
            )
            for ch in channels
            if wants(ch.events, ch.min_criticality, ch.tags, ch.service_keys, "flapping", facts)
        ]
    await store.queue(session, rows)
    return settled


def summary_day(now: datetime, at: dt.time, tz: ZoneInfo) -> str | None:
    """The local calendar day whose summary is due at `now` (once its time has come),
    else None: before the summary time nothing is due yet."""
    local_now = now.astimezone(tz)
    return local_now.date().isoformat() if local_now.time() >= at else None


async def daily_summary_text(
    session: AsyncSession, now: datetime, rules: HeartbeatRules, day: str
) -> AlertText:
    """Counts per status, what is not OK and since when, the last 24 h's incidents and
    uptime: the daily summary."""
    policy = policy_of(session)
    services = await service_store.list_services(session)
    states = {s.id: as_of(s, rules, now) for s in services}
    counts = Counter(state.status for state in states.values())
    lines = [f"Day: {day} ({policy.tz.key})"]
    lines.append("Services: " + ", ".join(f"{counts.get(s, 0)} {s.value}" for s in Status))
    bad = [s for s in services if states[s.id].status in (Status.SILENT, Status.DOWN, Status.DEAD)]
    if bad:
        lines.append("Not OK:")
        for s in bad:
            since = states[s.id].status_since
            lines.append(
                f"• {s.key}: {states[s.id].status.value} since {local(since, policy.tz)}"
                f" ({human_duration((now - since).total_seconds())})"
            )
    day_ago = now - timedelta(hours=24)
    incidents = await incident_store.incidents_page(session, start=day_ago, end=now, limit=1000)
    open_count = sum(1 for i in incidents if not i.resolved)
    lines.append(f"Incidents (last 24 h): {len(incidents)} ({open_count} open)")
    for incident in incidents[:20]:
        end = incident.recovered_at
        span = (
            f"{local(incident.started_at, policy.tz)} → {local(end, policy.tz)}"
            f" ({human_duration((end - incident.started_at).total_seconds())})"
            if end
            else f"since {local(incident.started_at, policy.tz)} (open)"
        )
        lines.append(f"• {incident.service_key}: {span}")
    missed = [
        (key, when)
        for key, _, reason in await schedule_store.scheduled_downs(session, day_ago, now)
        if (when := missed_run_time(reason)) is not None
    ]
    if missed:
        lines.append(f"Missed scheduled runs (last 24 h): {len(missed)}")
        lines += [f"• {key}: {when}" for key, when in missed[:20]]
    reports = await uptime.reports(session, services, day_ago, now)
    total_up = sum(r.times.up_s for r in reports)
    total_obs = sum(r.times.observed_s for r in reports)
    overall = f"{100 * total_up / total_obs:.3f}%" if total_obs else "n/a"
    lines.append(f"Uptime (last 24 h): {overall}")
    for service, report in zip(services, reports, strict=True):
        pct = report.times.uptime_percent
        if pct is not None and pct < 100:
            lines.append(f"• {service.key}: {pct:.3f}%")
    body = "\n".join(lines)
    return AlertText("summary", "Daily summary", body, {"Date": day})


async def queue_daily_summary(
    session: AsyncSession, now: datetime, rules: HeartbeatRules, day: str
) -> int:
    """Queue the summary of local calendar day `day` for every channel that wants it."""
    channels = [
        c
        for c in await store.enabled_channels(session)
        if wants(c.events, c.min_criticality, c.tags, c.service_keys, "summary", None)
    ]
    if not channels:
        return 0
    text = await daily_summary_text(session, now, rules, day)
    rows = [
        event_row(
            ch,
            text,
            dedup=f"summary:{day}",
            now=now,
            at=now,
            service=None,
            service_id=None,
            status=None,
            link=policy_of(session).public_url,
        )
        for ch in channels
    ]
    await store.queue(session, rows)
    return len(rows)
