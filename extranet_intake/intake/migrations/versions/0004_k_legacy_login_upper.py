"""Legacy accounts: an index on upper(login), the case-insensitive "ever issued?" check of login allocation.

Revision ID: 0004_k_legacy_login_upper
Revises: 0004_a_previous_email
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_k_legacy_login_upper"
down_revision: str | None = "0004_j_access_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_legacy_account_login_upper", "legacy_account", [sa.text("upper(login)")])


def downgrade() -> None:
    op.drop_index("ix_legacy_account_login_upper", table_name="legacy_account")
