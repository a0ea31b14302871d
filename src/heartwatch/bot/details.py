"""The other messages: /start, /help, /info, /incidents, /history, /summary — pure
functions from the API's answers (and the chat) to message texts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from heartwatch.bot.text import ago, duration, esc, parse_time, percent, split_messages
from heartwatch.bot.views import ICONS, ServiceView, title

# (command, what it does) — the menu registered with setMyCommands, and /help.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "problems only: down, dead, silent, failing"),
    ("status_full", "every service, grouped by status"),
    ("info", "<key>: one service in detail"),
    ("incidents", "open incidents"),
    ("history", "<key>: recent status changes"),
    ("mute", "<key|all> <30m|2h|1d>: hold a service's alerts"),
    ("unmute", "<key|all>: alerts again"),
    ("muted", "services whose alerts are held"),
    ("summary", "the last 24 hours"),
    ("start", "this chat's id and whether it may use the bot"),
    ("help", "these commands"),
)
HISTORY_LENGTH = 10
INFO_TRANSITIONS = 5


def start_message(
    chat_id: int, thread_id: int | None, allowed: bool, allowed_setting: str | None
) -> str:
    """/start: always answered; says nothing about any service."""
    where = f"This chat's id: <code>{chat_id}</code>"
    if thread_id is not None:
        where += f" (topic <code>{thread_id}</code>)"
    lines = ["👋 Hi, I'm heartwatch's bot.", where, ""]
    if allowed:
        lines.append("✅ This chat may use me: /status, /status_full, /help.")
        return "\n".join(lines)
    lines.append("🚫 This chat may not query heartwatch.")
    value = f"{allowed_setting},{chat_id}" if allowed_setting else str(chat_id)
    lines.append(
        f"To allow it, set <code>TELEGRAM_ALLOWED_CHAT_IDS={esc(value, 1000)}</code> "
        "(or <code>TELEGRAM_CHAT_ID</code> when this is the alerts chat) and restart "
        "heartwatch's bot."
    )
    return "\n".join(lines)


def help_message() -> str:
    lines = ["<b>heartwatch</b> answers:"]
    lines += [f"/{name} — {esc(what)}" for name, what in COMMANDS]
    return "\n".join(lines)


def info_message(
    service: ServiceView,
    item: dict[str, Any],
    uptimes: dict[str, float | None],
    incident: dict[str, Any] | None,
    transitions: list[dict[str, Any]],
    now: datetime,
) -> list[str]:
    since = service.since or now
    lines = [
        f"{ICONS.get(service.problem or service.status, '')} {title(service)}",
        f"Status: <b>{service.status.value}</b> for {duration((now - since).total_seconds())}"
        f" (since {_when(since)})",
    ]
    if service.muted(now) and service.muted_until is not None:
        lines.append(f"🔕 Muted until {_when(service.muted_until)}")
    if service.period is not None:
        what = "Checked every" if service.probe else "Expected every"
        source = item.get("period_source")
        lines.append(f"{what} {duration(service.period)}" + (f" ({esc(source)})" if source else ""))
    noun = "Last check" if service.probe else "Last heartbeat"
    lines.append(f"{noun}: {ago(service.last_seen, now)}")
    if service.last_error:
        lines.append(f"Last error: {esc(service.last_error)}")
    if item.get("hint"):
        lines.append(f"<i>{esc(item['hint'], 400)}</i>")
    lines.append("Uptime: " + " · ".join(f"{percent(value)} {p}" for p, value in uptimes.items()))
    if incident is not None:
        started = parse_time(incident.get("started_at")) or now
        lines.append(
            f"Open incident: {duration((now - started).total_seconds())} (since {_when(started)})"
        )
    if transitions:
        lines += ["", "<b>Last changes</b>"]
        lines += [_transition(t) for t in transitions[:INFO_TRANSITIONS]]
    return split_messages(lines)


def incidents_message(incidents: list[dict[str, Any]], now: datetime) -> list[str]:
    if not incidents:
        return ["✅ No open incidents."]
    lines = [f"<b>{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}</b>"]
    rows = sorted(incidents, key=lambda i: str(i.get("started_at", "")))
    for incident in rows:
        started = parse_time(incident.get("started_at")) or now
        line = (
            f"🔴 <b>{esc(incident.get('service_key', '?'))}</b> — "
            f"{duration((now - started).total_seconds())} (since {_when(started)})"
        )
        if incident.get("last_error"):
            line += f"\n    {esc(incident['last_error'])}"
        lines.append(line)
    return split_messages(lines)


def history_message(key: str, transitions: list[dict[str, Any]]) -> list[str]:
    if not transitions:
        return [f"No status changes of <b>{esc(key)}</b> yet."]
    lines = [f"<b>Recent changes of {esc(key)}</b>"]
    lines += [_transition(t) for t in transitions[:HISTORY_LENGTH]]
    return split_messages(lines)


def muted_message(services: list[ServiceView], now: datetime) -> list[str]:
    muted = sorted(
        (s for s in services if s.muted(now) and s.muted_until is not None),
        key=lambda s: (s.muted_until or now, s.key),
    )
    if not muted:
        return ["🔔 No service is muted."]
    lines = [f"<b>{len(muted)} muted</b>"]
    for service in muted:
        until = service.muted_until or now
        lines.append(
            f"🔕 {title(service)} — until {_when(until)} "
            f"({duration((until - now).total_seconds())} left)"
        )
    return split_messages(lines)


def summary_message(summary: dict[str, Any]) -> str:
    totals = summary.get("totals") or {}
    by_status = totals.get("by_status") or {}
    counts = " · ".join(f"{n} {s}" for s, n in by_status.items() if n)
    lines = [
        "<b>The last 24 hours</b>",
        f"Services: {totals.get('services', 0)}" + (f" ({esc(counts)})" if counts else ""),
        f"Uptime: {percent(totals.get('uptime_percent'))}",
        f"Incidents: {totals.get('incident_count', 0)} started, "
        f"{totals.get('active_incidents', 0)} open",
    ]
    mttr = totals.get("mttr")
    if isinstance(mttr, int | float):
        lines.append(f"Mean time to recover: {duration(mttr)}")
    breaches = totals.get("sla_breaches") or []
    if breaches:
        lines.append("Below their SLA: " + ", ".join(esc(b) for b in breaches[:20]))
    return "\n".join(lines)


def _transition(item: dict[str, Any]) -> str:
    at = parse_time(item.get("timestamp"))
    moment = _when(at) if at is not None else "?"
    line = f"{moment}: {esc(item.get('from_state', '?'))} → <b>{esc(item.get('to_state', '?'))}</b>"
    if item.get("reason"):
        line += f" — {esc(item['reason'])}"
    return line


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
