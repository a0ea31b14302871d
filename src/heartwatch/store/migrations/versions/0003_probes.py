"""probes: check config, check results, scheduler state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from heartwatch.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows (heartbeat services) get the defaults through server_default.
    op.create_table(
        "check_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_assertion", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_check_results_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_results")),
    )
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_results_service_checked", ["service_id", "checked_at"], unique=False
        )

    op.create_table(
        "scheduler_state",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("next_run_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_scheduler_state_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_scheduler_state")),
    )
    with op.batch_alter_table("scheduler_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduler_state_next_run_at"), ["next_run_at"], unique=False
        )

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("criticality", sa.String(length=16), nullable=False, server_default="medium")
        )
        batch_op.add_column(
            sa.Column(
                "tags",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.add_column(sa.Column("sla_target", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("endpoint", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("check_interval_sec", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("timeout_ms", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("retry_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("retry_backoff_ms", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("failure_threshold", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("success_threshold", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column(
                "check_settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )
        batch_op.add_column(sa.Column("streak_up", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("streak_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("streak_since", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_check_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_latency_ms", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_latency_ms")
        batch_op.drop_column("last_check_at")
        batch_op.drop_column("streak_since")
        batch_op.drop_column("streak_count")
        batch_op.drop_column("streak_up")
        batch_op.drop_column("check_settings")
        batch_op.drop_column("success_threshold")
        batch_op.drop_column("failure_threshold")
        batch_op.drop_column("retry_backoff_ms")
        batch_op.drop_column("retry_count")
        batch_op.drop_column("timeout_ms")
        batch_op.drop_column("check_interval_sec")
        batch_op.drop_column("endpoint")
        batch_op.drop_column("sla_target")
        batch_op.drop_column("tags")
        batch_op.drop_column("criticality")

    with op.batch_alter_table("scheduler_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_state_next_run_at"))

    op.drop_table("scheduler_state")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.drop_index("ix_check_results_service_checked")

    op.drop_table("check_results")
