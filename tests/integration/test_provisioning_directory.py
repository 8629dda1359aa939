"""Send-time recipients: credentials never go to an address that is (now) the agreement's notification list."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.provisioning.directory import user_contact
from extranet_intake.provisioning.models import Account, AccountStatus, Organisation, Profile, Scope, UserType

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_credentials_never_reach_the_notification_address(engine: sa.Engine) -> None:
    with Session(engine) as s:
        s.add(
            Organisation(
                enterprise_number="0456789133", name="Acme", notification_email="extranet@acme.example", created_at=NOW
            )
        )
        s.flush()
        s.add(
            Account(
                login="EAPTEST0001",
                enterprise_number="0456789133",
                last_name="Peeters",
                first_name="Jan",
                email="jan@acme.example",
                email_key="jan@acme.example",
                language="nl",
                user_type=UserType.INTERNAL,
                profile=Profile.CONSULT,
                scope=Scope.ALL,
                status=AccountStatus.ACTIVE,
                source_sha256="b" * 64,
                document_sha256="b" * 64,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        s.commit()
        contact = user_contact(s, "EAPTEST0001")
        assert contact is not None
        assert contact.email == "jan@acme.example"
        # a later agreement names the user's address as its (distribution list) notification address
        org = s.get(Organisation, "0456789133")
        assert org is not None
        org.notification_email = "Jan@Acme.example"
        s.add(org)
        s.commit()
        assert user_contact(s, "EAPTEST0001") is None
