"""push token: a service's own Uptime Kuma push token

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02

A service moved from Uptime Kuma keeps its push URL (`/api/push/<token>`): the token is
stored with it, unique, and looked up when a push's token is not a service id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_token", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_services_push_token"), ["push_token"])


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_services_push_token"), type_="unique")
        batch_op.drop_column("push_token")
