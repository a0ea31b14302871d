"""Real heartwatch processes on free ports, and a way to stop them and read their logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_pg_database, drop_pg_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = ""
    _stopped: bool = field(default=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send `sig`; returns (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.popen.send_signal(sig)
        code = self.popen.wait(timeout=timeout)
        self._stopped = True
        return code, time.monotonic() - started

    def kill(self) -> None:
        if not self._stopped and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


class Launcher:
    def __init__(self, workdir: Path, db_url: str) -> None:
        self.workdir = workdir
        self.db_url = db_url
        self.procs: list[Proc] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
        env.update(
            HEARTWATCH_DATABASE_URL=self.db_url,
            HEARTWATCH_DEBUG_MODE="true",
            HEARTWATCH_LOG_LEVEL="info",
        )
        env.update(extra)  # (which may change the ones above)
        return env

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "heartwatch", *args],
            cwd=self.workdir,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self, *args: str, port: int | None = None, **extra_env: str) -> Proc:
        name = "-".join(args)
        log_path = self.workdir / f"{name}-{len(self.procs)}.log"
        with log_path.open("wb") as log:
            argv = [sys.executable, "-m", "heartwatch", *args]
            if port is not None:
                argv += ["--port", str(port), "--host", "127.0.0.1"]
            popen = subprocess.Popen(
                argv, cwd=self.workdir, env=self.env(**extra_env), stdout=log, stderr=log
            )
        proc = Proc(popen, log_path, f"http://127.0.0.1:{port}" if port else "")
        self.procs.append(proc)
        if port is not None:
            wait_ready(proc)
        return proc


def wait_ready(proc: Proc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    # One client for all the tries: `httpx.get` builds a client (and its TLS context)
    # each time, CPU the starting process needs more.
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                pytest.fail(f"heartwatch exited with {proc.popen.returncode}:\n{proc.log()}")
            try:
                if http.get(f"{proc.base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    pytest.fail(f"heartwatch did not answer within {timeout}s:\n{proc.log()}")


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'heartwatch.db'}"
        return
    if os.environ.get("HEARTWATCH_TEST_POSTGRES") == "skip":
        pytest.skip("HEARTWATCH_TEST_POSTGRES=skip")
    url = create_pg_database("hw_e2e")
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def launcher(tmp_path: Path, e2e_db_url: str) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path, e2e_db_url)
    try:
        yield launcher
    finally:
        for proc in launcher.procs:
            proc.kill()
