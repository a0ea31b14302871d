"""Example requests and responses for the OpenAPI document (what /docs shows and "Try it
out" starts from). tests/api/test_openapi.py sends each request example to the API and
checks that the response example has the fields the real answer has."""

from __future__ import annotations

from typing import Any

_ID = "01a2378e-26a2-7e68-a9d3-4e4d7426d1a3"
_AT = "2026-12-01T09:00:00Z"


def named(**bodies: tuple[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`Body(openapi_examples=...)`: name=(summary, value)."""
    return {name: {"summary": summary, "value": value} for name, (summary, value) in bodies.items()}


SERVICE_CREATE = named(
    heartbeat=(
        "a heartbeat service (a cron job reporting every hour)",
        {
            "key": "nightly-import",
            "type": "heartbeat",
            "name": "Nightly import",
            "expected_period_sec": 3600,
        },
    ),
    http=(
        "an HTTP check",
        {
            "key": "shop-api",
            "type": "http",
            "endpoint": "https://shop.example.com/health",
            "check_interval_sec": 60,
            "timeout_ms": 5000,
            "method": "GET",
            "headers": {"Accept": "application/json"},
            "accepted_status_codes": ["200-299"],
            "json_path": "$.status",
            "json_expected": "ok",
        },
    ),
    tcp=(
        "a TCP check",
        {"key": "postgres", "type": "tcp", "endpoint": "db.example.com:5432"},
    ),
    scheduled=(
        "a cron job expected by its schedule (at 02:00 in Berlin, 10 minutes' grace)",
        {
            "key": "nightly-backup",
            "schedule": "0 2 * * *",
            "timezone": "Europe/Berlin",
            "grace_sec": 600,
        },
    ),
)
SERVICE_PATCH = named(
    rename=("rename, and declare a period", {"name": "Billing", "expected_period_sec": 300}),
    settings=("change an http service's settings", {"expect_keyword": "ok", "timeout_ms": 3000}),
)
SERVICE_OUT: dict[str, Any] = {
    "id": _ID,
    "key": "nightly-import",
    "name": "Nightly import",
    "description": "",
    "type": "heartbeat",
    "status": "alive",
    "health": "healthy",
    "status_since": _AT,
    "last_heartbeat_at": _AT,
    "expected_period_sec": 3600,
    "period_source": "declared",
    "heartbeat_count": 12,
    "next_deadline_at": "2026-12-01T11:00:00Z",
    "hint": None,
    "created_at": "2026-11-20T08:00:00Z",
    "updated_at": _AT,
    "is_active": True,
    "resume_on_ping": True,
    "criticality": "medium",
    "tags": [],
    "sla_target": None,
    "push_token": None,
    "schedule": None,
    "timezone": None,
    "grace_sec": None,
    "early_tolerance_sec": None,
    "max_runtime_sec": None,
    "schedule_description": None,
    "next_expected_at": None,
    "next_expected_at_local": None,
    "deadline_at": None,
    "deadline_at_local": None,
    "endpoint": None,
    "check_interval_sec": None,
    "timeout_ms": None,
    "retry_count": None,
    "retry_backoff_ms": None,
    "failure_threshold": None,
    "success_threshold": None,
    "settings": {},
    "last_check_at": None,
    "last_latency_ms": None,
    "last_error": None,
    "muted_until": None,
}
PING_ACK: dict[str, Any] = {
    "ok": True,
    "service_id": _ID,
    "service_key": "billing",
    "status": "unknown",
    "received_at": _AT,
    "registered": True,
    "duration_ms": None,
    "hint": "learning the period: 3 more heartbeats, or send ?period=SECONDS",
}
CHANNEL_IN = named(
    telegram=(
        "Telegram, for down and recovered alerts of critical services",
        {
            "name": "oncall",
            "type": "telegram",
            "config": {"bot_token": "123456:ABC-DEF", "chat_id": "-1001234567890"},
            "events": ["down", "recovered"],
            "min_criticality": "critical",
        },
    ),
    webhook=(
        "a webhook",
        {"name": "hook", "type": "webhook", "config": {"url": "https://hooks.example.com/hw"}},
    ),
)
CHANNEL_PATCH = named(
    disable=("turn a channel off", {"enabled": False}),
    remind=("remind every 4 hours while down", {"reminder_hours": 4}),
)
CHANNEL_OUT: dict[str, Any] = {
    "id": _ID,
    "name": "oncall",
    "type": "telegram",
    "config": {"bot_token": "••••-DEF", "chat_id": "-1001234567890"},
    "enabled": True,
    "events": ["down", "recovered"],
    "min_criticality": "critical",
    "tags": [],
    "service_keys": [],
    "reminder_hours": None,
    "rate_per_minute": None,
    "managed_by": None,
    "created_at": _AT,
    "updated_at": _AT,
}
MUTE_IN = named(
    minutes=("for 90 minutes", {"minutes": 90}),
    until=("until a moment", {"until": "2030-01-01T06:00:00Z"}),
)
MUTE_OUT: dict[str, Any] = {
    "service_id": _ID,
    "service_key": "billing",
    "muted_until": "2026-12-01T10:30:00Z",
}
KEY_IN = named(
    read=("a read key for a dashboard, for a year", {"name": "grafana", "expires_in": "365d"}),
    admin=("an admin key", {"name": "deploy", "role": "admin"}),
)
KEY_CREATED: dict[str, Any] = {
    "id": "3f9a1c2b7d4e",
    "name": "grafana",
    "role": "read",
    "state": "active",
    "created_at": _AT,
    "expires_at": "2027-12-01T09:00:00Z",
    "revoked_at": None,
    "last_used_at": None,
    "key": "hwk_3f9a1c2b7d4e_<43 characters: shown this once>",
}
CLOCK_MOVE = named(
    advance=("an hour later", {"advance_seconds": 3600}),
    set=("set the time", {"now": "2026-12-01T09:00:00Z"}),
)
CLOCK_OUT: dict[str, Any] = {
    "now": "2026-12-01T10:00:00Z",
    "real_now": _AT,
    "offset_seconds": 3600.0,
}
SCHEDULE_DRAFT = named(
    nightly=(
        "every night at 02:00 in Berlin",
        {"schedule": "0 2 * * *", "timezone": "Europe/Berlin"},
    ),
    weekdays=("weekdays at 06:30, the next 3 runs", {"schedule": "30 6 * * MON-FRI", "runs": 3}),
)
SCHEDULE_PREVIEW: dict[str, Any] = {
    "schedule": "0 2 * * *",
    "timezone": "Europe/Berlin",
    "description": "At 02:00 every day (Europe/Berlin)",
    "grace_sec": 300.0,
    "early_tolerance_sec": 0.0,
    "runs": [
        {"at": "2026-12-02T01:00:00Z", "local": "2026-12-02T02:00:00+01:00"},
        {"at": "2026-12-03T01:00:00Z", "local": "2026-12-03T02:00:00+01:00"},
    ],
}
WINDOW_IN = named(
    weekly=(
        "every Sunday 03:00-04:00 in Berlin, for the services tagged db",
        {"schedule": "0 3 * * SUN", "duration_sec": 3600, "timezone": "Europe/Berlin", "tag": "db"},
    ),
    one_off=(
        "once, for every service",
        {"from": "2030-01-01T06:00:00Z", "until": "2030-01-01T07:00:00Z", "reason": "upgrade"},
    ),
)
WINDOW_OUT: dict[str, Any] = {
    "id": _ID,
    "service_id": None,
    "tag": "db",
    "from": None,
    "until": None,
    "schedule": "0 3 * * SUN",
    "timezone": "Europe/Berlin",
    "duration_sec": 3600.0,
    "reason": "",
    "active_until": None,
}
STATUS_PAGE_IN = named(
    by_keys=(
        "a page of two services",
        {"slug": "acme", "title": "Acme status", "service_keys": ["shop-api", "postgres"]},
    ),
    by_tag=(
        "a page of every service tagged public",
        {"slug": "public", "title": "Our services", "tags": ["public"]},
    ),
)
STATUS_PAGE_PATCH = named(
    retitle=("a new title", {"title": "Acme: live status"}),
    move=("a new slug (the old URL answers 404)", {"slug": "acme-status"}),
)
STATUS_PAGE_OUT: dict[str, Any] = {
    "slug": "acme",
    "title": "Acme status",
    "description": "",
    "service_keys": ["shop-api", "postgres"],
    "tags": [],
    "url": "https://status.example.com/status/acme",
    "created_at": _AT,
    "updated_at": _AT,
}
