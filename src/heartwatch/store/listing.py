"""What a listing of every service reads: the shown columns as plain rows, and for each
row a fingerprint that tells whether it changed since the listing last showed it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import JSON, Row, Text, select, tuple_, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from heartwatch.store.models import Service
from heartwatch.store.tables import core_table

# What a listing shows of each service (api.schemas.ServiceOut), as plain rows: loading
# a thousand ORM objects with every column cost GET /services a third of its time
# (bench/api_latency.py), and the scheduling and rollup columns are not shown.
LISTING_COLUMNS = (
    Service.id,
    Service.key,
    Service.name,
    Service.description,
    Service.type,
    Service.status,
    Service.status_since,
    Service.last_heartbeat_at,
    Service.failed_at,
    Service.expected_period_sec,
    Service.recent_gaps,
    Service.heartbeat_count,
    Service.resume_on_ping,
    Service.schedule,
    Service.timezone,
    Service.grace_sec,
    Service.early_tolerance_sec,
    Service.max_runtime_sec,
    Service.last_start_at,
    Service.push_token,
    Service.created_at,
    Service.updated_at,
    Service.criticality,
    Service.tags,
    Service.sla_target,
    Service.endpoint,
    Service.check_interval_sec,
    Service.timeout_ms,
    Service.retry_count,
    Service.retry_backoff_ms,
    Service.failure_threshold,
    Service.success_threshold,
    Service.check_settings,
    Service.last_check_at,
    Service.last_latency_ms,
    Service.last_error,
    Service.muted_until,
)


def _unconverted(column: Any) -> Any:
    """A column as the driver returns it: no conversion to Python types (JSON as its
    text), a fraction of the cost, and values that can be compared and hashed."""
    if isinstance(column.type, JSON):
        return sql_cast(column, Text)
    return type_coerce(column, NullType())


def _fingerprint(dialect: str) -> tuple[Any, ...]:
    """What tells a listing that a service's row changed: its LISTING_COLUMNS, cheaply.
    (Core columns: a statement of ORM attributes goes through the ORM's row loading.)"""
    columns = [core_table(Service).c[c.key] for c in LISTING_COLUMNS]
    if dialect == "postgresql":
        # The row's text form quotes and escapes every field, so it is exact; one text
        # per row costs a quarter of decoding the columns (bench/api_latency.py).
        return (sql_cast(tuple_(*columns), Text).label("raw_row"),)
    return tuple(_unconverted(c).label(f"raw_{c.key}") for c in columns)


_FINGERPRINTS = {dialect: _fingerprint(dialect) for dialect in ("postgresql", "sqlite")}


async def listing_fingerprints(session: AsyncSession) -> list[tuple[str, tuple[Any, ...]]]:
    """(key, fingerprint) of every service, by key: what tells a listing which services
    changed since it last showed them."""
    key = core_table(Service).c.key
    stmt = select(key, *_FINGERPRINTS[session.get_bind().dialect.name]).order_by(key)
    return [(row[0], tuple(row[1:])) for row in (await session.execute(stmt)).all()]


async def listing_rows(
    session: AsyncSession, keys: Sequence[str] | None
) -> list[tuple[tuple[Any, ...], Row[Any]]]:
    """These services' (None: every service's, by key) LISTING_COLUMNS, converted, each
    with its fingerprint (read in the same statement: both describe one version)."""
    fingerprint = _FINGERPRINTS[session.get_bind().dialect.name]
    stmt = select(*fingerprint, *LISTING_COLUMNS)
    if keys is None:
        statements = [stmt.order_by(Service.key)]
    else:
        statements = [
            stmt.where(Service.key.in_(keys[i : i + 500])) for i in range(0, len(keys), 500)
        ]
    out: list[tuple[tuple[Any, ...], Row[Any]]] = []
    for statement in statements:
        for row in (await session.execute(statement)).all():
            out.append((tuple(row[: len(fingerprint)]), cast(Row[Any], row)))
    return out
