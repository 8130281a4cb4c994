"""No-op hook runs beside `python -c pass`, interleaved in one run.

A commit whose staged files need nothing (every public name already mentioned by a test, no
marked stub) must cost about what starting Python costs. Targets: one staged file <= 120 ms
and <= 6x `python -c pass`; 200 staged files <= 1 s. The repository is made in a temporary
directory: N modules with three public names each, tests that mention them, all staged; the
one-file runs are repeated in a copy with a `.github/tierbot.yml`, which must then be loaded.

Usage: python bench/hooks_noop.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES = 200
HEAVY = ("litellm", "sqlalchemy", "jinja2", "git", "rich", "click")
MODULE = '''\
"""Module {n}."""


def load_{n}(path: str) -> str:
    return path


def save_{n}(path: str, text: str) -> None:
    pass


class Store{n}:
    def get(self, key: str) -> str:
        return key
'''
TEST = """\
from pkg.mod_{n} import Store{n}, load_{n}, save_{n}


def test_mod_{n}() -> None:
    assert load_{n}("x") == "x"
    assert save_{n}("x", "y") is None
    assert Store{n}().get("k") == "k"
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def make_repo(root: Path) -> list[str]:
    git(root, "init", "-q", "-b", "main")
    (root / "pkg").mkdir()
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "README.md").write_text("bench\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    paths = []
    for n in range(FILES):
        (root / "pkg" / f"mod_{n}.py").write_text(MODULE.format(n=n))
        (root / "tests" / f"test_mod_{n}.py").write_text(TEST.format(n=n))
        paths.append(f"pkg/mod_{n}.py")
    git(root, "add", "-A")  # staged, not committed: what a hook sees at `git commit`
    return paths


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"not a no-op: {' '.join(cmd[:3])} ... -> {result.returncode}\n"
            f"{result.stdout}{result.stderr}"
        )
    return elapsed


def loaded_heavy(cmd: list[str], cwd: Path) -> list[str]:
    """Heavy top-level packages imported by a run, from ``python -X importtime``."""
    result = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, capture_output=True, text=True
    )
    modules = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return sorted(modules.intersection(HEAVY))


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="tierbot-bench-") as tmp:
        root = Path(tmp) / "defaults"
        configured = Path(tmp) / "configured"
        root.mkdir()
        configured.mkdir()
        paths = make_repo(root)
        # The same repository with a config file: the hooks must then load and validate it.
        make_repo(configured)
        (configured / ".github").mkdir()
        (configured / ".github" / "tierbot.yml").write_text("hooks: {strict: true}\n")
        git(configured, "add", "-A")
        tests_hook = [python, "-m", "bot.hooks.tests_hook"]
        stubs_hook = [python, "-m", "bot.hooks.stubs_hook"]
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "tierbot-tests, 1 file": [*tests_hook, paths[0]],
            "tierbot-stubs, 1 file": [*stubs_hook, paths[0]],
            f"tierbot-tests, {FILES} files": [*tests_hook, *paths],
            f"tierbot-stubs, {FILES} files": [*stubs_hook, *paths],
            f"git hook, {FILES} staged": [python, "-P", "-m", "bot.hooks.git_hook"],
            "tierbot-tests, 1 file, config": [*tests_hook, paths[0]],
            "tierbot-stubs, 1 file, config": [*stubs_hook, paths[0]],
        }
        where = {name: configured if name.endswith("config") else root for name in commands}
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for name, cmd in commands.items():
            timed(cmd, where[name])  # warm the page cache and .pyc files
        for _ in range(rounds):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, where[name]))
        base = statistics.median(samples["python -c pass"])
        base_min = min(samples["python -c pass"])
        print(
            f"{'no-op run':<28}{'median ms':>10}{'ratio':>8}{'min ms':>9}{'ratio':>8}"
            "  heavy imports"
        )
        for name, values in samples.items():
            median, fastest = statistics.median(values), min(values)
            heavy = "-"
            if name != "python -c pass":
                heavy = ", ".join(loaded_heavy(commands[name], where[name])) or "none"
            print(
                f"{name:<28}{median * 1000:>10.1f}{median / base:>7.2f}x"
                f"{fastest * 1000:>9.1f}{fastest / base_min:>7.2f}x  {heavy}"
            )
    print("targets: 1 file <= 120 ms and <= 6x python -c pass; 200 files <= 1000 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
