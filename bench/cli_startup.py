"""`tierbot --help` wall time beside `python -c pass`, interleaved in one run (target <= 6x).

Usage: python bench/cli_startup.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    tierbot = str(Path(sys.executable).with_name("tierbot"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tierbot --help": [tierbot, "--help"],
        "tierbot run --help": [tierbot, "run", "--help"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        timed(cmd)  # warm the page cache and .pyc files
    for _ in range(rounds):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd))
    base = statistics.median(samples["python -c pass"])
    print(f"{'command':<22}{'median ms':>10}{'ratio':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<22}{median * 1000:>10.1f}{median / base:>8.2f}x")
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; main(['--help']); "
            "print('litellm' in sys.modules, 'sqlalchemy' in sys.modules, 'git' in sys.modules,"
            " file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    print(f"loaded by --help: litellm, sqlalchemy, git = {probe.stderr.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
