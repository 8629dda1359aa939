"""One test per rule of docs/rules.md (trust, dossier, provisioning), on the pure rules: literal state + form → Plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from extranet_intake.auditchain.chain import AuditAction
from extranet_intake.parsers.result import Channel, Issue, ParsedForm
from extranet_intake.provisioning.models import AccountStatus, FormStatus, Profile, Scope
from extranet_intake.provisioning.plan import (
    AccountSnapshot,
    CreateAccount,
    DossierState,
    EndAccount,
    FormSnapshot,
    MailEvent,
    MailKind,
    MarkExpiryWarned,
    MasterUserSnapshot,
    ModifyAccount,
    OpenOrganisation,
    Plan,
    PlanOutcome,
    QueueReview,
    RevokeLegacy,
    SetAgreement,
    SetMasterUser,
)
from extranet_intake.provisioning.rules import plan, plan_expiries
from tests.fixtures.provisioning import EN, MU_EMAIL, NOTIFY, TODAY, agr, end_in, mu, prov, usr

MU = MasterUserSnapshot(email=MU_EMAIL, name="Marie Peeters", language="nl")


def account(login: str = "EAP00000001", email: str = "jan.janssens@acme.be", **over: object) -> AccountSnapshot:
    base = AccountSnapshot(
        login=login,
        email=email,
        status=AccountStatus.ACTIVE,
        last_name="Janssens",
        first_name="Jan",
        profile=Profile.CONSULT,
        scope=Scope.ALL,
        contracts=(),
        access_end_date=None,
        source_sha256="f" * 64,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def open_state(**over: object) -> DossierState:
    base = DossierState(
        enterprise_number=EN,
        org_name="Acme NV",
        is_open=True,
        notification_email=NOTIFY,
        correspondence_language="nl",
        has_agreement=True,
        master_user=MU,
        contracts=frozenset({"GV-100", "GV-200"}),
    )
    return replace(base, **over)  # type: ignore[arg-type]


def pending_state(**over: object) -> DossierState:
    return replace(open_state(is_open=False, has_agreement=False, master_user=None, notification_email=None), **over)  # type: ignore[arg-type]


def run(state: DossierState, form: ParsedForm, *, approved_by: str | None = None, **p: object) -> Plan:
    return plan(state, form, prov(form, **p), today=TODAY, approved_by=approved_by)  # type: ignore[arg-type]


def ops_of(p: Plan, kind: type) -> list[object]:
    return [op for op in p.ops if isinstance(op, kind)]


def waiting(form: ParsedForm, *, sender: str = MU_EMAIL, approved_by: str | None = None) -> FormSnapshot:
    return FormSnapshot(
        sha256=form.sha256 or "",
        form_id=form.form_id or "",
        status=FormStatus.WAITING,
        fields=dict(form.fields),
        provenance=prov(form, sender=sender),
        approved_by=approved_by,
    )


# --- Trust --------------------------------------------------------------------------------------


def test_agreement_and_master_user_always_pass_human_approval() -> None:
    for form in (agr(), mu()):
        p = run(open_state(), form)  # even mailed, authenticated, from the Master User
        assert p.outcome is PlanOutcome.REVIEW
        assert "human-approval-required" in p.reasons
        assert ops_of(p, QueueReview)
        assert not ops_of(p, SetAgreement)
        assert not ops_of(p, SetMasterUser)
    approved = run(open_state(), mu(email="new.mu@acme.be"), approved_by="An Reviewer")
    assert ops_of(approved, SetMasterUser)


def test_user_fiche_applies_only_from_current_master_user_with_dmarc_pass() -> None:
    form = usr()
    assert run(open_state(), form).outcome is PlanOutcome.APPLIED
    cases: dict[str, dict[str, Any]] = {
        "not-mailed-by-master-user": {"channel": Channel.POST},
        "sender-not-authenticated": {"authenticated": False},
        "sender-not-master-user": {"sender": "someone.else@acme.be"},
    }
    for reason, kwargs in cases.items():
        p = run(open_state(), form, **kwargs)
        assert p.outcome is PlanOutcome.REVIEW, reason
        assert p.reasons == (reason,)
        assert not ops_of(p, CreateAccount)


def test_user_fiche_from_pending_master_user_counts_once_that_fiche_is_approved() -> None:
    mu_form, user = mu(email="new.mu@acme.be"), usr()
    state = pending_state(has_agreement=True, notification_email=NOTIFY, pending_mu_email="new.mu@acme.be")
    p = run(state, user, sender="new.mu@acme.be")
    assert p.outcome is PlanOutcome.WAITING  # not to review: it counts once the EAP-MU is approved
    # before any EAP-MU arrived, an authenticated fiche waits too (checked once a Master User is approved)
    assert run(pending_state(has_agreement=True), user, sender="new.mu@acme.be").outcome is PlanOutcome.WAITING
    assert run(pending_state(), user, sender="new.mu@acme.be", authenticated=False).outcome is PlanOutcome.REVIEW
    # the EAP-MU is approved → the fiche counts, the dossier opens
    after = replace(state, waiting=(waiting(user, sender="new.mu@acme.be"),))
    opened = run(after, mu_form, approved_by="An Reviewer")
    assert ops_of(opened, OpenOrganisation)
    assert len(ops_of(opened, CreateAccount)) == 1
    # …but if the approved Master User has another address, the fiche goes to review instead
    other = run(after, mu(email="other.mu@acme.be"), approved_by="An Reviewer")
    assert not ops_of(other, OpenOrganisation)
    assert [q.sha256 for q in ops_of(other, QueueReview)] == [user.sha256]  # type: ignore[attr-defined]


def test_every_applied_change_is_confirmed_to_master_user() -> None:
    st = open_state(accounts=(account(),))
    plans = [
        run(open_state(), usr(email="new.person@acme.be")),
        run(st, usr(action="modify", login="EAP00000001", profile="consult_input")),
        run(st, usr(action="revoke", login="EAP00000001")),
        plan_expiries(open_state(accounts=(account(access_end_date=TODAY - timedelta(days=1)),)), today=TODAY),
    ]
    for p in plans:
        notices = [m for m in p.mails if m.kind is MailKind.MASTER_USER_NOTICE]
        assert [m.event for m in notices] == [MailEvent.CHANGES_APPLIED], p.key
        assert all(m.login is None and "password" not in str(m.params) for m in notices)


# --- Dossier and provisioning ------------------------------------------------------------------


def test_access_opens_when_agreement_master_user_and_user_fiche_present() -> None:
    user = usr()
    # the user fiche arrives last
    p = run(pending_state(has_agreement=True, notification_email=NOTIFY, master_user=MU), user)
    assert ops_of(p, OpenOrganisation)
    assert ops_of(p, CreateAccount)
    # the agreement arrives last
    st = pending_state(master_user=MU, waiting=(waiting(user),))
    p = run(st, agr(), approved_by="An Reviewer")
    assert ops_of(p, OpenOrganisation)
    assert ops_of(p, CreateAccount)
    # the Master User arrives last
    st = pending_state(has_agreement=True, notification_email=NOTIFY, waiting=(waiting(user),))
    p = run(st, mu(), approved_by="An Reviewer")
    assert ops_of(p, OpenOrganisation)
    assert ops_of(p, CreateAccount)


def test_forms_wait_in_dossier_until_complete() -> None:
    p = run(pending_state(master_user=MU), usr())  # no agreement yet
    assert p.outcome is PlanOutcome.WAITING
    assert p.reasons == ("dossier-incomplete",)
    assert not ops_of(p, CreateAccount)
    assert not ops_of(p, OpenOrganisation)
    p = run(pending_state(master_user=MU), agr(), approved_by="An Reviewer")  # no user fiche yet
    assert p.outcome is PlanOutcome.APPLIED
    assert not ops_of(p, OpenOrganisation)


def test_opening_revokes_legacy_and_tells_notification_address_without_credentials() -> None:
    st = pending_state(
        has_agreement=True, notification_email=NOTIFY, master_user=MU, legacy_logins=("acme01", "acme02")
    )
    p = run(st, usr())
    assert [op.login for op in ops_of(p, RevokeLegacy)] == ["acme01", "acme02"]  # type: ignore[attr-defined]
    org = [m for m in p.mails if m.kind is MailKind.ORG_NOTICE]
    assert [m.event for m in org] == [MailEvent.ACCESS_OPENED]
    assert "login" not in org[0].params
    assert org[0].login is None
    creds = [m for m in p.mails if m.kind is MailKind.CREDENTIALS]
    assert len(creds) == 1
    assert creds[0].login == f"new:{ops_of(p, CreateAccount)[0].sha256}"  # type: ignore[attr-defined]
    assert {a.action for a in p.audit} >= {
        AuditAction.DOSSIER_OPENED,
        AuditAction.LEGACY_REVOKED,
        AuditAction.ACCOUNT_CREATED,
    }


def test_modify_replaces_profile_scope_contracts_email_end_date_as_a_whole() -> None:
    st = open_state(accounts=(account(profile=Profile.CONSULT_INPUT, scope=Scope.SELECTED, contracts=("GV-100",)),))
    p = run(
        st,
        usr(
            action="modify",
            login="EAP00000001",
            email="jan.new@acme.be",
            profile="consult",
            scope="selected",
            contracts=["GV-200"],
            access_end_date=end_in(90),
        ),
        approved_by="An Reviewer",
    )
    (mod,) = ops_of(p, ModifyAccount)
    data = mod.data  # type: ignore[attr-defined]
    assert (data.email, data.profile, data.scope, data.contracts) == (
        "jan.new@acme.be",
        "consult",
        "selected",
        ("GV-200",),
    )
    assert data.access_end_date == date.fromisoformat(end_in(90))
    entry = next(a for a in p.audit if a.action is AuditAction.ACCOUNT_MODIFIED)
    assert entry.details == {"profile": "consult", "scope": "selected", "contracts": ["GV-200"], "email_changed": True}


def test_an_approved_new_address_gets_credentials_whether_or_not_the_user_logged_in() -> None:
    fiche = usr(action="modify", login="EAP00000001", email="jan.right@acme.be")
    never = run(open_state(accounts=(account(email="jan.typo@acme.be"),)), fiche, approved_by="An Reviewer")
    assert ops_of(never, ModifyAccount)[0].email_changed  # type: ignore[attr-defined]
    (creds,) = [m for m in never.mails if m.kind is MailKind.CREDENTIALS]
    assert (creds.login, creds.event, creds.idempotency_key) == (
        "EAP00000001",
        MailEvent.CREDENTIALS_REISSUED,
        f"credentials:{fiche.sha256}",
    )
    active = run(
        open_state(accounts=(account(email="jan.typo@acme.be", activated=True),)), fiche, approved_by="An Reviewer"
    )
    assert ops_of(active, ModifyAccount)[0].email_changed  # type: ignore[attr-defined]
    (creds,) = [m for m in active.mails if m.kind is MailKind.CREDENTIALS]  # the new address, approved by a person
    assert creds.event is MailEvent.CREDENTIALS_REISSUED
    same = run(open_state(accounts=(account(email="Jan.Right@acme.be"),)), fiche)  # only the case differs
    assert not ops_of(same, ModifyAccount)[0].email_changed  # type: ignore[attr-defined]
    assert not [m for m in same.mails if m.kind is MailKind.CREDENTIALS]


def test_modify_requires_complete_fiche() -> None:
    st = open_state(accounts=(account(),))
    p = run(st, usr(action="modify", login="EAP00000001", email=""))
    assert p.outcome is PlanOutcome.REJECTED
    assert "user-email-missing" in p.reasons


def test_modify_or_revoke_find_user_by_login_else_email_none_or_several_to_review() -> None:
    st = open_state(accounts=(account(), account(login="EAP00000002", email="piet@acme.be")))
    by_email = run(st, usr(action="revoke", email="piet@acme.be"))
    assert [op.login for op in ops_of(by_email, EndAccount)] == ["EAP00000002"]  # type: ignore[attr-defined]
    assert run(st, usr(action="revoke", login="EAP99999999")).reasons == ("user-not-found",)
    twice = open_state(accounts=(account(), account(login="EAP00000002")))
    assert run(twice, usr(action="revoke")).reasons == ("user-ambiguous",)


def test_revoke_disables_account_at_once() -> None:
    p = run(open_state(accounts=(account(),)), usr(action="revoke", login="EAP00000001"))
    (end,) = ops_of(p, EndAccount)
    assert end.status is AccountStatus.REVOKED  # type: ignore[attr-defined]
    assert p.outcome is PlanOutcome.APPLIED


def test_account_past_end_date_is_revoked_by_daily_run() -> None:
    st = open_state(
        accounts=(
            account(access_end_date=TODAY - timedelta(days=1)),
            account(login="EAP00000002", email="b@acme.be", access_end_date=TODAY),
        )
    )
    p = plan_expiries(st, today=TODAY)
    assert [(op.login, op.status) for op in ops_of(p, EndAccount)] == [  # type: ignore[attr-defined]
        ("EAP00000001", AccountStatus.EXPIRED)
    ]
    assert [a.details for a in p.audit if a.action is AuditAction.ACCOUNT_EXPIRED] == [
        {"profile": "consult", "scope": "all", "contracts": []}
    ]


def test_master_user_warned_14_days_before_expiry() -> None:
    st = open_state(
        accounts=(
            account(access_end_date=TODAY + timedelta(days=14)),
            account(login="EAP00000002", email="b@acme.be", access_end_date=TODAY + timedelta(15)),
        )
    )
    p = plan_expiries(st, today=TODAY)
    assert [op.login for op in ops_of(p, MarkExpiryWarned)] == ["EAP00000001"]  # type: ignore[attr-defined]
    (notice,) = p.mails
    assert (notice.kind, notice.event) == (MailKind.MASTER_USER_NOTICE, MailEvent.EXPIRY_COMING)
    assert [a["login"] for a in notice.params["accounts"]] == ["EAP00000001"]
    # warned once: the next day's run does not warn again for the same end date
    warned = open_state(
        accounts=(account(access_end_date=TODAY + timedelta(days=14), expiry_warned_for=TODAY + timedelta(days=14)),)
    )
    assert plan_expiries(warned, today=TODAY + timedelta(days=1)).outcome is PlanOutcome.NOTHING


def test_new_master_user_replaces_master_user() -> None:
    p = run(open_state(), mu(email="new.mu@acme.be", mu_first_name="Els"), approved_by="An Reviewer")
    (op,) = ops_of(p, SetMasterUser)
    assert op.data.email == "new.mu@acme.be"  # type: ignore[attr-defined]
    assert op.data.first_name == "Els"  # type: ignore[attr-defined]
    assert [m.event for m in p.mails] == [MailEvent.CHANGES_APPLIED]  # confirmed to the new Master User
    assert AuditAction.MASTER_USER_REPLACED in {a.action for a in p.audit}


def test_new_agreement_replaces_agreement_data() -> None:
    p = run(open_state(), agr(notification_email="new-list@acme.be", org_city="Gent"), approved_by="An Reviewer")
    (op,) = ops_of(p, SetAgreement)
    assert op.data.notification_email == "new-list@acme.be"  # type: ignore[attr-defined]
    assert op.data.city == "Gent"  # type: ignore[attr-defined]
    assert AuditAction.AGREEMENT_REPLACED in {a.action for a in p.audit}


def test_one_person_one_account() -> None:
    st = open_state(accounts=(account(email="Jan.Janssens@acme.be"),))
    p = run(st, usr(email="jan.janssens@ACME.be"))
    assert p.outcome is PlanOutcome.REJECTED
    assert p.reasons == ("user-email-in-use",)
    assert not ops_of(p, CreateAccount)
    # a revoked account's address may be used again
    revoked = open_state(accounts=(account(status=AccountStatus.REVOKED),))
    assert run(revoked, usr()).outcome is PlanOutcome.APPLIED
    # two waiting fiches for the same person: only one account on opening
    a, b = usr(), usr(user_phone="+3232111111")
    st2 = pending_state(has_agreement=True, notification_email=NOTIFY, master_user=MU, waiting=(waiting(a),))
    assert len(ops_of(run(st2, b), CreateAccount)) == 1


def test_notification_address_never_a_user_address() -> None:
    p = run(open_state(), usr(email=NOTIFY.upper()))
    assert p.outcome is PlanOutcome.REJECTED
    assert p.reasons == ("user-email-is-notification-address",)
    (notice,) = p.mails
    assert (notice.kind, notice.event) == (MailKind.MASTER_USER_NOTICE, MailEvent.FORM_REJECTED)
    assert notice.params["reasons"] == ["user-email-is-notification-address"]


def test_contracts_only_of_own_organisation() -> None:
    ok = run(open_state(), usr(scope="selected", contracts=["GV-100"]))
    assert ok.outcome is PlanOutcome.APPLIED
    p = run(open_state(), usr(scope="selected", contracts=["GV-100", "OTHER-ORG-1"]))
    assert p.outcome is PlanOutcome.REJECTED
    assert p.reasons == ("contract-not-in-register",)


def test_other_platforms_refused() -> None:
    for form_id in ("ECON-USR", "EWP-AGR"):
        form = replace(usr(), form_id=form_id)
        p = run(open_state(), form)
        assert p.outcome is PlanOutcome.REJECTED
        assert p.reasons == ("other-platform",)
        assert not ops_of(p, CreateAccount)
        assert not ops_of(p, QueueReview)
    rejected = ParsedForm.reject("foreign-platform", "Ethias Connect form", form_id="ECON-USR", sha256="a" * 64)
    assert run(open_state(), rejected).outcome is PlanOutcome.REJECTED


def test_a_page_of_a_stack_holding_no_form_goes_to_a_person_never_dropped() -> None:
    """Issue 13.1: a blank or unknown page cut from a stack is reviewed, not rejected in silence."""
    for code in ("stack-blank-page", "stack-page-without-form"):
        page = ParsedForm.reject(code, "page 3 of a stack holds no form", sha256="c" * 64)
        p = run(pending_state(enterprise_number=""), page)
        assert p.outcome is PlanOutcome.REVIEW
        assert code in p.reasons
        assert [op.reasons for op in ops_of(p, QueueReview)] == [p.reasons]  # type: ignore[attr-defined]
        assert run(pending_state(enterprise_number=""), page, approved_by="Reviewer").outcome is PlanOutcome.REJECTED
    other = ParsedForm.reject("not-a-form", "not a form", sha256="d" * 64)
    assert run(open_state(), other).outcome is PlanOutcome.REJECTED


def test_same_document_twice_processed_once() -> None:
    form = usr()
    p = run(open_state(seen=frozenset({form.sha256 or ""})), form)
    assert p.outcome is PlanOutcome.DUPLICATE
    assert p.ops == ()
    assert p.audit == ()
    assert p.mails == ()


def test_low_confidence_scan_goes_to_review_with_prefilled_values() -> None:
    form = usr(warnings=("ocr-low-confidence",))
    p = run(open_state(), form)
    assert p.outcome is PlanOutcome.REVIEW
    assert "ocr-low-confidence" in p.reasons
    (queued,) = ops_of(p, QueueReview)
    assert queued.fields["user_email"] == "jan.janssens@acme.be"  # type: ignore[attr-defined]


def test_invalid_form_goes_to_review_with_its_error_codes() -> None:
    form = replace(usr(), errors=(Issue("enterprise-number-checksum", "bad", "org_enterprise_number"),))
    p = run(open_state(), form)
    assert p.outcome is PlanOutcome.REVIEW
    assert p.reasons == ("enterprise-number-checksum",)


def test_external_user_needs_future_end_date() -> None:
    p = run(open_state(), usr(user_type="external", external_company="Consult BV"))
    assert p.outcome is PlanOutcome.REJECTED
    assert "access-end-date-missing" in p.reasons
    past = run(open_state(), usr(access_end_date=TODAY.isoformat()))
    assert "access-end-date-past" in past.reasons


def test_expiry_plans_of_one_day_are_keyed_by_their_work() -> None:
    soon = plan_expiries(open_state(accounts=(account(access_end_date=TODAY + timedelta(days=3)),)), today=TODAY)
    past = plan_expiries(open_state(accounts=(account(access_end_date=TODAY - timedelta(days=1)),)), today=TODAY)
    assert soon.outcome is past.outcome is PlanOutcome.APPLIED
    # a second run the same day with other work is a plan of its own, not a no-op under the first one's key
    assert soon.key != past.key
    assert {m.idempotency_key for m in soon.mails}.isdisjoint(m.idempotency_key for m in past.mails)


def test_a_pdf_with_active_content_goes_to_review_with_its_reason_in_words() -> None:
    # issue 13.6: even from the current Master User with a DMARC pass, nothing such a PDF says applies
    # by itself; the reason is the warning's code, and the audit entry carries its words
    for code in (
        "pdf-javascript-ignored",
        "pdf-launch-action-ignored",
        "pdf-embedded-files-ignored",
        "pdf-xfa-ignored",
    ):
        form = replace(usr(), warnings=(Issue(code, f"the PDF carries {code}; it was not run"),))
        p = run(open_state(), form)
        assert p.outcome is PlanOutcome.REVIEW, code
        assert p.reasons == (code,)
        assert ops_of(p, CreateAccount) == []
        (entry,) = [a for a in p.audit if a.action is AuditAction.REVIEW_QUEUED]
        assert entry.details["warnings"] == [
            {"code": code, "field": None, "message": f"the PDF carries {code}; it was not run"}
        ]
        approved = run(open_state(), form, approved_by="An Reviewer")
        assert approved.outcome is PlanOutcome.APPLIED
    # an agreement with active content names it beside the human approval it always needs
    p = run(pending_state(), replace(agr(), warnings=(Issue("pdf-xfa-ignored", "XFA"),)))
    assert p.reasons == ("pdf-xfa-ignored", "human-approval-required")


def test_an_address_change_goes_to_review_even_from_the_master_user() -> None:
    # issue 13.5: changing where credentials go is the account-takeover path; a person looks first
    fiche = usr(action="modify", login="EAP00000001", email="jan.elsewhere@acme.be")
    st = open_state(accounts=(account(email="jan.janssens@acme.be"),))
    p = run(st, fiche)
    assert p.outcome is PlanOutcome.REVIEW
    assert p.reasons == ("email-change-needs-review",)
    assert ops_of(p, ModifyAccount) == []
    assert p.mails == ()
    # the same fiche without an address change applies by itself, as before
    same = run(st, usr(action="modify", login="EAP00000001", email="Jan.Janssens@acme.be", profile="consult"))
    assert same.outcome is PlanOutcome.APPLIED


def test_an_approved_address_change_tells_the_old_address_without_credentials() -> None:
    fiche = usr(action="modify", login="EAP00000001", email="jan.elsewhere@acme.be")
    p = run(open_state(accounts=(account(email="jan.janssens@acme.be"),)), fiche, approved_by="An Reviewer")
    assert p.outcome is PlanOutcome.APPLIED
    (old,) = [m for m in p.mails if m.kind is MailKind.OLD_ADDRESS_NOTICE]
    assert (old.event, old.login, old.ref) == (MailEvent.EMAIL_CHANGED, "EAP00000001", "EAP00000001")
    assert old.params == {"login": "EAP00000001", "org_name": "Acme NV", "enterprise_number": old.enterprise_number}
    # no secret, not the new address
    (creds,) = [m for m in p.mails if m.kind is MailKind.CREDENTIALS]
    assert creds.event is MailEvent.CREDENTIALS_REISSUED
    assert old.idempotency_key != creds.idempotency_key
