"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend.

    PostgreSQL stores `timestamptz`. SQLite has no time type: values are stored as naive
    UTC text in one fixed format, so that text comparison in WHERE clauses and indexes
    orders them correctly, and get their UTC tzinfo back on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: heartwatch stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLAlchemy's SQLite DATETIME text (its default storage format), which UTCDateTime keeps.
_SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What UTCDateTime stores on SQLite for `value`: the same text as its bind processing
    (aware to naive UTC, then SQLite DATETIME's format), the same error for a naive time.
    For the hot batched writes (`statements.Prepared`), where going through both types'
    processors costs several times the formatting itself."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: heartwatch stores aware UTC times")
        value = value.astimezone(UTC)
    return _SQLITE_TEXT % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


class _NoNul(TypeDecorator[str]):
    """Text that comes from outside (ping bodies, run ids, what a probe read back).

    PostgreSQL text cannot hold a NUL character and refuses the whole statement, so one
    cron job posting a binary log would fail the transaction it shares with everybody
    else's heartbeats. NUL is stored as U+FFFD instead, on every backend alike.
    """

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace("\x00", "\ufffd") if value is not None and "\x00" in value else value


class OutsideText(_NoNul):
    impl = Text
    cache_ok = True  # (read from each class itself, not inherited)


class OutsideString(_NoNul):
    """`OutsideString(64)`: a VARCHAR(64) of outside text."""

    impl = String
    cache_ok = True


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
