"""Dossier form: the verdict on each digital signature of the document (issue 18.1).

Revision ID: 0004_i_signatures
Revises: 0004_a_previous_email
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_i_signatures"
# after the merged 0004_a (one head); the coordinator relinks the chain when merging
down_revision: str | None = "0004_h_review_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_form") as batch:
        batch.add_column(sa.Column("signatures", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("dossier_form") as batch:
        batch.drop_column("signatures")
