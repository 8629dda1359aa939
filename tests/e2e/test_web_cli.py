"""``extranet-intake web`` as an operator starts it: uvicorn serving the desk on the configured database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.web.conftest import free_port


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[web]\nsession_secret_env = "DESK_E2E_SECRET"\n', encoding="utf-8")
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from extranet_intake.intake.cli import main; sys.exit(main())", *args]


def test_web_serves_the_desk(tmp_path: Path, db_url: str) -> None:
    cfg = _config(tmp_path, db_url)
    port = free_port()
    env = {**os.environ, "DESK_E2E_SECRET": "e2e-" + "s" * 40}
    proc = subprocess.Popen(
        _cli("web", "-c", str(cfg), "--port", str(port)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the desk did not start"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert "server" not in login.headers  # no product banner
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_web_refuses_to_start_without_the_session_secret(tmp_path: Path, db_url: str) -> None:
    cfg = _config(tmp_path, db_url)
    env = {k: v for k, v in os.environ.items() if k != "DESK_E2E_SECRET"}
    done = subprocess.run(
        _cli("web", "-c", str(cfg), "--port", str(free_port())), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "secret-missing" in done.stderr
    assert "DESK_E2E_SECRET" in done.stderr
