"""The reference, review and view commands as the team runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.intake.cli import main
from extranet_intake.provisioning.service import process_form
from tests.fixtures.provisioning import EN, agr, clock, mu, prov, usr

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _receive(engine: sa.Engine, *forms: object, **p: object) -> None:
    with Session(engine) as session:
        for form in forms:
            process_form(session, form, prov(form, **p), clock=clock)  # type: ignore[arg-type]
        session.commit()


def test_reference_imports_report_bad_rows_and_are_idempotent(
    capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    cfg = str(_config(tmp_path, db_url))
    code, out, _ = _cli(capsys, "contracts", "import", str(SAMPLES / "contracts.xlsx"), "-c", cfg, "--json")
    assert code == 0
    first = json.loads(out)
    assert first["added"] > 0
    assert first["errors"] == []
    code, out, _ = _cli(capsys, "contracts", "import", str(SAMPLES / "contracts.xlsx"), "-c", cfg, "--json")
    assert (code, json.loads(out)["unchanged"], json.loads(out)["added"]) == (0, first["added"], 0)
    code, out, _ = _cli(capsys, "legacy", "import", str(SAMPLES / "legacy_accounts.xlsx"), "-c", cfg, "--json")
    assert code == 0
    assert json.loads(out)["added"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "enterprise_number,contract_number,contract_name\n0644695949,GV-1,ok\n123,GV-2,bad\n", encoding="utf-8"
    )
    code, out, _ = _cli(capsys, "contracts", "import", str(bad), "-c", cfg)
    assert code == 1  # finished with failures: the good row is loaded, the bad one named by its row
    assert "1 added" in out
    assert "enterprise-number-invalid" in out
    code, _, err = _cli(capsys, "contracts", "import", str(tmp_path / "missing.csv"), "-c", cfg)
    assert code == 1
    assert "import-file-missing" in err


def test_review_and_views_commands(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = str(_config(tmp_path, db_url))
    _receive(engine, agr(), mu(), usr())
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--json")
    items = json.loads(out)
    assert code == 0
    assert [i["form_id"] for i in items] == ["EAP-AGR", "EAP-MU"]
    code, out, _ = _cli(capsys, "orgs", "show", EN, "-c", cfg, "--json")
    assert json.loads(out)["missing"] == ["approved EAP-AGR (in review)", "approved EAP-MU (in review)"]
    code, out, _ = _cli(capsys, "review", "show", str(items[0]["id"]), "-c", cfg, "--json")
    assert json.loads(out)["fields"]["notification_email"] == "extranet@acme.be"
    code, _, err = _cli(capsys, "review", "approve", str(items[0]["id"]), "-c", cfg)
    assert code == 2  # --by is required
    assert _cli(capsys, "staff", "add", "an", "--role", "reviewer", "-c", cfg)[0] == 0
    assert _cli(capsys, "staff", "add", "bert", "--role", "reviewer", "-c", cfg)[0] == 0
    code, _, err = _cli(
        capsys,
        "review",
        "approve",
        str(items[0]["id"]),
        "--by",
        "an",
        "--set",
        "notification_email=not-an-address",
        "-c",
        cfg,
    )
    assert code == 1
    assert "review-correction-invalid" in err
    code, out, _ = _cli(
        capsys, "review", "approve", str(items[0]["id"]), "--by", "an", "--set", "org_city=Gent", "-c", cfg
    )
    assert code == 0
    assert "1 of 2 approvals" in out  # four eyes on the agreement by default
    code, _, err = _cli(capsys, "review", "approve", str(items[0]["id"]), "--by", "an", "-c", cfg)
    assert code == 1
    assert "review-same-approver" in err
    code, out, _ = _cli(capsys, "review", "approve", str(items[0]["id"]), "--by", "bert", "-c", cfg)
    assert code == 0
    assert "applied" in out
    code, out, _ = _cli(
        capsys, "review", "approve", str(items[1]["id"]), "--by", "an", "--reason", "ok", "-c", cfg, "--json"
    )
    assert json.loads(out)["outcome"] == "pending"
    code, out, _ = _cli(
        capsys, "review", "approve", str(items[1]["id"]), "--by", "bert", "--reason", "ok", "-c", cfg, "--json"
    )
    assert json.loads(out)["outcome"] == "applied"

    code, out, _ = _cli(capsys, "orgs", "list", "-c", cfg, "--json")
    (org,) = json.loads(out)
    assert (org["status"], org["active_accounts"], org["missing"]) == ("open", 1, [])
    code, out, _ = _cli(capsys, "users", "list", "--org", EN, "-c", cfg, "--json")
    (user,) = json.loads(out)
    assert user["email"] == "jan.janssens@acme.be"
    code, out, _ = _cli(capsys, "users", "show", user["login"], "-c", cfg, "--json")
    assert json.loads(out)["login"] == user["login"]
    assert "hash" not in out

    _receive(engine, usr(email="someone@acme.be"), sender="stranger@elsewhere.example")
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--json")
    (item,) = json.loads(out)
    assert item["reasons"] == ["sender-not-master-user"]  # --json keeps the code and adds the words
    assert item["reason_texts"][0]["title"] == "Not sent by the Master User"
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg)
    assert "Not sent by" in out  # the table wraps the title
    assert "sender-not-master-user" not in out
    code, _, err = _cli(
        capsys, "review", "reject", str(item["id"]), "--by", "an", "--reason", "unknown sender", "-c", cfg
    )
    assert code == 1
    assert "review-reason-unknown" in err
    code, out, _ = _cli(capsys, "review", "reasons")
    assert "signature-missing" in out
    assert "imap-login-failed" not in out
    code, out, _ = _cli(
        capsys,
        "review",
        "reject",
        str(item["id"]),
        "--by",
        "an",
        "--reason",
        "sender-not-master-user",
        "--note-nl",
        "Onbekende afzender.",
        "-c",
        cfg,
    )
    assert code == 0
    assert "rejected" in out
    code, out, _ = _cli(capsys, "orgs", "show", EN, "-c", cfg, "--json")
    (refused,) = [f for f in json.loads(out)["forms"] if f["status"] == "rejected"]
    assert refused["reason_text"] == "Refused after review — Not sent by the Master User"
    code, _, err = _cli(capsys, "review", "reject", str(item["id"]), "--by", "an", "--reason", "again", "-c", cfg)
    assert code == 1
    assert "review-already-decided" in err
    code, _, err = _cli(capsys, "users", "show", "EAPNOSUCH", "-c", cfg)
    assert code == 1
    assert "user-not-found" in err


def test_installed_command_lists_orgs(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    cfg = _config(tmp_path, db_url)
    _receive(engine, agr())
    exe = Path(sys.executable).with_name("extranet-intake")
    result = subprocess.run(
        [str(exe), "orgs", "list", "--json", "-c", str(cfg)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert [o["enterprise_number"] for o in json.loads(result.stdout)] == [EN]


def test_review_by_must_name_an_active_staff_account(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    import getpass

    from extranet_intake.auditchain.chain import AuditAction, iter_entries

    cfg = str(_config(tmp_path, db_url))
    _receive(engine, agr(), mu())
    code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--json")
    first, second = (i["id"] for i in json.loads(out))
    # a typed name that is nobody's account ("system" was once accepted and logged as the automation)
    for name in ("system", "An"):
        code, _, err = _cli(capsys, "review", "approve", str(first), "--by", name, "-c", cfg)
        assert code == 1
        assert "staff-unknown" in err
    assert _cli(capsys, "staff", "add", "an", "--role", "reviewer", "-c", cfg)[0] == 0
    assert _cli(capsys, "staff", "add", "old", "--role", "reviewer", "-c", cfg)[0] == 0
    assert _cli(capsys, "staff", "disable", "old", "-c", cfg)[0] == 0
    code, _, err = _cli(capsys, "review", "reject", str(second), "--by", "old", "--reason", "no", "-c", cfg)
    assert code == 1
    assert "staff-disabled" in err
    assert _cli(capsys, "review", "approve", str(first), "--by", "an", "-c", cfg)[0] == 0
    rejected = _cli(capsys, "review", "reject", str(second), "--by", "an", "--reason", "signature-missing", "-c", cfg)
    assert rejected[0] == 0
    with engine.connect() as conn:
        # the agreement needs two approvers: this first approval is recorded, not yet approved
        decisions = list(
            iter_entries(
                conn,
                actions=[
                    AuditAction.REVIEW_APPROVED,
                    AuditAction.REVIEW_REJECTED,
                    AuditAction.REVIEW_APPROVAL_RECORDED,
                ],
            )
        )
    assert [e["actor"] for e in decisions] == ["an", "an"]
    assert all(json.loads(str(e["details"]))["os_user"] == getpass.getuser() for e in decisions)
