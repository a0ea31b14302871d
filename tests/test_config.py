"""Settings: canonical HEARTWATCH_* names, the seed's old names, and bad values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from heartwatch.config import Settings, normalize_database_url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "CHECK_INTERVAL_SECONDS",
        "DATABASE_URL",
        "DATABASE_NAME",
        "DEBUG_MODE",
        "TIMEZONE",
        "DAILY_SUMMARY_TIME",
        "TELEGRAM_CHAT_ID",
        "SERVICE_INACTIVE_THRESHOLD_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"HEARTWATCH_{name}", raising=False)


def test_defaults() -> None:
    s = Settings()
    assert (s.host, s.port, s.check_interval_seconds) == ("127.0.0.1", 8765, 10)
    assert s.effective_database_url == "sqlite+aiosqlite:///./heartwatch.db"
    rules = s.heartbeat_rules
    assert (rules.silent_factor, rules.down_factor, rules.dead_after) == (
        2,
        4,
        dt.timedelta(days=7),
    )
    assert rules.fallback_period is None
    assert rules.min_period == 60


def test_the_learned_period_floor_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTWATCH_MIN_PERIOD_SECONDS", "5")
    assert Settings().heartbeat_rules.min_period == 5
    monkeypatch.setenv("HEARTWATCH_MIN_PERIOD_SECONDS", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_the_seed_env_file_keeps_working(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "CHECK_INTERVAL_SECONDS=60\nDAILY_SUMMARY_INTERVAL_SECONDS=86400\n"
        "DAILY_SUMMARY_TIME=09:00\nDATABASE_NAME=service_registry\nDEBUG_MODE=False\n"
        "MONGODB_URL=mongodb://localhost:27017\nSERVICE_INACTIVE_THRESHOLD_MINUTES=15\n"
        "TELEGRAM_CHAT_ID=291560340\nTIMEZONE=Europe/Moscow\n"
    )
    s = Settings()
    assert s.check_interval_seconds == 60
    assert s.daily_summary_time == dt.time(9, 0)
    assert s.effective_database_url == "sqlite+aiosqlite:///./service_registry.db"
    assert s.debug_mode is False
    assert s.telegram_chat_id == "291560340"
    assert s.timezone == "Europe/Moscow"
    # inactive after 15 min: silent at exactly 15 min, i.e. a fallback period of 7.5 min
    assert s.heartbeat_rules.fallback_period == 450


def test_heartwatch_names_win_over_the_seed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECK_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("HEARTWATCH_CHECK_INTERVAL_SECONDS", "5")
    assert Settings().check_interval_seconds == 5


def test_database_url_aliases_and_driver_normalisation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/hw")
    assert Settings().effective_database_url == "postgresql+asyncpg://u:p@db/hw"
    assert normalize_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_database_url("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEZONE", "Mars/Olympus"),
        ("HEARTWATCH_PORT", "99999"),
        ("CHECK_INTERVAL_SECONDS", "0"),
        ("DAILY_SUMMARY_TIME", "25:99"),
        ("HEARTWATCH_SQLITE_SYNCHRONOUS", "OFF"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_inconsistent_factors_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTWATCH_SILENT_FACTOR", "5")
    with pytest.raises(ValueError, match="silent_factor < down_factor"):
        _ = Settings().heartbeat_rules


def test_ping_key_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PING_KEY", "REQUIRE_PING_KEY", "MAX_SERVICES"):
        monkeypatch.delenv(f"HEARTWATCH_{name}", raising=False)
    s = Settings()
    assert (s.ping_key, s.require_ping_key, s.max_services) == (None, False, 10_000)
    monkeypatch.setenv("HEARTWATCH_REQUIRE_PING_KEY", "true")
    # Requiring a key that is not set would protect nothing: refused at start.
    with pytest.raises(ValidationError, match="HEARTWATCH_REQUIRE_PING_KEY needs"):
        Settings()
    monkeypatch.setenv("HEARTWATCH_PING_KEY", "k" * 8)
    monkeypatch.setenv("HEARTWATCH_MAX_SERVICES", "50")
    s = Settings()
    assert (s.ping_key, s.require_ping_key, s.max_services) == ("k" * 8, True, 50)
    monkeypatch.setenv("HEARTWATCH_MAX_SERVICES", "0")
    with pytest.raises(ValidationError):
        Settings()
