"""A process pool whose processes load nothing but what their work needs: the sender's hashing pool.

``ProcessPoolExecutor`` (forkserver or spawn) makes every worker import the parent's ``__main__``
again, and the sender's hasher (``provisioning.passwords``) loaded the whole provisioning package
on top: a pool cost seconds to start on a busy host, once per drain, before the first credentials
mail could leave. Here each worker is ``python -m extranet_intake.mailer.workers``, which imports
the standard library only; a call sends ``(function, args)`` pickled down its stdin, so the worker
imports the function's own module and nothing else (``extranet_intake.argon2id``: argon2 only).
Workers start when the pool is made, so they boot while the sender claims its first rows.

The answers are pickles from our own child process, as with ``ProcessPoolExecutor``; nothing here
reads untrusted input (that is ``parsers.sandbox``'s job, with JSON answers). A worker that dies
fails its call with ``BrokenProcessPool`` and is replaced for the next one.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any, TypeVar

__all__ = ["LightProcessPool"]

T = TypeVar("T")

_LEN = struct.Struct(">Q")
#: how long a worker told to stop (EOF on its input) may take to exit before it is killed
_EXIT_WAIT_SECONDS = 2.0


class _Worker:
    def __init__(self, nice: int = 0) -> None:
        env = {
            **os.environ,
            # the parent's import path, as multiprocessing hands it over: the function's module is found
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "extranet_intake.mailer.workers", str(nice)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )

    def call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None
        assert stdout is not None
        request = pickle.dumps((fn, args, kwargs))
        try:
            stdin.write(_LEN.pack(len(request)) + request)
            stdin.flush()
            del request
            head = _read(stdout, _LEN.size)
            ok, value = pickle.loads(_read(stdout, _LEN.unpack(head)[0]))  # noqa: S301 - our own child's answer
        except (OSError, EOFError) as exc:
            self.kill()
            raise BrokenProcessPool(f"a worker process stopped (exit {self.proc.poll()})") from exc
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=_EXIT_WAIT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _read(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class LightProcessPool(Executor):
    """``workers`` processes, started at once; ``submit`` runs a picklable call in one of them.

    ``nice`` lowers the processes' CPU priority (``os.nice``): work done ahead, in the background,
    then takes the cores the run's own path leaves idle instead of a share of the ones it needs.
    """

    def __init__(self, workers: int, *, nice: int = 0) -> None:
        self._size = max(1, workers)
        self._nice = max(0, nice)
        self._lock = threading.Lock()
        self._closed = False
        # one thread per worker process waits on its pipe (blocking reads release the GIL)
        self._threads = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="hashing")
        self._idle: list[_Worker] = [_Worker(self._nice) for _ in range(self._size)]

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._threads.submit(self._run, fn, args, kwargs)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot run a call after the pool was shut down")
            worker = self._idle.pop() if self._idle else None
        while worker is not None and not worker.alive():
            worker.kill()
            with self._lock:
                worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self._nice)  # a replacement for one that died; at most one per thread
        try:
            return worker.call(fn, args, kwargs)
        finally:
            with self._lock:
                keep = worker.alive() and not self._closed
                if keep:
                    self._idle.append(worker)
            if not keep:
                worker.stop()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


def _serve(nice: int = 0) -> None:
    # the parent owns the run: Ctrl-C reaches it, and it ends us by closing our input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:
        os.nice(nice)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return
        fn, args, kwargs = pickle.loads(_read(inp, _LEN.unpack(head)[0]))  # noqa: S301 - our own parent's request
        try:
            answer = pickle.dumps((True, fn(*args, **kwargs)))
        except Exception as exc:
            try:
                answer = pickle.dumps((False, exc.with_traceback(None)))
            except Exception:
                answer = pickle.dumps((False, RuntimeError(f"call failed: {type(exc).__name__}")))
        del fn, args, kwargs
        out.write(_LEN.pack(len(answer)) + answer)
        out.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
