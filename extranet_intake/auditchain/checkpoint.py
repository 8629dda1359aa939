"""Signed audit checkpoints: Ed25519 key pairs, signing a (seq, head hash) pair, and checking a checkpoint file.

A checkpoint pins the chain's head outside the database. Whoever can write the database can
recompute every hash after a forgery, but cannot sign with a key kept elsewhere; so a chain whose
entry ``seq`` no longer hashes to the checkpoint's ``head_hash`` (or which ends before ``seq``) was
rewritten or truncated. Keys come in as bytes: reading them from the environment or a file is the
caller's job (never the database).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Connection
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, VerifyReport, append_entry, canonical_time, verify_chain
from extranet_intake.errors import AuditError

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "KeyPair",
    "generate_key_pair",
    "issue_checkpoint",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_checkpoint",
    "sign_checkpoint",
    "verify_against",
    "verify_checkpoint",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "extranet-intake-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    format: str
    seq: int
    head_hash: str
    created_at: str
    key_id: str
    signature: str

    def signed_bytes(self) -> bytes:
        return _payload(
            seq=self.seq, head_hash=self.head_hash, created_at=self.created_at, key_id=self.key_id, fmt=self.format
        )


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def _payload(*, seq: int, head_hash: str, created_at: str, key_id: str, fmt: str) -> bytes:
    body = {"format": fmt, "seq": seq, "head_hash": head_hash, "created_at": created_at, "key_id": key_id}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def generate_key_pair() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    return KeyPair(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        public_pem=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def load_private_key(material: bytes | str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) private key, or the base64 of the raw 32-byte seed (handy in an env variable)."""
    data = material.encode("ascii", "replace") if isinstance(material, str) else material
    data = data.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        # never echo the material itself: it is the secret
        raise AuditError("audit-key-invalid", "the checkpoint private key cannot be read") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError("audit-key-invalid", "the checkpoint private key is not an Ed25519 key")
    return key


def load_public_key(material: bytes | str) -> Ed25519PublicKey:
    """A PEM public key, or the base64 of the raw 32-byte public key."""
    data = material.encode("ascii", "replace") if isinstance(material, str) else material
    data = data.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise AuditError("audit-key-invalid", "the checkpoint public key cannot be read") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError("audit-key-invalid", "the checkpoint public key is not an Ed25519 key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 over the raw public key: names the key, proves nothing."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_checkpoint(private_key: Ed25519PrivateKey, *, seq: int, head_hash: str, created_at: datetime) -> Checkpoint:
    kid = key_id(private_key.public_key())
    stamp = canonical_time(created_at)
    payload = _payload(seq=seq, head_hash=head_hash, created_at=stamp, key_id=kid, fmt=CHECKPOINT_FORMAT)
    signature = base64.b64encode(private_key.sign(payload)).decode("ascii")
    return Checkpoint(
        format=CHECKPOINT_FORMAT, seq=seq, head_hash=head_hash, created_at=stamp, key_id=kid, signature=signature
    )


def verify_checkpoint(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> None:
    """Raise ``AuditError`` unless the checkpoint was signed by the private half of ``public_key``."""
    if checkpoint.format != CHECKPOINT_FORMAT:
        raise AuditError("audit-checkpoint-format", f"unknown checkpoint format {checkpoint.format!r}")
    try:
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise AuditError(
            "audit-checkpoint-signature",
            "the checkpoint signature does not verify with the configured public key",
            seq=checkpoint.seq,
            key_id=checkpoint.key_id,
        ) from exc


def write_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write atomically (temporary file, then rename) so a crash never leaves half a checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(checkpoint), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AuditError("audit-checkpoint-missing", f"checkpoint file not found: {path}", file=path) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuditError("audit-checkpoint-format", f"checkpoint file is not JSON: {path}", file=path) from exc
    try:
        cp = Checkpoint(
            format=str(raw["format"]),
            seq=int(raw["seq"]),
            head_hash=str(raw["head_hash"]),
            created_at=str(raw["created_at"]),
            key_id=str(raw["key_id"]),
            signature=str(raw["signature"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditError("audit-checkpoint-format", f"checkpoint file lacks a field: {exc}", file=path) from exc
    return cp


def issue_checkpoint(session: Session, private_key: Ed25519PrivateKey, *, actor: str, at: datetime) -> Checkpoint:
    """Verify the chain, sign its last entry, and log that a checkpoint was issued (caller commits).

    Signing an unverified head would bless a forgery, so a broken chain gets no checkpoint. The
    ``checkpoint`` entry comes after the signed one: the next checkpoint covers it.
    """
    report = verify_chain(session.connection())
    if not report.ok:
        raise AuditError("audit-chain-broken", report.message, seq=report.first_bad_seq)
    if report.count == 0:
        raise AuditError("audit-log-empty", "the audit log is empty: nothing to checkpoint")
    checkpoint = sign_checkpoint(private_key, seq=report.last_seq, head_hash=report.last_hash, created_at=at)
    append_entry(
        session,
        actor=actor,
        action=AuditAction.CHECKPOINT,
        org=None,
        login=None,
        document_sha256=None,
        reason=f"signed checkpoint of entry {checkpoint.seq}",
        details={"seq": checkpoint.seq, "head_hash": checkpoint.head_hash, "key_id": checkpoint.key_id},
        at=at,
    )
    return checkpoint


def verify_against(
    connection: Connection, checkpoint: Checkpoint | None, public_key: Ed25519PublicKey | None
) -> VerifyReport:
    """Check the checkpoint's signature (if one is given), then the chain pinned to it."""
    if checkpoint is None:
        return verify_chain(connection)
    if public_key is None:
        raise AuditError("audit-public-key-missing", "verifying a checkpoint needs the public key")
    verify_checkpoint(checkpoint, public_key)
    return verify_chain(connection, pinned=(checkpoint.seq, checkpoint.head_hash))
