"""Logins and temporary passwords, pure: opaque logins, look-alike-free passwords, argon2id hashes."""

from __future__ import annotations

import random

from provisioning.logins import LOGIN_ALPHABET, LOGIN_PREFIX, make_login
from provisioning.passwords import (
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
        assert set(login[len(LOGIN_PREFIX):]) <= set(LOGIN_ALPHABET)
        assert not set("ILOU") & set(login[len(LOGIN_PREFIX):])
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
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert password not in first
    assert verify_password(first, password)
    assert verify_password(second, password)
    assert not verify_password(first, password[:-1])
    assert not verify_password("not a hash", password)
