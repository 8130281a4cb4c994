"""Reading through the path guard beside a plain ``Path.read_bytes``, interleaved in one run.

The guard walks each path one directory at a time with ``O_NOFOLLOW`` and checks the file's
type before reading, a few more system calls per file. This prints what that costs for the
reads of a task's context or of a hook run: N small files at depth 1 and at depth 4.

Usage: python bench/path_guard.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.adapters.pathguard import PathGuard

FILES = 200


def tree(root: Path, depth: int) -> list[str]:
    folder = "/".join(f"d{level}" for level in range(depth - 1))
    paths = [f"{folder}/m{n}.py" if folder else f"m{n}.py" for n in range(FILES)]
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"def f{path.__hash__() & 0xFFFF}():\n    return 1\n" * 20)
    return paths


def timed(read: Callable[[str], bytes], paths: list[str]) -> float:
    started = time.perf_counter()
    for path in paths:
        read(path)
    return time.perf_counter() - started


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        for depth in (1, 4):
            root = Path(tmp) / f"depth{depth}"
            root.mkdir()
            paths = tree(root, depth)
            guard = PathGuard(root)
            plain: list[float] = []
            guarded: list[float] = []
            for _ in range(rounds):
                plain.append(timed(lambda p, r=root: (r / p).read_bytes(), paths))
                guarded.append(timed(guard.read_bytes, paths))
            p, g = statistics.median(plain), statistics.median(guarded)
            print(
                f"depth {depth}, {FILES} files: plain {p * 1e3:.2f} ms, guarded {g * 1e3:.2f} ms "
                f"({g / p:.1f}x; {(g - p) / FILES * 1e6:.1f} us more per file)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
