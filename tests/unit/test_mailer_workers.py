"""The sender's process pool: calls run in other processes that load only what the call needs."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from functools import partial

import pytest

from extranet_intake.argon2id import Argon2Params, hash_password
from extranet_intake.mailer.workers import LightProcessPool


def _loaded(names: tuple[str, ...]) -> dict[str, object]:
    main = sys.modules["__main__"].__spec__
    return {"pid": os.getpid(), "main": main and main.name, **{n: n in sys.modules for n in names}}


def _fail(kind: str) -> None:
    if kind == "exit":
        os._exit(9)  # the worker dies mid-call
    raise ValueError("refused")


def test_calls_run_in_light_processes_and_failures_come_back() -> None:
    pool = LightProcessPool(2)
    try:
        # not the parent's __main__ again, nor the product's heavy packages: the call's own module only
        seen = pool.submit(_loaded, ("sqlalchemy", "extranet_intake.provisioning")).result(timeout=30)
        assert seen["pid"] != os.getpid()
        assert seen == {
            **seen,
            "main": "extranet_intake.mailer.workers",
            "sqlalchemy": False,
            "extranet_intake.provisioning": False,
        }
        cheap = Argon2Params(memory_kib=1024, time_cost=1)
        hashes = [pool.submit(partial(hash_password, params=cheap), "x" * 20) for _ in range(4)]
        assert all(h.result(timeout=30).startswith("$argon2id$v=19$m=1024,t=1,p=1$") for h in hashes)
        with pytest.raises(ValueError, match="refused"):
            pool.submit(_fail, "raise").result(timeout=30)
        with pytest.raises(BrokenProcessPool):
            pool.submit(_fail, "exit").result(timeout=30)
        assert pool.submit(_loaded, ()).result(timeout=30)["pid"] != os.getpid()  # a new worker took its place
    finally:
        pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(_loaded, ()).result(timeout=30)


def _niceness() -> int:
    return os.nice(0)


def test_a_pool_told_to_be_nice_runs_its_calls_at_a_lower_priority_and_its_replacements_too() -> None:
    pool = LightProcessPool(1, nice=7)
    try:
        assert pool.submit(_niceness).result(timeout=30) == os.nice(0) + 7
        with pytest.raises(BrokenProcessPool):
            pool.submit(_fail, "exit").result(timeout=30)
        assert pool.submit(_niceness).result(timeout=30) == os.nice(0) + 7  # the replacement as well
    finally:
        pool.shutdown()


def _niceness_of(plaintext: str) -> str:
    return str(os.nice(0))


class _NiceIssuer:
    """Just what the stock uses of an issuer: its ``generate`` and a hasher that answers its niceness."""

    validity = timedelta(hours=72)
    hasher = staticmethod(_niceness_of)

    def generate(self) -> str:
        return "x" * 20


def test_the_password_stock_hashes_at_a_lower_priority_than_the_run() -> None:
    from extranet_intake.mailer.stock import HASHING_NICE, PasswordStock

    stock = PasswordStock(_NiceIssuer(), workers=1)  # type: ignore[arg-type]
    try:
        stock.want(2)
        made = asyncio.run(stock.take(2))
    finally:
        stock.close()
    assert HASHING_NICE > 0
    assert made == [("x" * 20, str(os.nice(0) + HASHING_NICE))] * 2
