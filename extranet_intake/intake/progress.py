"""Progress of long work: rich progress bars on a terminal, plain timestamped log lines under cron."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["PlainProgress", "Reporter", "RichProgress", "SilentProgress", "Stage", "make_reporter"]


class Stage(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def total(self, n: int) -> None: ...


class Reporter(Protocol):
    def stage(self, name: str, total: int | None = None) -> AbstractContextManager[Stage]: ...

    def line(self, text: str) -> None: ...


class _PlainStage:
    def __init__(self, out: IO[str], name: str, total: int | None) -> None:
        self.out, self.name, self._total, self.done = out, name, total, 0
        self._last = time.monotonic()

    def total(self, n: int) -> None:
        self._total = n

    def advance(self, n: int = 1) -> None:
        self.done += n
        # one line every 5 s at most: a cron log wants milestones, not one line per form
        if time.monotonic() - self._last >= 5:
            self._last = time.monotonic()
            of = f"/{self._total}" if self._total is not None else ""
            print(f"{_ts()} {self.name}: {self.done}{of}", file=self.out, flush=True)


class PlainProgress:
    """Log lines for a non-terminal (cron, systemd): start, milestones, end of each stage."""

    def __init__(self, out: IO[str] = sys.stderr) -> None:
        self.out = out

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        print(f"{_ts()} {name}: start", file=self.out, flush=True)
        st = _PlainStage(self.out, name, total)
        started = time.monotonic()
        yield st
        print(f"{_ts()} {name}: done {st.done} in {time.monotonic() - started:.1f}s", file=self.out, flush=True)

    def line(self, text: str) -> None:
        print(f"{_ts()} {text}", file=self.out, flush=True)


class _RichStage:
    def __init__(self, progress: Progress, task: int) -> None:
        self.progress, self.task = progress, task

    def total(self, n: int) -> None:
        self.progress.update(self.task, total=n)  # type: ignore[arg-type]

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)  # type: ignore[arg-type]


class RichProgress:
    """Progress bars on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        with Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            task = progress.add_task(name, total=total)
            yield _RichStage(progress, task)

    def line(self, text: str) -> None:
        self.console.print(text)


class SilentProgress:
    """No progress lines: with ``--log-format json`` stderr carries only JSON events (``run.stage``)."""

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        yield _NoStage()

    def line(self, text: str) -> None:
        return None


class _NoStage:
    def total(self, n: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


def make_reporter(console: Console) -> PlainProgress | RichProgress | SilentProgress:
    from extranet_intake.intake.logs import json_logging

    if json_logging():
        return SilentProgress()
    return RichProgress(console) if console.is_terminal else PlainProgress(console.file)


def _ts() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
