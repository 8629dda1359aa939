"""Temporary passwords: random, without look-alike characters, stored only as an argon2id hash."""

from __future__ import annotations

import random
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MIN_PASSWORD_LENGTH", "PASSWORD_ALPHABET", "generate_password", "hash_password", "verify_password"]

MIN_PASSWORD_LENGTH = 16
#: letters and digits without look-alikes (0/O/o, 1/l/I/i, 5/S, 2/Z, 8/B, u/v …): read from a
#: mail and typed by hand, a password must not be ambiguous
PASSWORD_ALPHABET = "abcdefghjkmnpqrstwxyzACDEFGHJKLMNPQRTWXY3479"  # noqa: S105 - an alphabet, not a password

# RFC 9106 second recommended option (argon2id, t=3, 64 MiB, p=4); the parameters travel inside
# the encoded hash, so raising them later still verifies every hash made before.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16,
                         type=Type.ID)
_SYSTEM_RANDOM = secrets.SystemRandom()


def generate_password(*, length: int = 20, rng: random.Random | None = None) -> str:
    """A random password of ``length`` (≥ 16) characters from :data:`PASSWORD_ALPHABET`."""
    source = rng or _SYSTEM_RANDOM
    return "".join(source.choice(PASSWORD_ALPHABET) for _ in range(max(length, MIN_PASSWORD_LENGTH)))


def hash_password(plaintext: str) -> str:
    """The encoded argon2id hash (salt and parameters included)."""
    return _HASHER.hash(plaintext)


def verify_password(password_hash: str, plaintext: str) -> bool:
    """True when ``plaintext`` matches; a malformed hash is simply no match."""
    try:
        return _HASHER.verify(password_hash, plaintext)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
