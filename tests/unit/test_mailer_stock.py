"""Passwords hashed ahead: as many as asked for, the oldest taken first, the rest dropped at close."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import pytest
from sqlmodel import Session

from extranet_intake.argon2id import Argon2Params, hash_password
from extranet_intake.mailer.stock import PasswordStock


@dataclass
class CountingIssuer:
    made: list[str] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=itertools.count)
    validity: timedelta = timedelta(hours=72)

    def issue(self, session: Session, login: str) -> str:
        raise AssertionError("not used")

    def generate(self) -> str:
        self.made.append(f"password-{next(self.numbers):04d}")
        return self.made[-1]

    @property
    def hasher(self) -> Callable[[str], str]:
        return partial(hash_password, params=Argon2Params(memory_kib=1024, time_cost=1))

    def store(self, session: Session, login: str, password_hash: str) -> None:
        raise AssertionError("not used")


def test_the_stock_makes_what_is_announced_and_hands_out_the_oldest_first() -> None:
    issuer = CountingIssuer()
    stock = PasswordStock(issuer, workers=1, ahead=3)
    try:
        stock.want(2)
        stock.want(2)  # four announced, three started (the bound), one held back
        assert issuer.made == ["password-0000", "password-0001", "password-0002"]
        stock.expect(3)  # already that many on their way: nothing more
        assert len(issuer.made) == 3
        first = asyncio.run(stock.take(2))
        assert [p for p, _ in first] == ["password-0000", "password-0001"]  # type: ignore[misc]
        assert all(h.startswith("$argon2id$") for _, h in first)  # type: ignore[misc]
        assert len(issuer.made) == 4  # the held-back one started as room was made
        more = asyncio.run(stock.take(3))  # one more than announced: made on the spot
        assert [p for p, _ in more] == ["password-0002", "password-0003", "password-0004"]  # type: ignore[misc]
        stock.want(1)
    finally:
        stock.close()
    with pytest.raises(RuntimeError):
        asyncio.run(stock.take(1))
