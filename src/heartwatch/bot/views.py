"""/status and /status_full: pure functions from the API's answers to message texts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from heartwatch.bot.text import ago, duration, esc, parse_time, percent, split_messages
from heartwatch.domain.status import Status

# The problems /status lists, in this order (most severe first): down is happening now,
# dead has been down for days, silent is late, failing is a probe whose last check failed
# but has not reached its failure threshold yet.
FAILING = "failing"
PROBLEM_ORDER: tuple[str, ...] = (Status.DOWN, Status.DEAD, Status.SILENT, FAILING)
# /status_full's groups, in this order.
GROUP_ORDER: tuple[Status, ...] = (
    Status.DOWN,
    Status.DEAD,
    Status.SILENT,
    Status.UNKNOWN,
    Status.ALIVE,
    Status.PAUSED,
)
ICONS: dict[str, str] = {
    Status.DOWN: "🔴",
    Status.DEAD: "⚫",
    Status.SILENT: "🟡",
    FAILING: "🟠",
    Status.UNKNOWN: "⚪",
    Status.ALIVE: "🟢",
    Status.PAUSED: "⏸",
}
FOOTER_ORDER: tuple[Status, ...] = (
    Status.ALIVE,
    Status.UNKNOWN,
    Status.PAUSED,
    Status.SILENT,
    Status.DOWN,
    Status.DEAD,
)


@dataclass(frozen=True)
class ServiceView:
    """What the messages say of one service (from GET /services' JSON)."""

    key: str
    name: str
    status: Status
    since: datetime | None
    probe: bool
    last_seen: datetime | None  # last heartbeat, or last check for a probe
    period: float | None  # expected period, or check interval for a probe
    last_error: str | None
    muted_until: datetime | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> ServiceView:
        probe = item.get("check_interval_sec") is not None or item.get("endpoint") is not None
        seen = item.get("last_check_at") if probe else item.get("last_heartbeat_at")
        period = item.get("check_interval_sec") if probe else item.get("expected_period_sec")
        error = item.get("last_error")
        try:
            status = Status(str(item.get("status")))
        except ValueError:
            status = Status.UNKNOWN
        key = str(item.get("key", "?"))
        return cls(
            key=key,
            name=str(item.get("name") or key),
            status=status,
            since=parse_time(item.get("status_since")),
            probe=probe,
            last_seen=parse_time(seen),
            period=float(period) if isinstance(period, int | float) else None,
            last_error=str(error) if error else None,
            muted_until=parse_time(item.get("muted_until")),
        )

    @property
    def problem(self) -> str | None:
        """Which kind of problem /status lists it as, if any."""
        if self.status in (Status.DOWN, Status.DEAD, Status.SILENT):
            return self.status
        if self.status is Status.ALIVE and self.probe and self.last_error:
            return FAILING
        return None

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now


def title(service: ServiceView) -> str:
    """`<b>name</b>`, with its key when the name is not the key."""
    shown = f"<b>{esc(service.name)}</b>"
    if service.name != service.key:
        shown += f" (<code>{esc(service.key)}</code>)"
    return shown


def _why(service: ServiceView, now: datetime) -> str:
    if service.probe and service.last_error:
        return f"last error: {esc(service.last_error)}"
    noun = "last check" if service.probe else "last heartbeat"
    text = f"{noun} {ago(service.last_seen, now)}"
    if service.period is not None:
        text += f", expected every {duration(service.period)}"
    return text


def _muted_note(service: ServiceView, now: datetime) -> str:
    if not service.muted(now) or service.muted_until is None:
        return ""
    return f" 🔕 muted for {duration((service.muted_until - now).total_seconds())}"


def footer(services: list[ServiceView]) -> str:
    counts = Counter(s.status for s in services)
    parts = [f"{counts[status]} {status.value}" for status in FOOTER_ORDER if counts[status]]
    return " · ".join(parts)


def status_message(services: list[ServiceView], now: datetime) -> str:
    """/status as one text (`status_messages` splits it for Telegram)."""
    return "\n".join(status_lines(services, now))


def status_messages(services: list[ServiceView], now: datetime) -> list[str]:
    return split_messages(status_lines(services, now))


def status_lines(services: list[ServiceView], now: datetime) -> list[str]:
    """/status: problems only, most severe first (then the longest-standing first), each
    with how long and why, and a footer with the counts; or that all are OK. A service
    and its reason are one entry, never split apart."""
    if not services:
        return ["No services yet: send a heartbeat or add a check, then ask again."]
    problems = [s for s in services if s.problem is not None]
    if not problems:
        lines = [f"✅ All {len(services)} services are OK"]
        if any(s.status is not Status.ALIVE for s in services):
            lines.append(f"<i>{footer(services)}</i>")
        return lines
    rank = {kind: i for i, kind in enumerate(PROBLEM_ORDER)}
    problems.sort(key=lambda s: (rank[s.problem or FAILING], s.since or now, s.key))
    lines = [f"<b>{len(problems)} of {len(services)} services need attention</b>", ""]
    for service in problems:
        kind = service.problem or FAILING
        since = service.since or now
        lines.append(
            f"{ICONS[kind]} {title(service)} — {kind} for "
            f"{duration((now - since).total_seconds())}{_muted_note(service, now)}\n"
            f"    {_why(service, now)}"
        )
    lines += ["", f"<i>{footer(services)}</i>"]
    return lines


def status_full_messages(
    services: list[ServiceView], uptime_24h: dict[str, float | None], now: datetime
) -> list[str]:
    """/status_full: every service, grouped by status, each with its period, last
    heartbeat or check and 24 h uptime; split into messages under Telegram's limit."""
    if not services:
        return ["No services yet: send a heartbeat or add a check, then ask again."]
    lines = [f"<b>All {len(services)} services</b> <i>({footer(services)})</i>"]
    for status in GROUP_ORDER:
        group = sorted((s for s in services if s.status is status), key=lambda s: s.key)
        if not group:
            continue
        lines += ["", f"{ICONS[status]} <b>{status.value.title()} ({len(group)})</b>"]
        for service in group:
            lines.append(_full_line(service, uptime_24h.get(service.key), now))
    return split_messages(lines)


def _full_line(service: ServiceView, uptime: float | None, now: datetime) -> str:
    parts = [title(service)]
    if service.period is not None:
        parts.append(f"every {duration(service.period)}")
    noun = "checked" if service.probe else "seen"
    parts.append(f"{noun} {ago(service.last_seen, now)}")
    parts.append(f"{percent(uptime)} 24h")
    line = " · ".join(parts) + _muted_note(service, now)
    if service.problem is not None and service.last_error:
        line += f"\n    {esc(service.last_error)}"
    return line
