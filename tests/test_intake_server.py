"""A real ``tierbot serve`` (uvicorn) refuses 100 MB unauthenticated bodies with 413 while its
memory stays flat: the body is capped as it streams, never read whole."""

from __future__ import annotations

import http.client
import re
import select
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.intake import SECRET, sign
from tests.support.server import TierbotProcesses

pytestmark = pytest.mark.slow

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 1024 * 1024
MAX_GROWTH = 50 * 1024 * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TierbotProcesses]:
    if not Path("/proc/self/status").exists():
        pytest.skip("memory is read from /proc")
    processes = TierbotProcesses(tmp_path, {"TIERBOT_WEBHOOK_SECRET": SECRET})
    processes.start_web()
    try:
        yield processes
    finally:
        processes.stop()


def _status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match, f"{field} missing from /proc/{pid}/status"
    return int(match.group(1)) * 1024


class PeakRss:
    """The most resident memory a process reaches while the block runs, sampled from /proc
    and, where the kernel allows resetting it, from its own high-water mark."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def __enter__(self) -> PeakRss:
        try:  # "5" resets VmHWM, so the kernel's own peak covers just this block
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm = True
        except OSError:
            self._hwm = False
        self.before = _status(self.pid, "VmRSS")
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, _status(self.pid, "VmRSS"))

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        if self._hwm:
            self.peak = max(self.peak, _status(self.pid, "VmHWM"))

    @property
    def growth(self) -> int:
        return self.peak - self.before


def upload(port: int, *, chunked: bool, signature: str | None) -> tuple[int, str]:
    """POST 100 MB of ``[`` (it would also nest too deeply); stop once the server answers."""
    head = [
        "POST /webhook HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "X-GitHub-Event: issues",
        "X-GitHub-Delivery: d-big",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}",
    ]
    if signature is not None:
        head.append(f"X-Hub-Signature-256: {signature}")
    piece = b"[" * CHUNK
    frame = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for _ in range(HUNDRED_MB // CHUNK):
                if select.select([sock], [], [], 0)[0]:
                    break  # the answer is there: no need to send the rest
                sock.sendall(frame)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: its answer is already on the way
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read().decode()


def test_100_mb_unauthenticated_bodies_get_413_and_memory_stays_flat(server):
    assert server.web is not None
    warm = b'{"zen": "warm up"}'
    with socket.create_connection(("127.0.0.1", server.port)) as sock:  # imports, engine
        sock.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\n"
            b"X-GitHub-Delivery: d-warm\r\nConnection: close\r\n"
            + f"X-Hub-Signature-256: {sign(warm)}\r\nContent-Length: {len(warm)}\r\n\r\n".encode()
            + warm
        )
        assert b" 200 " in sock.recv(4096)
    wrong = sign(b"not this body")  # well formed, so the body is read up to the cap
    cases = [(False, wrong), (True, wrong), (True, wrong), (True, wrong), (True, None)]
    with PeakRss(server.web.pid) as memory, ThreadPoolExecutor(len(cases)) as pool:
        answers = list(
            pool.map(lambda case: upload(server.port, chunked=case[0], signature=case[1]), cases)
        )
    assert [status for status, _ in answers] == [413, 413, 413, 413, 401], answers
    assert "payload too large" in answers[0][1]
    assert memory.growth < MAX_GROWTH, (
        f"RSS grew {memory.growth / 2**20:.1f} MB (from {memory.before / 2**20:.1f} MB) "
        f"for five 100 MB uploads at once"
    )
    assert server.web.poll() is None
