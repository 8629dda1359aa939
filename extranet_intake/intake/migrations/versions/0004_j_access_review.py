"""The yearly access review: campaigns and each organisation's part of one (issue 18.2).

Revision ID: 0004_j_access_review
Revises: 0004_a_previous_email
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0004_j_access_review"
# the coordinator relinks the chain when merging (briefs say 0003_intake; this branch already has 0004_a)
down_revision: str | None = "0004_i_signatures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", AutoString(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("only_org", AutoString(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "review_org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("state", AutoString(length=20), nullable=False),
        sa.Column("code", AutoString(length=20), nullable=False),
        sa.Column("mu_email", AutoString(length=254), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("logins", sa.JSON(), nullable=False),
        sa.Column("reminded", sa.JSON(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("answer_message_id", AutoString(length=998), nullable=False),
        sa.Column("overdue_at", UTCDateTime(), nullable=True),
        sa.Column("suspended", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["review_campaign.id"]),
        sa.ForeignKeyConstraint(["enterprise_number"], ["organisation.enterprise_number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "enterprise_number", name="uq_review_org"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_review_org_campaign_id"), "review_org", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_review_org_enterprise_number"), "review_org", ["enterprise_number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_org_enterprise_number"), table_name="review_org")
    op.drop_index(op.f("ix_review_org_campaign_id"), table_name="review_org")
    op.drop_table("review_org")
    op.drop_table("review_campaign")
