"""The stand-alone verifier printed in docs/audit.md agrees with the product on chains it wrote."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.auditchain.checkpoint import (
    generate_key_pair,
    issue_checkpoint,
    load_private_key,
    write_checkpoint,
)
from extranet_intake.intake.database import migrate, open_engine

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _script(tmp_path: Path) -> Path:
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"## Verifying without this program.*?```python\n(.*?)```", text, re.S)
    assert code is not None, "docs/audit.md lost its verification script"
    path = tmp_path / "verify.py"
    path.write_text(code.group(1), encoding="utf-8")
    return path


def _chain(tmp_path: Path) -> tuple[Path, Path, Path]:
    db = tmp_path / "audit.db"
    migrate(f"sqlite:///{db}")
    engine = open_engine(f"sqlite:///{db}")
    keys = generate_key_pair()
    try:
        with Session(engine) as session:
            for i in range(25):
                append_entry(
                    session,
                    actor="system" if i % 3 else "Anna Peeters — réviseur",
                    action=AuditAction.FORM_PARSED,
                    org="0403170701" if i % 4 else None,
                    login=f"x{i:04d}" if i % 2 else None,
                    document_sha256=f"{i:064x}",
                    reason=f'reason {i} "quoted"',
                    details={"i": i, "naam": "Désirée"},
                    at=T0 + timedelta(minutes=i, microseconds=i),
                )
            checkpoint = issue_checkpoint(
                session, load_private_key(keys.private_pem), actor="ops", at=T0 + timedelta(hours=1)
            )
            session.commit()
    finally:
        engine.dispose()
    cp, pub = tmp_path / "checkpoint.json", tmp_path / "public.pem"
    write_checkpoint(checkpoint, cp)
    pub.write_bytes(keys.public_pem)
    return db, cp, pub


def test_the_documented_script_verifies_a_product_chain_and_its_checkpoint(tmp_path: Path) -> None:
    db, cp, pub = _chain(tmp_path)
    done = subprocess.run(
        [sys.executable, str(_script(tmp_path)), str(db), str(cp), str(pub)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "chain intact: 26 entries" in done.stdout
    assert "checkpoint 25 verified" in done.stdout


def test_the_documented_script_catches_an_edited_entry(tmp_path: Path) -> None:
    db, _, _ = _chain(tmp_path)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.exec_driver_sql("UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = 7")
    engine.dispose()
    done = subprocess.run(
        [sys.executable, str(_script(tmp_path)), str(db)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "entry 7 was edited" in done.stderr
