"""Review desk: four-eyes approvals (review_approval) and audit-log indexes for filtered keyset paging.

Revision ID: 0004_h_review_desk
Revises: 0004_g_staff (relinked after merging w/G)
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0004_h_review_desk"
down_revision: str | None = "0004_f_form_filename"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (column, seq) pairs: a filter on one column, newest first, reads only the page it shows
AUDIT_PAGING_INDEXES = ("org", "login", "action", "actor")


def upgrade() -> None:
    op.create_table(
        "review_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("approver", AutoString(length=120), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.Column("values_sha256", AutoString(length=64), nullable=False),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("reason", AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_item_id", "approver", "values_sha256", name="uq_review_approval_person"),
    )
    op.create_index(op.f("ix_review_approval_review_item_id"), "review_approval", ["review_item_id"], unique=False)
    for column in AUDIT_PAGING_INDEXES:
        op.create_index(f"ix_audit_entry_{column}_seq", "audit_entry", [column, "seq"], unique=False)
    # an organisation's entries of one kind, the auditors' most common pair of filters
    op.create_index("ix_audit_entry_org_action_seq", "audit_entry", ["org", "action", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entry_org_action_seq", table_name="audit_entry")
    for column in AUDIT_PAGING_INDEXES:
        op.drop_index(f"ix_audit_entry_{column}_seq", table_name="audit_entry")
    op.drop_index(op.f("ix_review_approval_review_item_id"), table_name="review_approval")
    op.drop_table("review_approval")
