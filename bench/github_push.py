"""API calls and wall time of one task's GitHub round through the adapter, beside plain `git push`.

The task: branch + commit + push + open PR + status comment, against the GitHub emulator over
loopback HTTP and real `git http-backend` pushes. The adapter side does what a handler does:
a worktree on `tierbot/issue-<n>`, a commit, `GitHubForge.push` (askpass token), `find_pull`
(idempotency: a redelivered event must not open a second PR), `create_pull`, and
`upsert_comment` for the status comment. The baseline is the same branch, commit and push with
the git CLI alone (token in an `http.extraHeader`), which opens no PR and posts nothing.

The adapter runs twice: with PyGithub's request pacing (0.25 s between requests, 1 s between
writes: GitHub's advice against secondary rate limits, and the production default) and without
it, so the cost of pacing is visible apart from the adapter's own. Target: <= 10 API calls per
task.

Most of the git-side difference is the askpass handshake: git sends credentials only after a
401, so each push makes one more round trip and runs the helper twice (about 60 ms here). A
header sent up front would save that, but libcurl forwards custom headers across a redirect
to another host, while askpass credentials stay with the host that asked for them.

Usage: python bench/github_push.py [ROUNDS]
"""

from __future__ import annotations

import base64
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.git import LocalRepo  # noqa: E402
from bot.adapters.github import GitHubApp, GitHubForge  # noqa: E402
from bot.core.types import EditSet, FileEdit  # noqa: E402
from tests.support.github_emulator import GitHubEmulator  # noqa: E402

REPO = "octo/demo"
MARKER = "<!-- tierbot:state -->"
CONTENT = "def mul(a, b):\n    return a * b\n"
IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def plain_git(emulator: GitHubEmulator, checkout: Path, branch: str) -> float:
    token = emulator.issue_token(REPO)  # outside the timing: the adapter's is cached too
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    header = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    start = time.perf_counter()
    git = ["git", *IDENTITY]
    name = branch.replace("/", "_")
    subprocess.run([*git, "checkout", "-q", "-b", branch, "origin/main"], cwd=checkout, check=True)
    (checkout / f"{name}.py").write_text(CONTENT)
    subprocess.run([*git, "add", f"{name}.py"], cwd=checkout, check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"mul {name}"], cwd=checkout, check=True)
    subprocess.run(
        [*git, *header, "push", "-q", "origin", f"{branch}:{branch}"], cwd=checkout, check=True
    )
    return time.perf_counter() - start


def adapter(
    emulator: GitHubEmulator, forge: GitHubForge, clone: LocalRepo, n: int
) -> tuple[float, float, Counter[str]]:
    """(seconds for the whole task, seconds of it in git, API calls it made)."""
    number = emulator.open_issue(REPO, f"Add mul {n}", "please").number
    before = Counter(forge.calls)
    start = time.perf_counter()
    branch = f"tierbot/issue-{number}"
    workspace = clone.add_worktree(branch, base="origin/main")
    workspace.apply(EditSet((FileEdit(f"mul_{n}.py", CONTENT),)))
    workspace.commit(f"Add mul {n}", {"Tierbot-Tier": "template"})
    forge.push(workspace.root, branch)
    git_s = time.perf_counter() - start
    pull = forge.find_pull(REPO, branch)
    if pull is None:
        pull = forge.create_pull(REPO, branch, "main", f"Add mul {n}", f"Closes #{number}")
    forge.upsert_comment(REPO, number, MARKER, f"{MARKER}\n⏳ PR #{pull.number} opened")
    elapsed = time.perf_counter() - start
    clone.remove_worktree(workspace)
    emulator.wait_for_ci()  # the PR's CI run, outside the timing, so it competes with nothing
    return elapsed, git_s, Counter(forge.calls) - before


@dataclass
class Result:
    name: str
    rounds: int
    first_s: float
    first_calls: int
    setup_calls: dict[str, int]
    task_s: float  # median of the whole task
    git_s: float  # median of its branch + commit + push part
    plain_s: float  # median of the plain git baseline
    per_task: list[int]
    calls: Counter[str]


def run(rounds: int, paced: bool, emulator: GitHubEmulator, tmp: Path) -> Result:
    app = GitHubApp(emulator.app_id, emulator.private_key_pem, api_url=emulator.api_url)
    installation = app.installation_id(REPO)
    if paced:
        forge = GitHubForge(app, installation)
    else:
        forge = GitHubForge(app, installation, pace_requests_s=None, pace_writes_s=None)
    name = "paced (production default)" if paced else "unpaced"
    clone = LocalRepo.open(forge.clone(REPO, tmp / f"adapter-{paced}"))
    checkout = forge.clone(REPO, tmp / f"plain-{paced}")
    setup_calls = dict(app.calls)  # the installation lookup and the token the clones used
    first_s, _, first_calls = adapter(emulator, forge, clone, 0)  # warm: connections
    plain_git(emulator, checkout, f"plain-{paced}/0")
    tasks, gits, plains, per_task = [], [], [], []
    calls: Counter[str] = Counter()
    for n in range(1, rounds + 1):
        plains.append(plain_git(emulator, checkout, f"plain-{paced}/{n}"))
        elapsed, git_s, used = adapter(emulator, forge, clone, n)
        tasks.append(elapsed)
        gits.append(git_s)
        per_task.append(sum(used.values()))
        calls += used
    forge.close()
    app.close()
    return Result(
        name=name,
        rounds=rounds,
        first_s=first_s,
        first_calls=sum(first_calls.values()),
        setup_calls=setup_calls,
        task_s=statistics.median(tasks),
        git_s=statistics.median(gits),
        plain_s=statistics.median(plains),
        per_task=per_task,
        calls=calls,
    )


def report(r: Result) -> None:
    per_op = ", ".join(f"{op} {n / r.rounds:g}" for op, n in sorted(r.calls.items()))
    print(f"== adapter, {r.name}: {r.rounds} rounds, medians ==")
    print(f"API calls per task             : {max(r.per_task)} (max); per op: {per_op}")
    print(f"once per process (App JWT)     : {r.setup_calls}")
    print(f"first task (cold connections)  : {r.first_calls} API calls, {r.first_s * 1000:.0f} ms")
    print(f"plain git branch+commit+push   : {r.plain_s * 1000:8.1f} ms")
    ratio = r.git_s / r.plain_s
    print(f"adapter branch+commit+push     : {r.git_s * 1000:8.1f} ms   ratio {ratio:.2f}x")
    ratio = r.task_s / r.plain_s
    print(f"adapter whole task (+PR, note) : {r.task_s * 1000:8.1f} ms   ratio {ratio:.2f}x")


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp, GitHubEmulator() as emulator:
        files = {"README.md": "# demo\n", ".github/tierbot.yml": "check:\n  command: 'true'\n"}
        emulator.create_repo(REPO, files)
        results = [run(rounds, False, emulator, Path(tmp)), run(rounds, True, emulator, Path(tmp))]
    for result in results:
        report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
