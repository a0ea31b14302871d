"""The probe scheduler's statements (compiled once, plain DBAPI parameters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.types import Uuid

from heartwatch.ids import new_id
from heartwatch.store import queries
from heartwatch.store.models import CheckResult, Service
from heartwatch.store.queries import core_table
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


def test_sqlite_utc_text_refuses_a_naive_time_as_utc_datetime_does() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_utc_text(datetime(2026, 1, 5, 12, 0))


def test_prepared_params_are_each_value_through_its_own_bind_processor() -> None:
    """The batched parameter builder (all of a row's values at once, then only the values
    that need converting, times memoised per batch) gives what converting value by value
    with each column's own processor gives, in DBAPI order."""
    dialect = aiosqlite.dialect()
    statement = insert(core_table(CheckResult)).values(
        {c: bindparam(c) for c in queries.RESULT_COLUMNS}
    )
    prepared = queries._Prepared(statement, dialect)
    at = datetime(2026, 1, 5, 12, 0, 0, 250, tzinfo=UTC)
    rows = [
        {
            "id": new_id(),
            "service_id": new_id(),
            "up": up,
            "latency_ms": 1.5,
            "http_status": 200,
            "error": None if up else "status 503 not in 200-399",
            "failed_assertion": None if up else "status",
            "detail": "ok",
            "attempts": 1,
            "scheduled_at": at,
            "started_at": at + timedelta(milliseconds=i),
            "checked_at": None if i == 1 else at + timedelta(seconds=1),
        }
        for i, up in enumerate([True, False, True])
    ]
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup is not None
    expected = []
    for row in rows:
        values = []
        for name in compiled.positiontup:
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            values.append(row[name] if process is None else process(row[name]))
        expected.append(tuple(values))
    assert prepared.params(rows) == expected


def test_prepared_params_of_a_statement_with_one_parameter_or_none() -> None:
    dialect = aiosqlite.dialect()
    services = core_table(Service)
    prepared = queries._Prepared(
        select(services.c.key).where(services.c.id == bindparam("sid", type_=services.c.id.type)),
        dialect,
    )
    sid = new_id()
    assert prepared.params([{"sid": sid}]) == [(sid.hex,)]
    assert queries._Prepared(select(services.c.key), dialect).params([{}]) == [()]


def test_ids_read_back_are_parsed_once_and_equal_to_the_parsed_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialect = aiosqlite.dialect()
    processor = Uuid().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    parse = queries._result_processor(Uuid().dialect_impl(dialect), dialect, None)
    assert parse is not None
    a, b = new_id(), new_id()
    first = parse(a.hex)
    assert first == a == processor(a.hex)
    assert parse(a.hex) is first  # kept
    assert parse(None) is None
    monkeypatch.setattr(queries, "_MAX_KEPT_IDS", len(queries._kept_ids))
    assert parse(b.hex) == b  # one more than it may keep: what was kept is dropped
    assert parse(a.hex) == a and parse(a.hex) is not first
