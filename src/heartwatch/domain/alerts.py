"""What an alert says. Pure: facts in, words out (the outbox stores the words, so a
message says what was true when it was queued, however late it is delivered).

The first line names the service and the event, so it reads well as a phone
notification: "payments is DOWN", "payments RECOVERED after 12 min".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status

AlertEvent = Literal["silent", "down", "recovered", "dead", "reminder", "flapping", "summary"]
Criticality = Literal["low", "medium", "high", "critical"]
EVENTS: tuple[str, ...] = get_args(AlertEvent)
CRITICALITY: tuple[str, ...] = get_args(Criticality)  # in rising order


def event_of(from_status: Status, to_status: Status) -> str | None:
    """The alert a transition raises, if any: unknown -> alive, pauses and resumes are
    not news; coming back from silent, down or dead is."""
    if to_status is Status.SILENT:
        return "silent"
    if to_status is Status.DOWN:
        return "down"
    if to_status is Status.DEAD:
        return "dead"
    if to_status is Status.ALIVE and from_status in (Status.SILENT, Status.DOWN, Status.DEAD):
        return "recovered"
    return None


def wants(
    events: list[str],
    min_criticality: str | None,
    tags: list[str],
    keys: list[str],
    event: str,
    service: ServiceFacts | None,
) -> bool:
    """Does a channel with these filters want this event (of this service)? Empty
    filters mean everything; the service filters do not apply to the daily summary."""
    if events and event not in events:
        return False
    if service is None:
        return True
    if min_criticality is not None and _rank(service.criticality) < _rank(min_criticality):
        return False
    if tags and not set(tags) & set(service.tags):
        return False
    return not keys or service.key in keys


def _rank(criticality: str) -> int:
    return CRITICALITY.index(criticality) if criticality in CRITICALITY else 1


def human_duration(span: float) -> str:
    seconds = max(0, round(span))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    key: str
    name: str
    criticality: str
    type: str
    tags: tuple[str, ...] = ()
    last_heartbeat_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: str
    started_at: datetime
    recovered_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class AlertText:
    event: str
    title: str
    body: str
    fields: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, object]:
        return {"event": self.event, "title": self.title, "body": self.body, "fields": self.fields}


def _body(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in fields.items())


def transition_alert(
    event: str,
    service: ServiceFacts,
    from_status: Status,
    to_status: Status,
    at: datetime,
    reason: str,
    incident: IncidentFacts | None,
    *,
    link: str | None,
    tz: ZoneInfo,
    path: Sequence[Status] = (),
) -> AlertText:
    """`path`: the statuses the service went through to get here, when this alert stands
    for several changes recorded together (only the last is told)."""
    name = service.key
    was = path[0] if len(path) > 2 else from_status
    if event == "recovered":
        since = incident.started_at if incident is not None else None
        took = f" after {human_duration((at - since).total_seconds())}" if since else ""
        title = f"{name} RECOVERED{took}"
    else:
        title = f"{name} is {to_status.value.upper()}"
    fields = {"Status": f"{to_status.value} (was {was.value})"}
    if len(path) > 2:
        fields["Path"] = " → ".join(status.value for status in path)
    fields["Since"] = local(at, tz)
    if reason:
        fields["Reason"] = reason
    error = (incident.last_error if incident else None) or service.last_error
    if error and event != "recovered":
        fields["Last error"] = error
    if not is_probe(service.type) and service.last_heartbeat_at is not None:
        fields["Last heartbeat"] = local(service.last_heartbeat_at, tz)
    if incident is not None:
        state = "resolved" if incident.recovered_at else "open"
        fields["Incident"] = f"{incident.id} ({state}, since {local(incident.started_at, tz)})"
    fields["Criticality"] = service.criticality
    if link:
        fields["Link"] = link
    return AlertText(event, title, _body(fields), fields)


def reminder_alert(
    service: ServiceFacts,
    status: Status,
    incident: IncidentFacts,
    now: datetime,
    *,
    link: str | None,
    tz: ZoneInfo,
) -> AlertText:
    down_for = human_duration((now - incident.started_at).total_seconds())
    fields = {
        "Status": status.value,
        "Since": local(incident.started_at, tz),
        "Incident": incident.id,
    }
    if incident.last_error:
        fields["Last error"] = incident.last_error
    if link:
        fields["Link"] = link
    return AlertText(
        "reminder",
        f"{service.key} is still {status.value.upper()} ({down_for})",
        _body(fields),
        fields,
    )


def flapping_alert(
    service: ServiceFacts,
    changes: int,
    window: timedelta,
    status: Status,
    *,
    stable: bool,
    link: str | None,
) -> AlertText:
    if stable:
        title = f"{service.key} stopped flapping: {status.value.upper()}"
        fields = {"Status": status.value, "Note": "individual alerts resume"}
    else:
        title = f"{service.key} is FLAPPING"
        fields = {
            "Changes": f"{changes} status changes in {human_duration(window.total_seconds())}",
            "Status": status.value,
            "Note": "alerts for this service are held until it is stable",
        }
    if link:
        fields["Link"] = link
    return AlertText("flapping", title, _body(fields), fields)
