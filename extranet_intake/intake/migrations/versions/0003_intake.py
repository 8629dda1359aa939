"""Intake: content-addressed documents, their arrivals (channel, source, sender, Authentication-Results verdict),
the IMAP folder/UID ledger and the Maildir/drop file ledger.

Revision ID: 0003_intake
Revises: 0002_mailer
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0003_intake"
down_revision: str | None = "0002_mailer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("sha256", AutoString(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", AutoString(length=20), nullable=False),
        sa.Column("media_type", AutoString(length=100), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("parse_state", AutoString(length=20), nullable=False),
        sa.Column("parsed_at", UTCDateTime(), nullable=True),
        sa.Column("parse_outcome", AutoString(length=100), nullable=True),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_index(op.f("ix_document_parse_state"), "document", ["parse_state"], unique=False)
    op.create_table(
        "file_ledger",
        sa.Column("source", AutoString(length=20), nullable=False),
        sa.Column("key", AutoString(length=500), nullable=False),
        sa.Column("state", AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", AutoString(), nullable=False),
        sa.Column("sha256", AutoString(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "key"),
    )
    op.create_table(
        "imap_folder",
        sa.Column("account", AutoString(length=320), nullable=False),
        sa.Column("folder", AutoString(length=255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "folder"),
    )
    op.create_table(
        "imap_ledger",
        sa.Column("account", AutoString(length=320), nullable=False),
        sa.Column("folder", AutoString(length=255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", AutoString(), nullable=False),
        sa.Column("sha256", AutoString(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "folder", "uidvalidity", "uid"),
    )
    op.create_table(
        "arrival",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", AutoString(length=64), nullable=False),
        sa.Column("channel", AutoString(length=10), nullable=False),
        sa.Column("source", AutoString(length=500), nullable=False),
        sa.Column("filename", AutoString(length=255), nullable=False),
        sa.Column("sender", AutoString(length=320), nullable=False),
        sa.Column("message_id", AutoString(length=998), nullable=False),
        sa.Column("subject", AutoString(length=998), nullable=False),
        sa.Column("authentication_results", AutoString(), nullable=False),
        sa.Column("auth_trusted", sa.Boolean(), nullable=False),
        sa.Column("auth_authserv_id", AutoString(length=255), nullable=False),
        sa.Column("dmarc", AutoString(length=20), nullable=False),
        sa.Column("dkim", AutoString(length=20), nullable=False),
        sa.Column("spf", AutoString(length=20), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("parent_sha256", AutoString(length=64), nullable=True),
        sa.Column("outcome", AutoString(length=100), nullable=False),
        sa.Column("detail", AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["document.sha256"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "sha256", name="uq_arrival_source_sha256"),
    )
    op.create_index(op.f("ix_arrival_parent_sha256"), "arrival", ["parent_sha256"], unique=False)
    op.create_index(op.f("ix_arrival_sender"), "arrival", ["sender"], unique=False)
    op.create_index(op.f("ix_arrival_sha256"), "arrival", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_arrival_sha256"), table_name="arrival")
    op.drop_index(op.f("ix_arrival_sender"), table_name="arrival")
    op.drop_index(op.f("ix_arrival_parent_sha256"), table_name="arrival")
    op.drop_table("arrival")
    op.drop_table("imap_ledger")
    op.drop_table("imap_folder")
    op.drop_table("file_ledger")
    op.drop_index(op.f("ix_document_parse_state"), table_name="document")
    op.drop_table("document")
