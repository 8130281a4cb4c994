"""Webhook acknowledgement latency and durable intake rate, beside a bare Starlette endpoint.

Both servers run under uvicorn in their own process on loopback; one client process drives
both in the same run:
- latency: signed `issues.labeled` deliveries paced at 200 requests/s, p50 / p99;
- rate: a burst of deliveries with 32 in flight; deliveries/s, then the jobs table is counted
  to prove every accepted delivery was stored.
Targets on a 2-core machine: p99 <= 20 ms at 200/s, >= 1,000 deliveries/s accepted durably.
The default body is a small `issues.labeled` payload; PAYLOAD_FILE replays a recorded one
instead (its folder names the event), e.g. the 24 KB
tests/fixtures/github/webhooks/payload-examples/pull_request/opened.payload.json, to see what
checking and redacting every string of a real payload costs.

Usage: python bench/webhook_ack.py [SECONDS_AT_200_PER_S] [BURST] [PAYLOAD_FILE]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
PAYLOAD = {
    "action": "labeled",
    "label": {"name": "tierbot:stub"},
    "issue": {"number": 7, "title": "Add a stub", "body": "Create src/a.py"},
    "repository": {"name": "r", "owner": {"login": "o"}, "default_branch": "main"},
    "sender": {"login": "alice", "type": "User"},
    "installation": {"id": 42},
}
EVENT, BODY = "issues", json.dumps(PAYLOAD).encode()
SIGNATURE = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def use_payload(path: Path) -> None:
    global EVENT, BODY, SIGNATURE
    EVENT, BODY = path.parent.name, path.read_bytes()
    SIGNATURE = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


APPS = """
import os
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

def tierbot():
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_sql import SqlQueue
    from bot.intake.web import create_app
    return create_app(secret=os.environ["SECRET"], queue=SqlQueue(SqlLedger(os.environ["DB"])))

def bare():
    async def ok(request):
        await request.body()
        return JSONResponse({"ok": True})
    return Starlette(routes=[Route("/webhook", ok, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(factory: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SECRET": SECRET,
        "DB": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "PYTHONPATH": f"{tmp}:{ROOT}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"bench_apps:{factory}",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}/webhook"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{factory} did not start")


async def post(session: aiohttp.ClientSession, url: str) -> float:
    headers = {
        "X-GitHub-Event": EVENT,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": SIGNATURE,
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    async with session.post(url, data=BODY, headers=headers) as response:
        await response.read()
        if response.status not in (200, 202):
            raise RuntimeError(f"{url}: HTTP {response.status}")
    return time.perf_counter() - started


async def paced(url: str, seconds: float, rate: int) -> list[float]:
    async with aiohttp.ClientSession() as session:
        await post(session, url)  # warm the connection pool and the server
        tasks = []
        start_at = time.perf_counter()
        for i in range(int(seconds * rate)):
            delay = start_at + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(session, url)))
        return list(await asyncio.gather(*tasks))


async def burst(url: str, count: int, concurrency: int = 32) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                await post(session, url)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    if len(sys.argv) > 3:
        use_payload(Path(sys.argv[3]))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bench_apps.py").write_text(APPS)
        servers = {name: start(name, tmp) for name in ("bare", "tierbot")}
        try:
            results = {}
            for name, (_, url) in servers.items():
                latencies = asyncio.run(paced(url, seconds, 200))
                rate = asyncio.run(burst(url, count))
                results[name] = (pct(latencies, 50), pct(latencies, 99), rate)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
        import sqlite3

        stored = (
            sqlite3.connect(tmp / "bench.sqlite3")
            .execute("select count(*) from jobs")
            .fetchone()[0]
        )
    expected = int(seconds * 200) + 1 + count
    print(f"{'endpoint':<28}{'p50 ms':>8}{'p99 ms':>8}{'req/s burst':>13}")
    for name, (p50, p99, rate) in results.items():
        label = "bare Starlette 200" if name == "bare" else "tierbot /webhook (durable)"
        print(f"{label:<28}{p50:>8.2f}{p99:>8.2f}{rate:>13.0f}")
    bare, ours = results["bare"], results["tierbot"]
    print(
        f"ratios tierbot/bare: p50 {ours[0] / bare[0]:.2f}x, p99 {ours[1] / bare[1]:.2f}x, "
        f"rate {ours[2] / bare[2]:.2f}x"
    )
    print(f"jobs stored: {stored} of {expected} deliveries sent ({EVENT}, {len(BODY)} bytes each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
