"""Account: the address before its last approved address change (recipient of the old-address notice).

Revision ID: 0004_a_previous_email
Revises: 0003_intake
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0004_a_previous_email"
down_revision: str | None = "0003_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("previous_email", AutoString(length=254), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("previous_email")
