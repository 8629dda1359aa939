"""Logins and temporary passwords, pure: opaque logins, look-alike-free passwords, argon2id hashes."""

from __future__ import annotations

import random

from extranet_intake.provisioning.logins import LOGIN_ALPHABET, LOGIN_PREFIX, make_login
from extranet_intake.provisioning.passwords import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_ALPHABET,
    generate_password,
    hash_password,
    verify_password,
)

LOOK_ALIKES = set("0Oo1lIi5S2Z8B")


def test_login_is_opaque_and_never_derived_from_the_email() -> None:
    logins = {make_login(random.Random(seed)) for seed in range(500)}
    assert len(logins) == 500
    for login in logins:
        assert login.startswith(LOGIN_PREFIX)
        assert set(login[len(LOGIN_PREFIX) :]) <= set(LOGIN_ALPHABET)
        assert not set("ILOU") & set(login[len(LOGIN_PREFIX) :])
    # nothing of the person goes in: the function is not even given the e-mail


def test_temporary_password_is_long_random_and_without_look_alikes() -> None:
    assert not LOOK_ALIKES & set(PASSWORD_ALPHABET)
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(len(p) >= MIN_PASSWORD_LENGTH and set(p) <= set(PASSWORD_ALPHABET) for p in passwords)
    assert len(generate_password(length=8)) == MIN_PASSWORD_LENGTH  # never shorter than 16


def test_password_hash_is_salted_argon2id_with_its_parameters() -> None:
    password = generate_password(rng=random.Random(3))
    first, second = hash_password(password), hash_password(password)
    assert first != second  # salted
    # OWASP's minimum for argon2id: a random single-use secret, not a user-chosen password
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert password not in first
    assert verify_password(first, password)
    assert verify_password(second, password)
    assert not verify_password(first, password[:-1])
    assert not verify_password("not a hash", password)


def test_the_hash_parameters_are_configurable_and_old_hashes_still_verify() -> None:
    from extranet_intake.provisioning.passwords import Argon2Params

    password = generate_password(rng=random.Random(4))
    stronger = hash_password(password, Argon2Params(memory_kib=65536, time_cost=3, parallelism=4))
    assert stronger.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stronger, password)  # the parameters travel inside the hash
