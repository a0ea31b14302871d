"""The bot's message builders as pure functions: ordering, grouping, escaping, splitting.

Every text is also parsed with the fake Bot API's HTML parser (Telegram's rules): what
the bot builds must be accepted by Telegram and show names as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from heartwatch.bot import details, views
from heartwatch.bot.access import AllowedChats
from heartwatch.bot.api_client import list_items
from heartwatch.bot.text import MESSAGE_LIMIT, duration, esc, parse_duration, percent, units
from heartwatch.bot.views import ServiceView
from tests.fakes.telegram import parse_html

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def item(key: str, status: str, **fields: Any) -> dict[str, Any]:
    since = fields.pop("since", timedelta(minutes=5))
    seen = fields.pop("seen", timedelta(minutes=1))
    base: dict[str, Any] = {
        "key": key,
        "name": key,
        "status": status,
        "status_since": (NOW - since).isoformat(),
        "last_heartbeat_at": (NOW - seen).isoformat(),
        "expected_period_sec": 300.0,
        "check_interval_sec": None,
        "endpoint": None,
        "last_check_at": None,
        "last_error": None,
    }
    base.update(fields)
    return base


def visible(text: str) -> str:
    plain, _ = parse_html(text)
    return plain


def service(key: str, status: str, **fields: Any) -> ServiceView:
    return ServiceView.of(item(key, status, **fields))


def test_status_lists_problems_most_severe_first_with_how_long_and_why() -> None:
    services = [
        service("ok-1", "alive"),
        service("late", "silent", since=timedelta(minutes=20), seen=timedelta(minutes=12)),
        service("gone", "dead", since=timedelta(days=8)),
        service("db", "down", since=timedelta(hours=2, minutes=5)),
        service("db-2", "down", since=timedelta(hours=3)),
        service(
            "web",
            "alive",
            check_interval_sec=30.0,
            endpoint="http://x",
            last_check_at=NOW.isoformat(),
            last_error="HTTP 503",
        ),
        service("paused-1", "paused"),
    ]
    text = visible(views.status_message(services, NOW))
    lines = text.splitlines()
    order = [ln.split()[1] for ln in lines if ln and ln[0] in "🔴⚫🟡🟠"]
    assert order == ["db-2", "db", "gone", "late", "web"]
    assert "db — down for 2h 5m" in text
    assert "late — silent for 20m" in text
    assert "last heartbeat 12m ago, expected every 5m" in text
    assert "last error: HTTP 503" in text
    assert lines[0] == "5 of 7 services need attention"
    assert lines[-1] == "2 alive · 1 paused · 1 silent · 2 down · 1 dead"


def test_status_with_no_problem_says_all_are_ok() -> None:
    services = [service(f"s{i}", "alive") for i in range(43)]
    assert visible(views.status_message(services, NOW)) == "✅ All 43 services are OK"
    services.append(service("p", "paused"))
    assert visible(views.status_message(services, NOW)).splitlines() == [
        "✅ All 44 services are OK",
        "43 alive · 1 paused",
    ]


def test_names_render_literally_and_never_break_the_markup() -> None:
    nasty = [
        service("k1", "down", name="<b>"),
        service("k2", "down", name="a&b", last_error="</code><i>x"),
        service("k3", "alive", name="&lt;not an entity&gt;"),
    ]
    for text in [views.status_message(nasty, NOW), *views.status_full_messages(nasty, {}, NOW)]:
        plain = visible(text)  # (raises for markup Telegram refuses)
        assert "<b> (k1)" in plain
        assert "a&b (k2)" in plain
    full = visible(views.status_full_messages(nasty, {}, NOW)[0])
    assert "&lt;not an entity&gt; (k3)" in full
    assert "</code><i>x" in full


def test_status_full_groups_every_service_with_period_last_seen_and_uptime() -> None:
    services = [
        service("b-alive", "alive", seen=timedelta(seconds=40)),
        service("a-alive", "alive"),
        service("dead-1", "dead"),
        service("paused-1", "paused"),
        service("new", "unknown", expected_period_sec=None, last_heartbeat_at=None),
    ]
    [message] = views.status_full_messages(services, {"b-alive": 99.991, "a-alive": 100.0}, NOW)
    lines = visible(message).splitlines()
    headers = [ln for ln in lines if ln.endswith(")") and "(" in ln and "·" not in ln]
    assert headers == ["⚫ Dead (1)", "⚪ Unknown (1)", "🟢 Alive (2)", "⏸ Paused (1)"]
    alive = lines.index("🟢 Alive (2)")
    assert lines[alive + 1] == "a-alive · every 5m · seen 1m ago · 100% 24h"
    assert lines[alive + 2] == "b-alive · every 5m · seen 40s ago · 99.99% 24h"
    assert "new · seen never · n/a 24h" in lines


def test_status_full_splits_at_line_boundaries_under_the_limit() -> None:
    services = [service(f"service-{i:04d}-" + "x" * 60, "alive") for i in range(1000)]
    messages = views.status_full_messages(services, {}, NOW)
    assert len(messages) > 1
    shown: list[str] = []
    for message in messages:
        assert units(visible(message)) <= MESSAGE_LIMIT
        plain = visible(message)
        shown += [ln.split(" · ")[0] for ln in plain.splitlines() if ln.startswith("service-")]
    assert shown == sorted(s.key for s in services)  # none lost, none cut, in order


def test_a_long_status_is_split_keeping_each_service_with_its_reason() -> None:
    services = [
        service(f"db-{i:04d}-" + "y" * 60, "down", last_heartbeat_at=None) for i in range(500)
    ]
    messages = views.status_messages(services, NOW)
    assert len(messages) > 1
    for message in messages:
        lines = visible(message).splitlines()
        assert units(visible(message)) <= MESSAGE_LIMIT
        for i, line in enumerate(lines):
            if line.startswith("🔴"):
                assert lines[i + 1] == "    last heartbeat never, expected every 5m"


def test_a_long_name_is_cut_so_its_line_still_fits() -> None:
    services = [service("k", "down", name="ü" * 10_000, last_error="e" * 10_000)]
    for text in [
        views.status_message(services, NOW),
        *views.status_full_messages(services, {}, NOW),
    ]:
        assert units(visible(text)) <= MESSAGE_LIMIT
        visible(text)


def test_start_tells_a_disallowed_chat_what_to_set_and_nothing_else() -> None:
    text = visible(details.start_message(-100123, 7, False, "4242"))
    assert "This chat's id: -100123 (topic 7)" in text
    assert "TELEGRAM_ALLOWED_CHAT_IDS=4242,-100123" in text
    allowed = visible(details.start_message(4242, None, True, "4242"))
    assert "This chat may use me" in allowed
    assert "topic" not in allowed


def test_info_incidents_history_and_summary_messages() -> None:
    raw = item("db", "down", name="DB <primary>", since=timedelta(hours=1))
    transitions = [
        {
            "timestamp": (NOW - timedelta(hours=1)).isoformat(),
            "from_state": "alive",
            "to_state": "down",
            "reason": "fail signal",
        }
    ]
    incident = {"service_key": "db", "started_at": (NOW - timedelta(hours=1)).isoformat()}
    [info] = details.info_message(
        ServiceView.of(raw), raw, {"24h": 95.5, "7d": 99.0, "30d": None}, incident, transitions, NOW
    )
    text = visible(info)
    assert "DB <primary> (db)" in text
    assert "Status: down for 1h (since 2026-03-01 11:00 UTC)" in text
    assert "Uptime: 95.50% 24h · 99.00% 7d · n/a 30d" in text
    assert "Open incident: 1h" in text
    assert "2026-03-01 11:00 UTC: alive → down — fail signal" in text
    [incidents] = details.incidents_message([incident], NOW)
    assert visible(incidents).splitlines()[1] == "🔴 db — 1h (since 2026-03-01 11:00 UTC)"
    assert details.incidents_message([], NOW) == ["✅ No open incidents."]
    [history] = details.history_message("a&b", transitions)
    assert visible(history).startswith("Recent changes of a&b")
    summary = {
        "totals": {"services": 3, "by_status": {"alive": 2, "down": 1}, "uptime_percent": 97.1}
    }
    assert "Services: 3 (2 alive · 1 down)" in visible(details.summary_message(summary))
    visible(details.help_message())


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (7500, "2h 5m"),
        (86400 * 3 + 3600 * 4, "3d 4h"),
        (-5, "0s"),
    ],
)
def test_duration(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30.0),
        ("2h", 120.0),
        ("1d", 1440.0),
        ("1W", 10080.0),
        ("0m", None),
        ("2", None),
        ("h", None),
        ("-1h", None),
        ("9999d", None),
        ("1.5h", None),
    ],
)
def test_parse_duration(text: str, minutes: float | None) -> None:
    assert parse_duration(text) == minutes


def test_percent_never_rounds_downtime_up_to_100() -> None:
    assert percent(99.999) == "99.99%"
    assert percent(100.0) == "100%"
    assert percent(None) == "n/a"


def test_esc_cuts_and_escapes() -> None:
    assert esc("<a&b>") == "&lt;a&amp;b&gt;"
    assert esc("x" * 300, 10) == "x" * 9 + "…"


def test_allowed_chats_from_the_allow_list_else_the_alerts_chat() -> None:
    chats = AllowedChats.parse("4242, -100123 @Ops_Channel", "777")
    assert chats.allows(4242, None) and chats.allows(-100123, None)
    assert chats.allows(-1009, "ops_channel")
    assert not chats.allows(777, None)
    fallback = AllowedChats.parse(None, "-100555:12")
    assert fallback.allows(-100555, None) and fallback.setting == "-100555:12"
    assert not AllowedChats.parse(None, None).allows(1, None)
    moved = AllowedChats.parse("-555", None).migrated(-555, -100555)
    assert moved.allows(-100555, None)


def test_list_items_reads_a_bare_list_or_a_page_envelope() -> None:
    assert list_items([{"key": "a"}]) == [{"key": "a"}]
    assert list_items({"items": [{"key": "a"}], "next_cursor": None}) == [{"key": "a"}]


def test_muted_lists_only_services_muted_now_soonest_first() -> None:
    services = [
        service("later", "alive", muted_until=(NOW + timedelta(hours=2)).isoformat()),
        service("sooner", "down", muted_until=(NOW + timedelta(minutes=30)).isoformat()),
        service("expired", "alive", muted_until=(NOW - timedelta(minutes=1)).isoformat()),
        service("never", "alive"),
    ]
    [text] = details.muted_message(services, NOW)
    assert visible(text).splitlines() == [
        "2 muted",
        "🔕 sooner — until 2026-03-01 12:30 UTC (30m left)",
        "🔕 later — until 2026-03-01 14:00 UTC (2h left)",
    ]
    assert "🔕 muted for 30m" in visible(views.status_message(services, NOW))
    assert details.muted_message(services[2:], NOW) == ["🔔 No service is muted."]
