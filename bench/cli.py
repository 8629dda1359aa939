"""Benchmark of the command line's start-up: `--help`, `--version` and `review list` on the demo data.

Usage: .venv/bin/python bench/cli.py [--runs N] [--demo DIR]

Each case runs N times (default 9) as a fresh process, interleaved with the floor `python -c pass`
(A, B, A, B … so that a load spike on a shared machine hits both alike). It prints the median wall
time of each (wall clock, and CPU time user + system, which a busy shared machine disturbs less) and
its ratio to the floor. Targets (issue 14.16):
`--help` ≤ 0.3 s, `review list` ≤ 0.6 s. A case whose command exits non-zero is reported as skipped
(`--version` until it exists). `review list` reads the demo deployment in DIR (default: one built
with `python -m samplekit.demo` in a temporary folder, which takes a few minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGETS = {"--help": 0.3, "review list": 0.6}


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit code of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--demo", type=Path, default=None, help="an existing demo folder (python -m samplekit.demo DIR)"
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "120"

    demo = args.demo
    tmp = None
    if demo is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-cli-")
        demo = Path(tmp.name) / "demo"
        print(f"building the demo deployment in {demo} …", flush=True)
        subprocess.run(
            [PYTHON, "-m", "samplekit.demo", str(demo)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True
        )
    config = demo / "extranet-intake.toml"

    cli = [PYTHON, "-m", "extranet_intake.intake.cli"]
    cases = {
        "--help": [*cli, "--help"],
        "--version": [*cli, "--version"],
        "review list": [*cli, "--config", str(config), "review", "list"],
        "review list --all --json": [*cli, "--config", str(config), "review", "list", "--all", "--json"],
    }
    floor_argv = [PYTHON, "-c", "pass"]
    print(f"{'case':<26} {'wall':>7} {'floor':>7} {'ratio':>6} {'cpu':>7} {'floor':>7} {'ratio':>6}  target (wall)")
    failed = False
    for name, argv in cases.items():
        code = _time(argv, env)[2]  # warm the page cache and the .pyc files once
        if code != 0:
            print(f"{name:<26} skipped (exit {code})")
            continue
        runs, floors = [], []
        for _ in range(args.runs):
            floors.append(_time(floor_argv, env))
            runs.append(_time(argv, env))
        wall, wall0 = statistics.median(r[0] for r in runs), statistics.median(f[0] for f in floors)
        cpu, cpu0 = statistics.median(r[1] for r in runs), statistics.median(f[1] for f in floors)
        target = TARGETS.get(name)
        verdict = "" if target is None else (f"≤ {target:.1f} s " + ("ok" if wall <= target else "MISSED"))
        failed |= target is not None and wall > target
        print(
            f"{name:<26} {wall:7.3f} {wall0:7.3f} {wall / wall0:6.1f} {cpu:7.3f} {cpu0:7.3f} {cpu / cpu0:6.1f}  "
            f"{verdict}",
            flush=True,
        )
    if tmp is not None:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
