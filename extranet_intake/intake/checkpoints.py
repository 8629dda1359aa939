"""The audit checkpoint key of a configuration, and the signed checkpoint that ends every run when one is set."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from extranet_intake.auditchain.checkpoint import issue_checkpoint, load_private_key, write_checkpoint
from extranet_intake.errors import AuditError, ConfigError
from extranet_intake.intake.config import Config

__all__ = ["checkpoint_after_run", "configured_key", "private_key", "relative_to_config"]


def relative_to_config(cfg: Config, name: str) -> Path:
    """A path of the configuration: relative ones are relative to the file's folder."""
    path = Path(name)
    if path.is_absolute():
        return path
    base = cfg.source.parent if cfg.source else Path.cwd()
    return base / path


def configured_key(cfg: Config) -> Ed25519PrivateKey | None:
    """The checkpoint key when the configuration names one (file, or a set variable); None when it does not."""
    if cfg.audit.checkpoint_key_file:
        path = relative_to_config(cfg, cfg.audit.checkpoint_key_file)
        try:
            return load_private_key(path.read_bytes())
        except OSError as exc:
            raise ConfigError(
                "audit-key-unreadable", f"cannot read the checkpoint key file {path}", key="audit.checkpoint_key_file"
            ) from exc
    material = os.environ.get(cfg.audit.checkpoint_key_env, "")
    return load_private_key(material) if material else None


def private_key(cfg: Config) -> Ed25519PrivateKey:
    key = configured_key(cfg)
    if key is None:
        raise ConfigError(
            "audit-key-missing",
            f"no checkpoint key: set {cfg.audit.checkpoint_key_env} or audit.checkpoint_key_file "
            "(make one with `audit keygen`)",
            key="audit.checkpoint_key_env",
        )
    return key


def checkpoint_after_run(cfg: Config, engine: Engine, *, clock: Callable[[], datetime]) -> dict[str, Any] | None:
    """Verify the chain and sign its head into ``<report_dir>/checkpoints`` (None: no key configured).

    Run after every run, so the chain's head is pinned outside the database daily: a tail cut
    later (even with the head row) no longer goes unseen. A broken chain gets no checkpoint: the
    ``audit-chain-broken`` error is the run's failure.
    """
    try:
        key = configured_key(cfg)
    except (ConfigError, AuditError) as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
    if key is None:
        return None
    try:
        with Session(engine) as session:
            cp = issue_checkpoint(session, key, actor="system", at=clock())
            session.commit()
    except AuditError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
    folder = cfg.run.report_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{cp.seq:09d}.json"
    write_checkpoint(cp, path)
    write_checkpoint(cp, folder / "checkpoint-latest.json")
    return {"ok": True, "seq": cp.seq, "head_hash": cp.head_hash, "key_id": cp.key_id, "file": str(path)}
