"""Overhead of one `tierbot run` task beside a bare `git worktree add` + `git commit`.

Both sides write the same file on a new branch in a new worktree of the same repository; the
tierbot side also builds the context, calls an instant scripted model over loopback HTTP
through litellm, parses and validates the edit, runs a no-op check (`true`) and records
everything in the SQLite ledger. Imports are warmed first: litellm's one-time import cost is
printed separately. Target: <= 100 ms above the bare git baseline.

Usage: python bench/run_overhead.py [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bot.adapters.git import LocalRepo  # noqa: E402
from bot.adapters.ledger import SqlLedger  # noqa: E402
from bot.adapters.llm import LiteLLMModels  # noqa: E402
from bot.adapters.localforge import LocalForge  # noqa: E402
from bot.adapters.prices import load_price_table  # noqa: E402
from bot.config import load_repo_config  # noqa: E402
from bot.engine import Engine, make_task  # noqa: E402
from bot.executor import Executor  # noqa: E402
from tests.support.model_server import ScriptedModelServer, reply  # noqa: E402
from tests.support.repos import make_repo, tier_config  # noqa: E402

CONTENT = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
EDIT = f"### calc.py\n```python\n{CONTENT}```\n"
IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def bare(repo: Path, n: int) -> float:
    start = time.perf_counter()
    branch = f"bare/{n}"
    path = repo / ".git" / "bare-wt" / str(n)
    subprocess.run(
        ["git", "worktree", "add", "-q", "-b", branch, str(path), "HEAD"], cwd=repo, check=True
    )
    (path / "calc.py").write_text(CONTENT)
    subprocess.run(["git", "add", "calc.py"], cwd=path, check=True)
    subprocess.run(["git", *IDENTITY, "commit", "-q", "-m", "mul"], cwd=path, check=True)
    elapsed = time.perf_counter() - start
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=repo, check=True)
    return elapsed


def tierbot(repo: LocalRepo, engine: Engine, n: int) -> float:
    start = time.perf_counter()
    task = make_task(f"Add mul to calc.py ({n})", "feature")
    branch = repo.unique_branch(task.slug)
    workspace = repo.add_worktree(branch)
    result = engine.run(
        task, workspace, Executor(forge=engine.forge, workspace=workspace, dry_run=False)
    )
    elapsed = time.perf_counter() - start
    repo.remove_worktree(workspace)
    assert result.status == "done", result
    return elapsed


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    started = time.perf_counter()
    import litellm  # noqa: F401

    import_s = time.perf_counter() - started
    with ScriptedModelServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.script("junior-model", [reply(EDIT)])
        root = make_repo(
            Path(tmp) / "repo",
            {
                "calc.py": "def add(a, b):\n    return a + b\n",
                ".github/tierbot.yml": tier_config(server.url, check="true"),
            },
        )
        repo = LocalRepo.open(root)
        engine = Engine(
            config=load_repo_config(root),
            models=LiteLLMModels(env=dict(os.environ)),
            ledger=SqlLedger(f"sqlite:///{tmp}/ledger.sqlite3"),
            forge=LocalForge(env=dict(os.environ), echo=lambda _l: None),
            prices=load_price_table(),
            repo=str(root),
        )
        bare(root, 0)
        tierbot(repo, engine, 0)  # warm: first HTTP connection, tables, templates
        b, t = [], []
        for n in range(1, rounds + 1):
            b.append(bare(root, n))
            t.append(tierbot(repo, engine, n))
    mb, mt = statistics.median(b), statistics.median(t)
    print(f"rounds: {rounds}")
    print(f"bare git worktree add + commit : {mb * 1000:8.1f} ms (median)")
    print(f"tierbot run, instant model     : {mt * 1000:8.1f} ms (median)")
    print(f"overhead above bare git        : {(mt - mb) * 1000:8.1f} ms   ratio {mt / mb:.2f}x")
    print(
        f"one-time `import litellm`      : {import_s * 1000:8.1f} ms (paid once per process,"
        " only when a model tier is called)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
