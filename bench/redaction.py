"""Time to redact a CI log beside copying it, interleaved in one run.

The log is a pytest-like run of LINES lines (a few MB) with the eight formats of
tests/support/planted.py scattered through it; the redactor knows the ~30 values a server
holds (keys, webhook secret, each line of the App key, minted tokens). Printed: MB/s of each
strength, and each as a ratio of `str.replace` of one value (a single pass over the text).

Usage: python bench/redaction.py [ROUNDS] [LINES]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.logs import Redactor, scrub
from tests.support import planted


def log_of(lines: int) -> str:
    known = {**planted.ENV, "TIERBOT_PRIVATE_KEY": planted.private_key_pem(0)}
    leaky = planted.log_text(known).splitlines()
    body = []
    for i in range(lines):
        body.append(f"tests/test_mod_{i % 97}.py::test_case_{i} PASSED [{i % 100:3d}%]")
        if i % 500 == 0:
            body.extend(leaky)
    return "\n".join(body)


def timed(job: Callable[[], object]) -> float:
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    text = log_of(lines)
    redactor = Redactor([*planted.ENV.values(), planted.private_key_pem(0)])
    for i in range(16):
        redactor.add_minted(f"ghs_{i:04d}" + "x" * 32)
    jobs: dict[str, Callable[[], object]] = {
        "str.replace (one value)": lambda: text.replace("gh-env-token", "[REDACTED]"),
        "redactor.values": lambda: redactor.values(text),
        "redactor.tokens": lambda: redactor.tokens(text),
        "redactor (full)": lambda: redactor(text),
        "scrub (patterns only)": lambda: scrub(text),
    }
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            times[name].append(timed(job))
    megabytes = len(text.encode()) / 1e6
    base = statistics.median(times["str.replace (one value)"])
    print(f"{megabytes:.1f} MB, {lines} lines, {len(redactor)} known values, {rounds} rounds")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<24} {megabytes / median:8.1f} MB/s  {median / base:6.1f}x str.replace")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
