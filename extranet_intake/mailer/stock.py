"""Temporary passwords made and hashed ahead, in the pool, so a credentials mail rarely waits for argon2id.

A password is bound to nothing until the sender stores its hash in the transaction that also
records the mail's Message-ID (``mailer/send.py``): until then it is a random string and its hash,
in this process's memory only. So the sender need not hash per batch, when the batch is already
claimed and waiting: it says how many credentials mails are due (:meth:`PasswordStock.expect`,
at the start of a drain), the run says how many it just queued (:meth:`PasswordStock.want`, while
it reads the next forms), and the pool hashes that many in the background; a batch
:meth:`takes <PasswordStock.take>` the oldest ones. A password made and never taken (the row was
refused, taken over, or not due after all) is dropped with the stock: never stored, it never
logged anyone in. At most ``ahead`` are in flight or waiting at once, so a run of thousands holds
a bounded number of plaintexts, each for seconds.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from concurrent.futures import Future

from extranet_intake.mailer.ports import PreparedIssuer
from extranet_intake.mailer.workers import LightProcessPool

__all__ = ["Made", "PasswordStock"]

#: how much lower the hashing processes' CPU priority is than the run's (``nice``; 10: a tenth of the weight)
HASHING_NICE = 10

#: (plaintext, encoded hash) of one new temporary password, or why it could not be made
Made = tuple[str, str] | BaseException


class PasswordStock:
    """Passwords of ``issuer`` hashed ahead in ``workers`` processes (0: one per core the process may use).

    The processes run at a lower CPU priority (:data:`HASHING_NICE`): while the run reads and applies
    forms, every core it uses is its own, and the hashing takes what is left; when the sender waits for
    a hash, the cores are the hashing's (nothing else of the run is runnable then).
    """

    def __init__(self, issuer: PreparedIssuer, *, workers: int = 0, ahead: int = 64) -> None:
        self.issuer = issuer
        self._pool = LightProcessPool(workers or len(os.sched_getaffinity(0)) or 1, nice=HASHING_NICE)
        self._ahead = max(1, ahead)
        #: passwords made, oldest first, with their hash on its way
        self._pending: deque[tuple[str, Future[str]]] = deque()
        #: passwords asked for and not yet started (the ``ahead`` bound holds them back)
        self._owed = 0
        self._closed = False

    def want(self, n: int) -> None:
        """``n`` more credentials mails were queued: make their passwords in the background."""
        if n > 0:
            self._owed += n
            self._fill()

    def expect(self, n: int) -> None:
        """``n`` credentials mails are due now: have that many made or on their way, in all."""
        self._owed = max(self._owed, n - len(self._pending))
        self._fill()

    def _fill(self) -> None:
        while not self._closed and self._owed > 0 and len(self._pending) < self._ahead:
            self._owed -= 1
            self._start()

    def _start(self) -> None:
        plaintext = self.issuer.generate()
        self._pending.append((plaintext, self._pool.submit(self.issuer.hasher, plaintext)))

    async def take(self, n: int) -> list[Made]:
        """``n`` new passwords, the oldest made first; made now if the stock holds fewer."""
        if self._closed:
            raise RuntimeError("the password stock is closed")
        short = n - len(self._pending)
        if short > 0:
            # not yet started (held back by ``ahead``) or never announced: made now, counted as made
            self._owed = max(0, self._owed - short)
            for _ in range(short):
                self._start()
        taken = [self._pending.popleft() for _ in range(n)]
        self._fill()
        hashes = await asyncio.gather(*(asyncio.wrap_future(f) for _, f in taken), return_exceptions=True)
        return [h if isinstance(h, BaseException) else (p, h) for (p, _), h in zip(taken, hashes, strict=True)]

    def close(self) -> None:
        """Drop every password not taken and stop the processes."""
        self._closed = True
        self._owed = 0
        pending, self._pending = self._pending, deque()
        for _, future in pending:
            future.cancel()
        pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
