"""Provisioning: organisations, Master Users, contract register, legacy and new accounts, credentials,
dossier forms, review queue, applied plans, and the hash-chained audit log (with its append-only guards).

Revision ID: 0001_provisioning
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from extranet_intake.auditchain.chain import GENESIS_HASH, install_audit_guards

revision: str = "0001_provisioning"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# partial unique indexes: one active account per address and org, one current Master User per org
_ACTIVE: dict[str, Any] = {
    "sqlite_where": sa.text("status = 'active'"),
    "postgresql_where": sa.text("status = 'active'"),
}
_CURRENT: dict[str, Any] = {"sqlite_where": sa.text("is_current"), "postgresql_where": sa.text("is_current")}


def upgrade() -> None:
    op.create_table(
        "applied_plan",
        sa.Column("key", AutoString(length=200), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", AutoString(length=200), nullable=False),
        sa.Column("action", AutoString(length=40), nullable=False),
        sa.Column("org", AutoString(length=20), nullable=True),
        sa.Column("login", AutoString(length=64), nullable=True),
        sa.Column("document_sha256", AutoString(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", AutoString(length=64), nullable=False),
        sa.Column("hash", AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index(op.f("ix_audit_entry_action"), "audit_entry", ["action"], unique=False)
    op.create_index(op.f("ix_audit_entry_at"), "audit_entry", ["at"], unique=False)
    op.create_index(op.f("ix_audit_entry_document_sha256"), "audit_entry", ["document_sha256"], unique=False)
    op.create_index(op.f("ix_audit_entry_login"), "audit_entry", ["login"], unique=False)
    op.create_index(op.f("ix_audit_entry_org"), "audit_entry", ["org"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "contract",
        sa.Column("contract_number", AutoString(length=20), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("contract_name", AutoString(length=200), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contract_number"),
    )
    op.create_index(op.f("ix_contract_enterprise_number"), "contract", ["enterprise_number"], unique=False)
    op.create_table(
        "dossier_form",
        sa.Column("sha256", AutoString(length=64), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("form_id", AutoString(length=16), nullable=False),
        sa.Column("action", AutoString(length=16), nullable=True),
        sa.Column("channel", AutoString(length=16), nullable=False),
        sa.Column("sender", AutoString(length=254), nullable=True),
        sa.Column("authenticated", sa.Boolean(), nullable=False),
        sa.Column("message_id", AutoString(length=998), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", AutoString(length=500), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("approved_by", AutoString(length=120), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("login", AutoString(length=40), nullable=True),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_index(op.f("ix_dossier_form_enterprise_number"), "dossier_form", ["enterprise_number"], unique=False)
    op.create_table(
        "legacy_account",
        sa.Column("login", AutoString(length=40), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("last_name", AutoString(length=120), nullable=False),
        sa.Column("first_name", AutoString(length=120), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("login"),
    )
    op.create_index(op.f("ix_legacy_account_enterprise_number"), "legacy_account", ["enterprise_number"], unique=False)
    op.create_table(
        "organisation",
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("name", AutoString(length=120), nullable=False),
        sa.Column("street", AutoString(length=120), nullable=False),
        sa.Column("postcode", AutoString(length=10), nullable=False),
        sa.Column("city", AutoString(length=80), nullable=False),
        sa.Column("notification_email", AutoString(length=254), nullable=True),
        sa.Column("correspondence_language", AutoString(length=2), nullable=True),
        sa.Column("agreement_sha256", AutoString(length=64), nullable=True),
        sa.Column("agreement_approved_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_number"),
    )
    op.create_table(
        "account",
        sa.Column("login", AutoString(length=40), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("last_name", AutoString(length=120), nullable=False),
        sa.Column("first_name", AutoString(length=120), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("email_key", AutoString(length=254), nullable=False),
        sa.Column("phone", AutoString(length=30), nullable=False),
        sa.Column("language", AutoString(length=2), nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("external_company", AutoString(length=120), nullable=False),
        sa.Column("access_end_date", sa.Date(), nullable=True),
        sa.Column("profile", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_sha256", AutoString(length=64), nullable=False),
        sa.Column("document_sha256", AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("expiry_warned_for", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_number"],
            ["organisation.enterprise_number"],
        ),
        sa.PrimaryKeyConstraint("login"),
        sa.UniqueConstraint("source_sha256"),
    )
    op.create_index("ix_account_active_email", "account", ["enterprise_number", "email_key"], unique=True, **_ACTIVE)
    op.create_index(op.f("ix_account_enterprise_number"), "account", ["enterprise_number"], unique=False)
    op.create_table(
        "master_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("last_name", AutoString(length=120), nullable=False),
        sa.Column("first_name", AutoString(length=120), nullable=False),
        sa.Column("function", AutoString(length=120), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("phone", AutoString(length=30), nullable=False),
        sa.Column("language", AutoString(length=2), nullable=False),
        sa.Column("document_sha256", AutoString(length=64), nullable=False),
        sa.Column("approved_by", AutoString(length=120), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_number"],
            ["organisation.enterprise_number"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_master_user_current", "master_user", ["enterprise_number"], unique=True, **_CURRENT)
    op.create_index(op.f("ix_master_user_enterprise_number"), "master_user", ["enterprise_number"], unique=False)
    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", AutoString(length=64), nullable=False),
        sa.Column("enterprise_number", AutoString(length=10), nullable=False),
        sa.Column("form_id", AutoString(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", AutoString(length=120), nullable=True),
        sa.Column("decision_reason", AutoString(length=500), nullable=True),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_sha256"],
            ["dossier_form.sha256"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_sha256", name="uq_review_item_document"),
    )
    op.create_index(op.f("ix_review_item_enterprise_number"), "review_item", ["enterprise_number"], unique=False)
    op.create_index(op.f("ix_review_item_status"), "review_item", ["status"], unique=False)
    op.create_table(
        "account_contract",
        sa.Column("login", AutoString(length=40), nullable=False),
        sa.Column("contract_number", AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["login"],
            ["account.login"],
        ),
        sa.PrimaryKeyConstraint("login", "contract_number"),
    )
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", AutoString(length=40), nullable=False),
        sa.Column("password_hash", AutoString(length=255), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("invalidated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["login"],
            ["account.login"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credential_login"), "credential", ["login"], unique=False)
    # audit_entry is append-only in the database too; audit_head starts at the genesis hash
    install_audit_guards(op.get_bind())
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :genesis)").bindparams(genesis=GENESIS_HASH)
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_credential_login"), table_name="credential")
    op.drop_table("credential")
    op.drop_table("account_contract")
    op.drop_index(op.f("ix_review_item_status"), table_name="review_item")
    op.drop_index(op.f("ix_review_item_enterprise_number"), table_name="review_item")
    op.drop_table("review_item")
    op.drop_index(op.f("ix_master_user_enterprise_number"), table_name="master_user")
    op.drop_index("ix_master_user_current", table_name="master_user", **_CURRENT)
    op.drop_table("master_user")
    op.drop_index(op.f("ix_account_enterprise_number"), table_name="account")
    op.drop_index("ix_account_active_email", table_name="account", **_ACTIVE)
    op.drop_table("account")
    op.drop_table("organisation")
    op.drop_index(op.f("ix_legacy_account_enterprise_number"), table_name="legacy_account")
    op.drop_table("legacy_account")
    op.drop_index(op.f("ix_dossier_form_enterprise_number"), table_name="dossier_form")
    op.drop_table("dossier_form")
    op.drop_index(op.f("ix_contract_enterprise_number"), table_name="contract")
    op.drop_table("contract")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_audit_entry_org"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_login"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_document_sha256"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_at"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_action"), table_name="audit_entry")
    op.drop_table("audit_entry")
    op.drop_table("applied_plan")
