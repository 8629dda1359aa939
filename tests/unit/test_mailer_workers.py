"""The sender's process pool: calls run in other processes that load only what the call needs."""

from __future__ import annotations

import os
import sys
from concurrent.futures.process import BrokenProcessPool
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
