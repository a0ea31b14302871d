"""latency days: daily sums of the hourly latency histograms

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

A 90-day latency percentile summed 2,160 hourly histograms per request (most of a probe
service's 90-day uptime answer, bench/api_latency.py); a day's sum is kept once the day
is rolled up. The worker fills in the days of existing rollups on its next run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from heartwatch.store.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "latency_days",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("day", UTCDateTime(timezone=True), nullable=False),
        sa.Column("latency_histogram", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_latency_days_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "day", name=op.f("pk_latency_days")),
    )


def downgrade() -> None:
    op.drop_table("latency_days")
