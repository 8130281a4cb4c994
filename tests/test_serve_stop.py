"""``tierbot serve`` stopped by SIGTERM (systemd, a deploy) stops the workers it started."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.support.github_emulator import GitHubEmulator
from tests.support.server import TierbotProcesses, wait_until

pytest_plugins = ["tests.support.github_emulator.fixtures"]


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def test_sigterm_to_serve_stops_its_workers(tmp_path: Path, github_emulator: GitHubEmulator):
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_WEBHOOK_SECRET": "s",
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
        },
    )
    procs.start_web(workers=2)
    try:
        assert procs.web is not None
        wait_until(
            lambda: len(re.findall(r"tierbot worker \S+ started", procs.logs())) == 2,
            what=procs.logs,
        )
        workers = children(procs.web.pid)
        assert len(workers) == 2

        procs.web.send_signal(signal.SIGTERM)
        code = procs.web.wait(timeout=60)

        assert code == 128 + signal.SIGTERM, procs.logs()
        wait_until(lambda: not any(alive(w) for w in workers), timeout=10, what=procs.logs)
    finally:
        for pid in [w for w in locals().get("workers", []) if alive(w)]:
            os.kill(pid, signal.SIGKILL)
        procs.stop()
