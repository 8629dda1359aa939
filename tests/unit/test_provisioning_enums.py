"""The provisioning enums name exactly the machine values the one form definition offers."""

from __future__ import annotations

from extranet_intake.parsers.forms import FORMS, FormId
from extranet_intake.provisioning.models import Profile, Scope, UserType


def test_account_enums_are_the_user_fiche_choices() -> None:
    usr = FORMS[FormId.USR]
    assert {p.value for p in Profile} == set(usr.field("profile").values)
    assert {s.value for s in Scope} == set(usr.field("scope").values)
    assert {u.value for u in UserType} == set(usr.field("user_type").values)
