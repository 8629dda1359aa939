"""argon2id hashing with nothing else loaded: what the sender's hashing processes import.

``provisioning.passwords`` owns every password rule and re-exports these names. They live here,
outside the provisioning package (whose import loads the parsers, SQLAlchemy and the models, most
of a second per process), so that a hashing process starts in tens of milliseconds: the hasher
handed to the sender's pool pickles as a reference to this module and to :class:`Argon2Params`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher, Type

__all__ = ["DEFAULT_ARGON2", "Argon2Params", "hash_password", "hasher"]


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


@lru_cache(maxsize=8)
def hasher(params: Argon2Params) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(plaintext: str, params: Argon2Params = DEFAULT_ARGON2) -> str:
    """The encoded argon2id hash (salt and parameters included); module-level so a process pool can run it."""
    return hasher(params).hash(plaintext)
