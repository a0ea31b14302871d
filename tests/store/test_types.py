"""The column types' own conversions: what `sqlite_utc_text` writes is what UTCDateTime
binds on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite import aiosqlite

from heartwatch.store.types import UTCDateTime, sqlite_utc_text


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC),  # no microseconds: still written
        datetime(2026, 1, 5, 1, 30, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 1, 5, 12, 0, tzinfo=ZoneInfo("UTC")),
        datetime(999, 1, 1, tzinfo=UTC),
        None,
    ],
)
def test_sqlite_utc_text_is_what_utc_datetime_binds(value: datetime | None) -> None:
    dialect = aiosqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_utc_text(value) == process(value)


@given(
    at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
def test_sqlite_time_text_is_what_sqlalchemy_writes(at: datetime) -> None:
    dialect = aiosqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)  # as a compiled statement has it
    processor = impl.bind_processor(dialect)
    assert processor is not None
    assert sqlite_utc_text(at) == processor(at)


def test_sqlite_utc_text_refuses_a_naive_time_as_utc_datetime_does() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_utc_text(datetime(2026, 1, 5, 12, 0))
