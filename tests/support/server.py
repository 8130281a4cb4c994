"""Run tierbot's real intake and worker processes against the GitHub emulator, for e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 60.0,
    what: str | Callable[[], str] = "",
) -> None:
    """Poll ``condition``; ``what`` (text, or a function called only on a time-out) names it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout:g} s waiting for {described or condition}")


class TierbotProcesses:
    """``tierbot serve --workers 0`` plus ``tierbot worker`` processes, all real."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "TIERBOT_DB_URL": f"sqlite:///{workdir / 'tierbot.sqlite3'}",
            "TIERBOT_WORKDIR": str(workdir / "clones"),
            "TIERBOT_GITHUB_PACING": "off",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def _spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=self.env,
            stdout=log,
            stderr=log,
            cwd=self.workdir,
        )

    def start_web(self, *extra: str, workers: int = 0) -> None:
        """``tierbot serve`` with ``extra`` arguments; ``workers`` it starts itself."""
        import urllib.request

        self.web = self._spawn(
            "serve", "--workers", str(workers), "--port", str(self.port), *extra, name="web"
        )

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return True
            except OSError:
                return False

        wait_until(healthy, timeout=30, what="the intake to answer /healthz")

    def start_worker(self, *, lease: float = 60.0) -> subprocess.Popen[bytes]:
        worker = self._spawn("worker", "--lease", str(lease), name=f"worker{len(self.workers)}")
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')}" for p in self.workdir.glob("*.log")
        )

    def stop(self) -> None:
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def serving_app(tmp_path: Path, emulator: Any, secret: str) -> Iterator[TierbotProcesses]:
    """``tierbot serve`` as the GitHub App of ``emulator`` (its webhooks signed with
    ``secret``), stopped with its workers afterwards."""
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_WEBHOOK_SECRET": secret,
            "TIERBOT_APP_ID": str(emulator.app_id),
            "TIERBOT_PRIVATE_KEY": emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": emulator.api_url,
        },
    )
    emulator.set_webhook(procs.url, secret)
    procs.start_web()
    try:
        yield procs
    finally:
        procs.stop()
