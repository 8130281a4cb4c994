"""Queue scale: jobs/s with 1, 2 and 4 procrastinate worker processes on PostgreSQL (each job
waits 100 ms, a stand-in for a model call), and intake p50/p99 on PostgreSQL and SQLite, side by
side in one run. Needs PostgreSQL at 127.0.0.1:5432 (trust auth, database ``test``).

    python bench/queue_scale.py [--jobs 120] [--deliveries 400]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_procrastinate import QUEUE, TASK, ProcrastinateQueue, make_app
from bot.adapters.queue_rows import Incoming
from bot.adapters.queue_sql import SqlQueue

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
JOB_S = 0.1


def schema_url() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"{PG}?options=-csearch_path%3D{schema}", schema


def drop(schema: str) -> None:
    with psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def worker_main(url: str, stop_after: float) -> None:
    app = make_app(url)

    @app.task(name=TASK, queue=QUEUE)
    def run_delivery(delivery_id: str, event: str, key: str, payload: dict) -> None:
        time.sleep(JOB_S)

    async def main() -> None:
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE], concurrency=1, wait=False, install_signal_handlers=False
            )

    asyncio.run(main())


def throughput(workers: int, jobs: int) -> float:
    url, schema = schema_url()
    try:
        with SqlLedger(url) as ledger:
            queue = ProcrastinateQueue(ledger)
            items = [
                Incoming(f"d{i}", "issues", "labeled", f"o/r#{i}", {"i": i}) for i in range(jobs)
            ]
            queue.accept_many(items)
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=worker_main, args=(url, 0)) for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        # From the first job started to the last one done: process start-up is not counted.
        with SqlLedger(url) as ledger, ledger.read() as session:
            span = session.execute(
                text(
                    "SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'succeeded') "
                    "- min(at) FILTER (WHERE type = 'started')) FROM procrastinate_events"
                )
            ).scalar_one()
        return jobs / float(span)
    finally:
        drop(schema)


def intake(queue: SqlQueue | ProcrastinateQueue, n: int, rate: float) -> tuple[float, float]:
    """Latency of one accept at ``rate`` deliveries/s (a delivery per request, no batching)."""
    times = []
    gap = 1.0 / rate
    start = time.perf_counter()
    for i in range(n):
        due = start + i * gap
        if (now := time.perf_counter()) < due:
            time.sleep(due - now)
        t0 = time.perf_counter()
        queue.accept_many([Incoming(f"i{i}", "issues", "labeled", f"o/r#{i % 50}", {"i": i})])
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=120)
    parser.add_argument("--deliveries", type=int, default=400)
    args = parser.parse_args()
    rates = {n: throughput(n, args.jobs) for n in (1, 2, 4)}
    url, schema = schema_url()
    try:
        with SqlLedger(url) as ledger:
            pg = intake(ProcrastinateQueue(ledger), args.deliveries, 200)
    finally:
        drop(schema)
    with tempfile.TemporaryDirectory() as tmp, SqlLedger(f"sqlite:///{tmp}/b.db") as ledger:
        lite = intake(SqlQueue(ledger), args.deliveries, 200)
    print(f"jobs of {JOB_S * 1000:.0f} ms, {args.jobs} per run, procrastinate on PostgreSQL")
    print("workers  jobs/s  speed-up")
    for n, r in rates.items():
        print(f"{n:>7}  {r:6.1f}  {r / rates[1]:7.2f}x")
    print(f"\nintake at 200 deliveries/s, {args.deliveries} deliveries")
    print("database    p50 ms  p99 ms")
    print(f"PostgreSQL  {pg[0]:6.2f}  {pg[1]:6.2f}")
    print(f"SQLite      {lite[0]:6.2f}  {lite[1]:6.2f}")


if __name__ == "__main__":
    main()
