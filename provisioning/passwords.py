"""Temporary passwords: random, without look-alike characters, stored only as an argon2id hash."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["DEFAULT_ARGON2", "MIN_PASSWORD_LENGTH", "PASSWORD_ALPHABET", "Argon2Params", "generate_password",
           "hash_password", "verify_password"]

MIN_PASSWORD_LENGTH = 16
#: letters and digits without look-alikes (0/O/o, 1/l/I/i, 5/S, 2/Z, 8/B, u/v …): read from a
#: mail and typed by hand, a password must not be ambiguous
PASSWORD_ALPHABET = "abcdefghjkmnpqrstwxyzACDEFGHJKLMNPQRTWXY3479"  # noqa: S105 - an alphabet, not a password



@dataclass(frozen=True)
class Argon2Params:
    """argon2id cost: memory in KiB, passes, lanes (``[credentials] argon2_*``)."""

    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


#: OWASP's minimum for argon2id (m = 19 MiB, t = 2, p = 1). The secret hashed here is a random
#: 20-character password (about 109 bits), single use and dead after 72 hours: nobody guesses it
#: from a stolen hash at any cost setting, so a user-chosen password's cost buys nothing but time
#: on the critical path (docs/mail.md, "Temporary passwords"). The parameters travel inside the
#: encoded hash, so changing them later still verifies every hash made before.
DEFAULT_ARGON2 = Argon2Params()
_SYSTEM_RANDOM = secrets.SystemRandom()


@lru_cache(maxsize=8)
def _hasher(params: Argon2Params) -> PasswordHasher:
    return PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib,
                          parallelism=params.parallelism, hash_len=32, salt_len=16, type=Type.ID)


def generate_password(*, length: int = 20, rng: random.Random | None = None) -> str:
    """A random password of ``length`` (≥ 16) characters from :data:`PASSWORD_ALPHABET`."""
    source = rng or _SYSTEM_RANDOM
    return "".join(source.choice(PASSWORD_ALPHABET) for _ in range(max(length, MIN_PASSWORD_LENGTH)))


def hash_password(plaintext: str, params: Argon2Params = DEFAULT_ARGON2) -> str:
    """The encoded argon2id hash (salt and parameters included); module-level so a process pool can run it."""
    return _hasher(params).hash(plaintext)


def verify_password(password_hash: str, plaintext: str) -> bool:
    """True when ``plaintext`` matches; a malformed hash is simply no match."""
    try:
        return _hasher(DEFAULT_ARGON2).verify(password_hash, plaintext)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
