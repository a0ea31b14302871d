"""uptime rollups: a covering index for the seconds per status

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

A 90-day uptime reads one service's 2,160 hourly rows. The worker writes rollups an hour
at a time for every service, so those rows sit on as many different table pages; this
index holds the seconds per status in (service, hour) order, so the sums are read from a
few dozen index pages instead (bench/api_latency.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["service_id", "hour", "alive_s", "silent_s", "down_s", "dead_s", "unknown_s", "paused_s"]


def upgrade() -> None:
    op.create_index("ix_uptime_rollups_service_hour_seconds", "uptime_rollups", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_uptime_rollups_service_hour_seconds", table_name="uptime_rollups")
