"""Dossier forms keep the file name they arrived under, so mails about a fiche can name it.

Revision ID: 0004_f_form_filename
Revises: 0003_intake
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0004_f_form_filename"
down_revision: str | None = "0004_g_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_form") as batch:
        batch.add_column(sa.Column("filename", AutoString(length=255), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("dossier_form") as batch:
        batch.drop_column("filename")
