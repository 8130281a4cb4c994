"""A plan's waves through `tierbot run`: independent subtasks' model calls in flight at once.

The scripted model server holds a model's first answer until its second request has arrived,
so a run whose calls were sequential cannot pass (its hold runs out instead), and nothing here
reads a clock. Commits stay one per subtask, in the schedule's order, whatever the parallelism.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_DONE, main
from tests.support.model_server import ScriptedModelServer, choose, reply
from tests.support.repos import git, make_repo, tier_config
from tests.test_orchestrator_local import FILES, SUBTASKS, plan_reply, subtask_commits

ISSUE = "Prices by region\n\nAlpha and beta price tables, and an .editorconfig.\n"
JUNIOR = "junior-model"


def feature(subtask_id: str, title: str, depends_on: tuple[str, ...] = ()) -> dict:
    return {
        "id": subtask_id,
        "type": "feature",
        "title": title,
        "instructions": f"Write shop/{subtask_id}.py with a price(n) function.",
        "files": [f"shop/{subtask_id}.py"],
        "depends_on": list(depends_on),
    }


EDITORCONFIG = next(s for s in SUBTASKS if s["id"] == "editorconfig")
ALPHA, BETA, GAMMA = (
    feature("alpha", "Alpha prices"),
    feature("beta", "Beta prices"),
    feature("gamma", "Gamma prices"),
)


def module(subtask_id: str, factor: int) -> str:
    return f"### shop/{subtask_id}.py\n```python\ndef price(n):\n    return n * {factor}\n```\n"


# Calls made at once arrive in any order: each answer is chosen by the subtask its prompt names.
ANSWERS = choose(
    {
        "Alpha prices": reply(module("alpha", 2)),
        "Beta prices": reply(module("beta", 3)),
        "Gamma prices": reply(module("gamma", 5)),
    }
)


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def run_feature(tmp_path: Path, capsys, url: str, extra: str = "") -> tuple[int, dict, str, Path]:
    repo = make_repo(
        tmp_path / "repo", {**FILES, ".github/tierbot.yml": tier_config(url, extra=extra)}
    )
    (tmp_path / "issue.md").write_text(ISSUE)
    issue = str(tmp_path / "issue.md")
    code = main(["run", "--repo", str(repo), "--issue-file", issue, "--json", "--type", "feature"])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out), err, repo


def ledger_rows(repo: Path) -> dict[str, list[tuple]]:
    """Each subtask's (attempt id, attempt outcome, commit, call outcome) rows, by subtask id."""
    path = repo / ".git" / "tierbot" / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        feature_id = db.execute("SELECT id FROM tasks WHERE parent_id IS NULL").fetchone()[0]
        rows = db.execute(
            "SELECT t.slug, a.id, a.outcome, a.commit_sha, c.tier, c.outcome"
            " FROM tasks t JOIN attempts a ON a.task_id = t.id"
            " LEFT JOIN model_calls c ON c.attempt_id = a.id AND c.task_id = t.id"
            " WHERE t.parent_id = ? ORDER BY a.id",
            (feature_id,),
        ).fetchall()
    by_subtask: dict[str, list[tuple]] = {}
    for slug, *row in rows:
        by_subtask.setdefault(slug.rsplit("-", 1)[-1], []).append(tuple(row))
    return by_subtask


def attempt_trailers(repo: Path, branch: str) -> dict[str, int]:
    """The ledger attempt each subtask's commit names in its Tierbot-Attempt trailer."""
    log = git(
        repo,
        "log",
        "--format=%(trailers:key=Tierbot-Subtask,valueonly,separator=)"
        " %(trailers:key=Tierbot-Attempt,valueonly,separator=)",
        f"main..{branch}",
    )
    return {s: int(a) for s, a in (line.split(" ") for line in log.splitlines())}


def test_independent_subtasks_calls_are_in_flight_at_once_and_commit_in_order(
    tmp_path, server, capsys
):
    server.script("senior-model", [reply(plan_reply([ALPHA, EDITORCONFIG, BETA]))])
    server.script(JUNIOR, [ANSWERS])
    # Alpha's answer waits until beta's request has arrived: only calls made at once pass.
    hold = server.hold(JUNIOR, until=2, timeout=8)

    code, result, err, repo = run_feature(tmp_path, capsys, server.url)

    assert code == EXIT_DONE, (result, err)
    assert hold.timed_out == [], err
    assert server.in_flight(JUNIOR) == 2
    assert "asking 2 subtasks' models at once: alpha, beta" in err
    commits = subtask_commits(repo, result["branch"])
    assert [(s, t) for _, s, t in commits] == [
        ("alpha", "junior"),
        ("editorconfig", "template"),
        ("beta", "junior"),
    ]
    assert "n * 2" in git(repo, "show", f"{result['branch']}:shop/alpha.py")
    assert "n * 3" in git(repo, "show", f"{result['branch']}:shop/beta.py")
    # Every task, attempt and call is in the ledger under its own subtask, and each commit
    # names the attempt of its own subtask.
    rows = ledger_rows(repo)
    trailers = attempt_trailers(repo, result["branch"])
    for subtask_id in ("alpha", "beta"):
        [(attempt_id, outcome, commit, call_tier, call_outcome)] = rows[subtask_id]
        assert (outcome, call_tier, call_outcome) == ("green", "junior", "ok")
        assert commit and trailers[subtask_id] == attempt_id
    assert [r[4] for r in rows["editorconfig"]] == ["ok"]


def test_parallel_bounds_the_calls_in_flight(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply([ALPHA, BETA, GAMMA]))])
    server.script(JUNIOR, [ANSWERS])
    hold = server.hold(JUNIOR, until=2, timeout=8)

    code, result, err, repo = run_feature(tmp_path, capsys, server.url, "plan:\n  parallel: 2\n")

    assert code == EXIT_DONE, (result, err)
    assert hold.timed_out == [] and len(server.requests_for(JUNIOR)) == 3
    assert server.in_flight(JUNIOR) == 2  # three subtasks ready, two calls at a time
    assert [s for _, s, _ in subtask_commits(repo, result["branch"])] == ["alpha", "beta", "gamma"]


def test_parallel_one_calls_one_after_another(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply([ALPHA, EDITORCONFIG, BETA]))])
    server.script(JUNIOR, [ANSWERS])
    # The second request never comes while the first is held: the hold runs out, the run goes on.
    hold = server.hold(JUNIOR, until=2, timeout=0.5)

    code, result, err, repo = run_feature(tmp_path, capsys, server.url, "plan:\n  parallel: 1\n")

    assert code == EXIT_DONE, (result, err)
    [first, second] = [m.number for m in server.timeline if m.model == JUNIOR][::2]
    assert hold.timed_out == [first]
    assert server.in_flight(JUNIOR) == 1
    assert [(m.kind, m.number) for m in server.timeline if m.model == JUNIOR] == [
        ("arrived", first),
        ("answered", first),
        ("arrived", second),
        ("answered", second),
    ]
    assert "at once" not in err
    commits = subtask_commits(repo, result["branch"])
    assert [s for _, s, _ in commits] == ["alpha", "editorconfig", "beta"]


# A long page the two model subtasks build on: shown in full in their prompts, it makes each
# call's worst case larger after the first wave than when the plan was admitted.
REFERENCE = "# Price reference\n\n" + "".join(
    f"- region {n}: prices are rounded to whole cents and shown with tax.\n" for n in range(400)
)
BASE = {
    "id": "base",
    "type": "docs",
    "title": "Price reference page",
    "instructions": "A long reference page on prices in docs/reference.md.",
    "files": ["docs/reference.md"],
    "depends_on": [],
}


def test_a_wave_asks_at_once_only_what_the_budget_covers_together(tmp_path, server, capsys):
    plan = [
        BASE,
        feature("alpha", "Alpha prices", ("base",)),
        feature("beta", "Beta prices", ("base",)),
    ]
    # The planner and the base page are on the free (loopback) intern tier; junior is priced.
    server.script(
        "intern-model",
        [reply(plan_reply(plan)), reply(f"### docs/reference.md\n```markdown\n{REFERENCE}```\n")],
    )
    server.script(JUNIOR, [ANSWERS, ANSWERS])
    # Room for one junior call at its worst, not two: asked at once, the second would be
    # refused; asked on its turn, after the first settled at its real cost, it fits.
    budget = "plan:\n  tier: intern\nbudget:\n  per_task_usd: 0.008\n"

    code, result, err, repo = run_feature(tmp_path, capsys, server.url, budget)

    assert code == EXIT_DONE, (result, err)
    assert "models at once" not in err
    assert server.in_flight(JUNIOR) == 1
    rows = ledger_rows(repo)
    assert {s: [r[4] for r in rows[s]] for s in ("alpha", "beta")} == {
        "alpha": ["ok"],
        "beta": ["ok"],
    }
    commits = [s for _, s, _ in subtask_commits(repo, result["branch"])]
    assert commits == ["base", "alpha", "beta"]


def test_a_wave_the_budget_covers_in_part_asks_that_part_at_once(tmp_path, server, capsys):
    plan = [
        BASE,
        *(feature(s, f"{s.title()} prices", ("base",)) for s in ("alpha", "beta", "gamma")),
    ]
    server.script(
        "intern-model",
        [reply(plan_reply(plan)), reply(f"### docs/reference.md\n```markdown\n{REFERENCE}```\n")],
    )
    server.script(JUNIOR, [ANSWERS, ANSWERS, ANSWERS])
    budget = "plan:\n  tier: intern\nbudget:\n  per_task_usd: 0.014\n"

    code, result, err, repo = run_feature(tmp_path, capsys, server.url, budget)

    assert code == EXIT_DONE, (result, err)
    assert "asking 2 subtasks' models at once: alpha, beta (1 wait" in err
    commits = [s for _, s, _ in subtask_commits(repo, result["branch"])]
    assert commits == ["base", "alpha", "beta", "gamma"]


def page(subtask_id: str, title: str) -> dict:
    return {
        "id": subtask_id,
        "type": "docs",
        "title": title,
        "instructions": f"A short page on {subtask_id} prices in docs/{subtask_id}.md.",
        "files": [f"docs/{subtask_id}.md"],
        "depends_on": [],
    }


PAGES = choose(
    {
        f"{name.title()} page": reply(
            f"### docs/{name}.md\n```markdown\n# {name.title()}\n\n{name.title()} prices.\n```\n"
        )
        for name in ("alpha", "beta")
    }
)


def test_pages_the_template_tier_declines_ask_their_model_at_once(tmp_path, server, capsys):
    server.script(
        "senior-model",
        [reply(plan_reply([page("alpha", "Alpha page"), page("beta", "Beta page")]))],
    )
    server.script("intern-model", [PAGES])
    hold = server.hold("intern-model", until=2, timeout=8)

    code, result, err, repo = run_feature(tmp_path, capsys, server.url)

    assert code == EXIT_DONE, (result, err)
    assert hold.timed_out == [], err
    assert server.in_flight("intern-model") == 2
    assert "asking 2 subtasks' models at once: alpha, beta" in err
    commits = subtask_commits(repo, result["branch"])
    assert [(s, t) for _, s, t in commits] == [("alpha", "intern"), ("beta", "intern")]
    # Each page was declined by the free tier first, as on its own, then done by the intern.
    rows = ledger_rows(repo)
    for subtask_id in ("alpha", "beta"):
        assert [(r[1], r[3]) for r in rows[subtask_id]] == [
            ("declined", "template"),
            ("green", "intern"),
        ]
