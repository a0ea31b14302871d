"""Settings: environment variables (plus an optional `.env`), one typed object.

Canonical names are `HEARTWATCH_*`. The names of the registry heartwatch replaces (its
`.env`: `CHECK_INTERVAL_SECONDS`, `DATABASE_NAME`, `DEBUG_MODE`, `TIMEZONE`, ...) keep
working as aliases, so an existing deployment's environment can be pointed at heartwatch
unchanged. When both are set, the `HEARTWATCH_*` name wins.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from heartwatch.domain.auth import AuthMode
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.network import NetworkPolicy, parse_networks


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"HEARTWATCH_{name}", *aliases)


PositiveSeconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- processes -------------------------------------------------------------------
    host: str = Field("127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(8765, ge=0, le=65535, validation_alias=_env("PORT"))
    access_log: bool = Field(False, validation_alias=_env("ACCESS_LOG"))
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=_env("LOG_LEVEL")
    )
    log_format: Literal["console", "json"] = Field("console", validation_alias=_env("LOG_FORMAT"))

    # --- storage ---------------------------------------------------------------------
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL", "DATABASE_URL"))
    # The replaced registry named its database; with no URL it becomes the SQLite file's name.
    database_name: str = Field(
        "heartwatch", validation_alias=_env("DATABASE_NAME", "DATABASE_NAME")
    )
    # FULL: a heartbeat acknowledged is on disk even after a power cut. NORMAL (WAL) only
    # survives a crash of the process, and is somewhat faster.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", validation_alias=_env("SQLITE_SYNCHRONOUS")
    )

    # --- worker ----------------------------------------------------------------------
    check_interval_seconds: PositiveSeconds = Field(
        10.0, validation_alias=_env("CHECK_INTERVAL_SECONDS", "CHECK_INTERVAL_SECONDS")
    )

    # Raw check results and heartbeats older than this are deleted (once rolled up into
    # hourly uptime rollups); transitions, incidents and rollups are kept.
    retention_days: float = Field(30.0, gt=0, validation_alias=_env("RETENTION_DAYS"))

    # --- probes (pull checks) ------------------------------------------------------------
    max_concurrent_checks: int = Field(
        200, ge=1, le=10_000, validation_alias=_env("MAX_CONCURRENT_CHECKS")
    )
    # Script checks run commands on this server: off unless an operator turns them on.
    allow_script_checks: bool = Field(False, validation_alias=_env("ALLOW_SCRIPT_CHECKS"))
    # Where probes and webhook-style channels may connect (domain.network): CIDR lists,
    # comma- or space-separated. Denied: the cloud metadata ranges, plus these; allowed
    # (wins over denied): these.
    probe_deny_networks: str = Field("", validation_alias=_env("PROBE_DENY_NETWORKS"))
    probe_allow_networks: str = Field("", validation_alias=_env("PROBE_ALLOW_NETWORKS"))

    # --- heartbeat status rules (README "Statuses") -----------------------------------
    silent_factor: float = Field(2.0, gt=0, validation_alias=_env("SILENT_FACTOR"))
    down_factor: float = Field(4.0, gt=0, validation_alias=_env("DOWN_FACTOR"))
    dead_after_days: float = Field(7.0, gt=0, validation_alias=_env("DEAD_AFTER_DAYS"))
    min_heartbeats: int = Field(4, ge=2, validation_alias=_env("MIN_HEARTBEATS"))
    period_sample_size: int = Field(20, ge=1, validation_alias=_env("PERIOD_SAMPLE_SIZE"))
    # Gaps between heartbeats shorter than this teach nothing: a few pings by hand must
    # not teach a period of a fraction of a second (see HeartbeatRules.min_period).
    min_period_seconds: float = Field(60.0, ge=0, validation_alias=_env("MIN_PERIOD_SECONDS"))
    # SERVICE_INACTIVE_THRESHOLD_MINUTES (the replaced registry's name): when set, a
    # service with no declared and no learned period yet goes silent after this long
    # without a heartbeat (instead of staying unknown until it has sent enough heartbeats
    # to learn its period).
    inactive_threshold_minutes: float | None = Field(
        None,
        gt=0,
        validation_alias=_env("INACTIVE_THRESHOLD_MINUTES", "SERVICE_INACTIVE_THRESHOLD_MINUTES"),
    )

    # --- heartbeat ingest ------------------------------------------------------------
    auto_register: bool = Field(True, validation_alias=_env("AUTO_REGISTER"))
    # Auto-registration creates no service past this many (services created through the
    # API are not held to it): one sender inventing keys must not fill the registry.
    max_services: int = Field(10_000, ge=1, validation_alias=_env("MAX_SERVICES"))
    # The secret of heartbeat senders (X-Ping-Key header, ?ping_key=, or the path of
    # Healthchecks-style `/ping/<ping_key>/<slug>` URLs). Set: only a sender with it may
    # auto-register a new key; unset: those slug URLs answer 404.
    ping_key: str | None = Field(None, min_length=8, validation_alias=_env("PING_KEY"))
    # With a ping key set: every heartbeat route needs it, the UUID ones
    # (`/ping/<uuid>`, `/api/push/<uuid>`) included.
    require_ping_key: bool = Field(False, validation_alias=_env("REQUIRE_PING_KEY"))

    # --- self-monitoring: heartwatch's own processes report in as services -------------
    # The worker reports in to this API with the client SDK, as `heartwatch-worker`.
    self_monitor: bool = Field(True, validation_alias=_env("SELF_MONITOR"))
    # Where the API is, for the worker's own heartbeats; default: this host and port.
    url: str | None = Field(None, validation_alias=_env("URL"))
    max_heartbeat_body_bytes: int = Field(
        10 * 1024, ge=0, validation_alias=_env("MAX_HEARTBEAT_BODY_BYTES")
    )
    max_request_bytes: int = Field(1024 * 1024, ge=1024, validation_alias=_env("MAX_REQUEST_BYTES"))
    # A request's line and headers together (header_limit.py): past it, 431.
    max_header_bytes: int = Field(32 * 1024, ge=4096, validation_alias=_env("MAX_HEADER_BYTES"))

    # --- dev mode: a clock a person can move, to see timed behaviour without waiting ---
    debug_mode: bool = Field(False, validation_alias=_env("DEBUG_MODE", "DEBUG_MODE"))

    # --- notifications (used by the notifier issue; accepted now so seed .env files load)
    timezone: str = Field("UTC", validation_alias=_env("TIMEZONE", "TIMEZONE"))
    daily_summary_time: dt.time = Field(
        dt.time(9, 0), validation_alias=_env("DAILY_SUMMARY_TIME", "DAILY_SUMMARY_TIME")
    )
    telegram_bot_token: str | None = Field(
        None, validation_alias=_env("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN")
    )
    telegram_chat_id: str | None = Field(
        None, validation_alias=_env("TELEGRAM_CHAT_ID", "TELEGRAM_CHAT_ID")
    )

    # The Telegram bot (`heartwatch bot`, part of `up` when the token is set): the chats
    # that may query it (comma-separated ids or @usernames; default: TELEGRAM_CHAT_ID),
    # and its API key for HEARTWATCH_URL's API (under `up`: unset is fine, the bot gets a
    # key of the process's own).
    telegram_allowed_chat_ids: str | None = Field(
        None, validation_alias=_env("TELEGRAM_ALLOWED_CHAT_IDS", "TELEGRAM_ALLOWED_CHAT_IDS")
    )
    bot_api_key: SecretStr | None = Field(None, validation_alias=_env("BOT_API_KEY"))

    # Where the Telegram Bot API and PagerDuty's Events API are: each goes to its own
    # notifier (`notifiers.registry.builtin_notifiers`); tests point them at local fakes.
    telegram_api_url: str = Field(
        "https://api.telegram.org", validation_alias=_env("TELEGRAM_API_URL", "TELEGRAM_API_URL")
    )
    pagerduty_url: str = Field(
        "https://events.pagerduty.com", validation_alias=_env("PAGERDUTY_URL")
    )
    # The base of links in alerts (a reverse proxy's address); default: the API's URL.
    public_url: str | None = Field(None, validation_alias=_env("PUBLIC_URL"))
    notify_max_attempts: int = Field(8, ge=1, le=100, validation_alias=_env("NOTIFY_MAX_ATTEMPTS"))
    # More than FLAP_CHANGES status changes within FLAP_WINDOW_MINUTES: flapping, announced
    # once; the service's alerts are held until it has been stable for a whole window.
    flap_changes: int = Field(5, ge=2, validation_alias=_env("FLAP_CHANGES"))
    flap_window_minutes: float = Field(30.0, gt=0, validation_alias=_env("FLAP_WINDOW_MINUTES"))

    # --- access control ----------------------------------------------------------------
    # An admin credential from the environment, for deployments configured by environment
    # only (Coolify): sent like an API key, accepted without any row in the database.
    admin_key: SecretStr | None = Field(None, min_length=32, validation_alias=_env("ADMIN_KEY"))
    # With no credential at all: `auto` serves only a loopback address (open), `off`
    # serves any address open. Credentials that exist are always enforced.
    auth: AuthMode = Field(AuthMode.AUTO, validation_alias=_env("AUTH"))
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (a
    # comma-separated list of addresses or networks, or `*`), so that the failed-auth
    # limit counts the real client, not the proxy. Unset: uvicorn's default
    # (FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1).
    forwarded_allow_ips: str | None = Field(None, validation_alias=_env("FORWARDED_ALLOW_IPS"))

    @field_validator("admin_key", "bot_api_key", mode="before")
    @classmethod
    def _empty_admin_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("probe_deny_networks", "probe_allow_networks")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _required_ping_key_is_set(self) -> Settings:
        if self.require_ping_key and self.ping_key is None:
            # Otherwise an operator who asked for protection would silently get none.
            raise ValueError("HEARTWATCH_REQUIRE_PING_KEY needs HEARTWATCH_PING_KEY to be set")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator(
        "database_url",
        "telegram_bot_token",
        "telegram_chat_id",
        "telegram_allowed_chat_ids",
        "ping_key",
        "url",
        "public_url",
        "forwarded_allow_ips",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @cached_property
    def network_policy(self) -> NetworkPolicy:
        return NetworkPolicy.of(self.probe_deny_networks, self.probe_allow_networks)

    def secret_values(self) -> list[str]:
        """The credentials among the settings, for the logs to mask wherever they appear."""
        values = [self.ping_key, self.telegram_bot_token]
        for secret in (self.admin_key, self.bot_api_key):
            if secret is not None:
                values.append(secret.get_secret_value())
        if self.database_url:
            try:
                password = make_url(normalize_database_url(self.database_url)).password
            except ArgumentError:  # (the database will refuse it, saying why)
                password = None
            values.append(str(password) if password is not None else None)
        return [value for value in values if value]

    @property
    def api_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///./{self.database_name}.db"

    @cached_property
    def heartbeat_rules(self) -> HeartbeatRules:
        fallback = None
        if self.inactive_threshold_minutes is not None:
            # Silent at silent_factor x period, so this period makes "silent" land exactly
            # at the configured threshold.
            fallback = self.inactive_threshold_minutes * 60 / self.silent_factor
        return HeartbeatRules(
            silent_factor=self.silent_factor,
            down_factor=self.down_factor,
            dead_after=dt.timedelta(days=self.dead_after_days),
            min_heartbeats=self.min_heartbeats,
            sample_size=self.period_sample_size,
            fallback_period=fallback,
            min_period=self.min_period_seconds,
        )


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (`postgres://`, `sqlite:///x.db`) and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url
