"""The auditors' questions answered right: who could see a contract, any spelling of an enterprise number,
and a reviewer's correction audited with the value as read (issue 14, points 8-10), on both databases."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.intake.cli import main
from extranet_intake.parsers.result import Method, ParsedForm
from extranet_intake.parsers.validate import validate
from extranet_intake.provisioning.models import Contract
from extranet_intake.provisioning.service import process_form
from tests.fixtures.provisioning import EN, TODAY, agr, clock, mu, prov, usr

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OWNER, OTHER, THIRD = "0644695949", "0403170701", "0812345603"


def _config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _grants(engine: sa.Engine) -> None:
    with Session(engine) as s:
        s.add(Contract(contract_number="4100101", enterprise_number=OWNER, contract_name="plan", imported_at=T0))
        s.add(Contract(contract_number="4100202", enterprise_number=OWNER, contract_name="other plan", imported_at=T0))
        for i, (org, login, scope, contracts) in enumerate(
            [
                (OWNER, "own_all", "all", []),
                (OWNER, "own_sel", "selected", ["4100101"]),
                (OWNER, "own_else", "selected", ["4100202"]),
                (OTHER, "oth_all", "all", []),
                (THIRD, "thr_all", "all", []),
            ]
        ):
            append_entry(
                s,
                actor="system",
                action=AuditAction.ACCOUNT_CREATED,
                org=org,
                login=login,
                document_sha256=None,
                reason="dossier complete",
                details={"profile": "consult", "scope": scope, "contracts": contracts},
                at=T0 + timedelta(minutes=i),
            )
        s.commit()


def test_access_to_a_contract_lists_only_its_owners_people(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, db_url)
    _grants(engine)
    code, out, _ = _cli(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-03", "--contract", "4100101", "--json")
    assert code == 0
    assert sorted(g["login"] for g in json.loads(out)) == ["own_all", "own_sel"]
    # a contract the register does not know: only the grants that name it (nobody here), said aloud
    code, out, err = _cli(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-03", "--contract", "9999999", "--json")
    assert (code, json.loads(out)) == (0, [])
    assert "contract-not-in-register" in err


@pytest.mark.parametrize("spelling", ["0644.695.949", "BE0644695949", "644695949", "BE 0644 695 949", " 0644 695 949 "])
def test_enterprise_number_in_any_common_form(
    spelling: str, capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, db_url)
    _grants(engine)
    with Session(engine) as session:
        for form in (agr(), mu(), usr()):
            process_form(session, form, prov(form), clock=clock)
        session.commit()
    code, out, _ = _cli(capsys, "audit", "log", "-c", cfg, "--org", spelling, "--json")
    assert code == 0
    assert len(json.loads(out)) >= 4
    code, out, _ = _cli(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-03", "--org", spelling, "--json")
    assert sorted(g["login"] for g in json.loads(out)) == ["own_all", "own_else", "own_sel"]
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--org", spelling, "--json")
    assert [i["form_id"] for i in json.loads(out)] == ["EAP-AGR", "EAP-MU"]
    code, out, _ = _cli(capsys, "orgs", "show", spelling, "-c", cfg, "--json")
    assert code == 0
    code, out, _ = _cli(capsys, "users", "list", "--org", spelling, "-c", cfg, "--json")
    assert (code, json.loads(out)) == (0, [])  # the dossier is not open yet: an honest empty list


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "log", "--org", "{}"),
        ("audit", "access", "--at", "2026-03-03", "--org", "{}"),
        ("audit", "export", "--format", "csv", "--out", "x.csv", "--org", "{}"),
        ("users", "list", "--org", "{}"),
        ("review", "list", "--org", "{}"),
        ("orgs", "show", "{}"),
    ],
)
@pytest.mark.parametrize("typo", ["0644695948", "064469594", "BE0644.695.9490", "ACME"])
def test_an_invalid_enterprise_number_is_a_coded_refusal(
    command: tuple[str, ...],
    typo: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'none.db'}")
    code, out, err = _cli(capsys, *(a.format(typo) for a in command), "-c", cfg)
    assert code == 2
    assert "enterprise-number-invalid" in err
    assert out == ""


def _usr_as_read(**raw: str | list[str]) -> ParsedForm:
    """A user fiche as the parsers hand it over: validated, so a refused value is not among the fields."""
    values: dict[str, object] = {
        "org_name": "Acme NV",
        "org_enterprise_number": EN,
        "action": "new",
        "user_last_name": "Janssens",
        "user_first_name": "Jan",
        "user_email": "jan.janssens@acme.be",
        "user_language": "nl",
        "user_type": "internal",
        "profile": "consult",
        "scope": "selected",
        "contract_1": "GV-100",
        "mu_name": "Marie Peeters",
        "signed_date": "20/11/2026",
        "signature": True,
        **raw,
    }
    fields, errors, warnings = validate("EAP-USR", values, today=TODAY)  # type: ignore[arg-type]
    return ParsedForm(
        form_id="EAP-USR",
        version="2026.1",
        language="nl",
        method=Method.OCR,
        fields=fields,
        errors=tuple(errors),
        warnings=tuple(warnings),
        sha256=hashlib.sha256(json.dumps(sorted(values.items()), default=str).encode()).hexdigest(),
    )


def test_a_correction_is_audited_with_the_value_as_read(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, db_url)
    form = _usr_as_read(user_email="jan.janssens@acme", signed_date="31/02/2026")
    assert form.errors
    assert "user_email" not in form.fields
    with Session(engine) as session:
        for number in ("GV-100", "GV-200"):
            session.add(Contract(contract_number=number, enterprise_number=EN, imported_at=T0))
        process_form(session, form, prov(form), clock=clock)
        session.commit()
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--json")
    (item,) = json.loads(out)
    assert _cli(capsys, "staff", "add", "an", "--role", "reviewer", "-c", cfg)[0] == 0
    code, out, err = _cli(
        capsys,
        "review",
        "approve",
        str(item["id"]),
        "--by",
        "an",
        "-c",
        cfg,
        "--set",
        "user_email=Jan.Janssens@acme.be",
        "--set",
        "signed_date=20/11/2026",
        "--set",
        "contract_2=GV-200",
        "--set",
        "user_first_name=Jan",
    )
    assert code == 0, err
    code, out, _ = _cli(capsys, "audit", "log", "-c", cfg, "--json")
    (approved,) = [e for e in json.loads(out) if e["action"] == "review_approved"]
    assert approved["details"]["corrections"] == {
        "user_email": {"read": "jan.janssens@acme", "set": "Jan.Janssens@acme.be"},
        "signed_date": {"read": "31/02/2026", "set": "2026-11-20"},
        "contracts": {"read": ["GV-100"], "set": ["GV-100", "GV-200"]},
    }
    assert "user_first_name" not in approved["details"]["corrections"]  # set to what was read: no change
