"""resume on ping: whether a ping to a paused service resumes it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A paused service resumes on its next success or fail ping (as Healthchecks does), unless
it is set to stay paused. Existing services resume too: the default is true.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resume_on_ping", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("resume_on_ping")
