"""Wall time of a planned feature issue with its model calls one after another and at once.

A SCRIPTED run: `tierbot run --type feature` over a small repository, the planner's answer and
every subtask's answer served by the scripted model server on loopback, each subtask answer
after a fixed delay (``--delay``, standing in for a model's latency). The plan has ``--subtasks``
independent `feature` subtasks (all starting on the junior tier) and an `.editorconfig` from the
free template tier; the check is a no-op (`true`). The same run is timed with
``plan.parallel: 1`` and with ``plan.parallel: N``; each prints its wall time, and the ratio.
Only the latency of the calls overlaps: commits, the ledger and the check stay sequential.

Usage: python bench/orchestrator_parallel.py [--subtasks 4] [--delay 1.0] [--parallel 4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bot.cli import EXIT_DONE, main  # noqa: E402
from tests.support.model_server import ScriptedModelServer, choose, reply, slow  # noqa: E402
from tests.support.repos import make_repo, tier_config  # noqa: E402

ISSUE = "Regional prices\n\nOne price module per region, and an .editorconfig.\n"


def plan(count: int) -> str:
    subtasks = [
        {
            "id": f"r{n}",
            "type": "feature",
            "title": f"Region {n} prices",
            "instructions": f"Write shop/r{n}.py with price(n).",
            "files": [f"shop/r{n}.py"],
            "depends_on": [],
        }
        for n in range(count)
    ]
    subtasks.append(
        {
            "id": "editorconfig",
            "type": "config",
            "title": "EditorConfig",
            "instructions": "Add an .editorconfig file.",
            "files": [".editorconfig"],
            "depends_on": [],
        }
    )
    body = {"summary": "Regional prices.", "subtasks": subtasks}
    return "```json\n" + json.dumps(body) + "\n```\n"


def answers(count: int, delay: float) -> list:
    options = {
        f"Region {n} prices": slow(
            delay,
            reply(f"### shop/r{n}.py\n```python\ndef price(n):\n    return n * {n + 2}\n```\n"),
        )
        for n in range(count)
    }
    return [choose(options)]


def timed_run(root: Path, count: int, delay: float, parallel: int) -> float:
    with ScriptedModelServer() as server:
        server.script("senior-model", [reply(plan(count))])
        server.script("junior-model", answers(count, delay))
        config = tier_config(server.url, check="true", extra=f"plan:\n  parallel: {parallel}\n")
        repo = make_repo(
            root / f"p{parallel}", {"shop/__init__.py": "", ".github/tierbot.yml": config}
        )
        (root / "issue.md").write_text(ISSUE)
        argv = [
            "run",
            "--repo",
            str(repo),
            "--issue-file",
            str(root / "issue.md"),
            "--type",
            "feature",
        ]
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
        took = time.perf_counter() - started
    if code != EXIT_DONE:
        raise SystemExit(f"the run with plan.parallel: {parallel} ended with exit code {code}")
    return took


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subtasks", type=int, default=4)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds before each answer")
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed_run(root / "warm", 1, 0.0, 1)  # litellm's import and the first ledger, not timed
        one = timed_run(root, args.subtasks, args.delay, 1)
        many = timed_run(root, args.subtasks, args.delay, args.parallel)
    print(
        f"scripted: {args.subtasks} independent model subtasks, {args.delay:.2f} s per answer\n"
        f"plan.parallel: 1    {one:7.2f} s\n"
        f"plan.parallel: {args.parallel:<4} {many:7.2f} s\n"
        f"parallel / sequential: {many / one:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
