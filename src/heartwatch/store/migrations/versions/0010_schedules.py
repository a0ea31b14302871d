"""schedules: cron heartbeat services in a time zone, and maintenance windows

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

A heartbeat service may carry a cron schedule instead of a period: the expression, its
IANA zone, a grace and an early tolerance, and a maximum run time. All NULL for the
services there are: they keep their period. Maintenance windows hold alerts
(`maintenance_held_at` marks a service whose alert a window held).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from heartwatch.store.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("grace_sec", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("early_tolerance_sec", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("max_runtime_sec", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("maintenance_held_at", UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("tag", sa.String(length=50), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("schedule", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("duration_sec", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_windows")
    with op.batch_alter_table("services", schema=None) as batch_op:
        for column in (
            "maintenance_held_at",
            "max_runtime_sec",
            "early_tolerance_sec",
            "grace_sec",
            "timezone",
        ):
            batch_op.drop_column(column)
        batch_op.drop_column("schedule")
