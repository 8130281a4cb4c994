"""The orchestrator through `tierbot run`: real git repos, the scripted model server over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_BUDGET_STOP, EXIT_DONE, EXIT_NEEDS_HUMAN, main
from tests.support.model_server import ScriptedModelServer, http_error, reply
from tests.support.repos import git, make_repo, tier_config

ISSUE = """\
Coupons: percentage discounts at checkout

Customers should be able to apply a coupon code that takes a percentage off a price.

- a Coupon type (code, percent)
- apply_coupon(price, coupon) in shop/discount.py, never below zero
- tests for shop/discount.py
- an .editorconfig for the new files
- a short docs page on coupons
"""


SUBTASKS = [
    {
        "id": "coupon",
        "type": "stub",
        "title": "Coupon data type",
        "instructions": "Create the Coupon type the discount logic uses.",
        "files": ["shop/coupon.py"],
        "depends_on": [],
        "signatures": ["@dataclass(frozen=True)\nclass Coupon:\n    code: str\n    percent: int"],
    },
    {
        "id": "discount",
        "type": "feature",
        "title": "Apply a coupon to a price",
        "instructions": "apply_coupon(price, coupon) takes coupon.percent off, never below 0.",
        "files": ["shop/discount.py"],
        "depends_on": ["coupon"],
        "hard": True,
    },
    {
        "id": "discount-tests",
        "type": "tests",
        "title": "Tests of the discount logic",
        "instructions": "Skeleton tests for shop/discount.py.",
        "files": ["tests/test_discount.py"],
        "depends_on": ["discount"],
    },
    {
        "id": "editorconfig",
        "type": "config",
        "title": "EditorConfig",
        "instructions": "Add an .editorconfig file.",
        "files": [".editorconfig"],
        "depends_on": [],
    },
    {
        "id": "docs",
        "type": "docs",
        "title": "Coupons page",
        "instructions": "A short page on coupons in docs/coupons.md.",
        "files": ["docs/coupons.md"],
        "depends_on": ["discount"],
    },
]


def plan_reply(subtasks: list[dict] = SUBTASKS, summary: str = "Percentage coupons.") -> str:
    return "```json\n" + json.dumps({"summary": summary, "subtasks": subtasks}) + "\n```\n"


def discount(body: str) -> str:
    return (
        "### shop/discount.py\n```python\nfrom shop.coupon import Coupon\n\n\n"
        f"def apply_coupon(price: int, coupon: Coupon) -> int:\n    {body}\n```\n"
    )


GOOD_DISCOUNT = discount("return max(price - price * coupon.percent // 100, 0)")
# Imports a module nobody wrote: the skeleton tests of shop/discount.py fail to import it.
WRONG_DISCOUNT = GOOD_DISCOUNT.replace("from shop.coupon import", "from shop.coupons import")
DOCS = "### docs/coupons.md\n```markdown\n# Coupons\n\nA coupon takes a percentage off.\n```\n"
FILES = {
    "shop/__init__.py": "",
    "shop/cart.py": "def total(prices):\n    return sum(prices)\n",
    "tests/test_cart.py": (
        "from shop.cart import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    ),
}


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def make(tmp_path: Path, url: str, extra: str = "") -> Path:
    files = {**FILES, ".github/tierbot.yml": tier_config(url, extra=extra)}
    repo = make_repo(tmp_path / "repo", files)
    (tmp_path / "issue.md").write_text(ISSUE)
    return repo


def run(capsys, repo: Path, *args: str) -> tuple[int, dict, str]:
    issue = str(repo.parent / "issue.md")
    code = main(["run", "--repo", str(repo), "--issue-file", issue, "--json", *args])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out), err


def subtask_commits(repo: Path, branch: str) -> list[tuple[str, str, str]]:
    """(sha, subtask, tier) of every commit on the branch, oldest first."""
    log = git(
        repo,
        "log",
        "--reverse",
        "--format=%H %(trailers:key=Tierbot-Subtask,valueonly,separator=)"
        " %(trailers:key=Tierbot-Tier,valueonly,separator=)",
        f"main..{branch}",
    )
    return [tuple(line.split(" ")) for line in log.splitlines()]  # type: ignore[misc]


def test_feature_issue_is_planned_and_each_subtask_runs_on_its_own_tier(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    assert result["status"] == "done" and result["orchestrated"]
    by_id = {s["id"]: s for s in result["subtasks"]}
    assert {k: (v["tier"], v["outcome"]) for k, v in by_id.items()} == {
        "coupon": ("template", "done"),
        "discount": ("senior", "done"),
        "discount-tests": ("template", "done"),
        "editorconfig": ("template", "done"),
        "docs": ("intern", "done"),
    }
    assert by_id["coupon"]["cost_usd"] == 0 and by_id["discount"]["cost_usd"] > 0
    assert result["cost_usd"] < result["senior_cost_usd"]
    branch = result["branch"]
    assert branch == "tierbot/coupons-percentage-discounts-at-checkout"
    # One commit per subtask, in dependency order, each naming its subtask and tier.
    commits = subtask_commits(repo, branch)
    assert [(s, t) for _, s, t in commits] == [
        ("coupon", "template"),
        ("discount", "senior"),
        ("discount-tests", "template"),
        ("editorconfig", "template"),
        ("docs", "intern"),
    ]
    assert git(repo, "show", f"{branch}:shop/coupon.py").count("class Coupon") == 1
    assert "def test_" in git(repo, "show", f"{branch}:tests/test_discount.py")
    # The hard subtask's model read its own work and its dependency, not the whole issue.
    senior = server.requests_for("senior-model")
    assert len(senior) == 2
    prompt = json.dumps(senior[1].messages)
    assert "class Coupon" in prompt and "a short docs page" not in prompt
    # Junior was never called: grunt work started at the free tier.
    assert server.requests_for("junior-model") == []
    assert git(repo, "branch", "--show-current").strip() == "main"


def test_red_check_escalates_only_the_subtask_that_owns_the_failing_file(tmp_path, server, capsys):
    server.script(
        "senior-model", [reply(plan_reply()), reply(WRONG_DISCOUNT), reply(GOOD_DISCOUNT)]
    )
    server.script("intern-model", [reply(DOCS)])
    repo = make(tmp_path, server.url)

    code, result, err = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, (result, err)
    by_id = {s["id"]: s for s in result["subtasks"]}
    assert [a[:2] for a in by_id["discount"]["attempts"]] == [
        ["senior", "check-failed"],
        ["senior", "green"],
    ]
    others = [a[1] for i in by_id if i != "discount" for a in by_id[i]["attempts"]]
    assert "check-failed" not in others and others.count("green") == 4
    assert result["check_rounds"] == 2
    commits = subtask_commits(repo, result["branch"])
    assert [s for _, s, _ in commits].count("discount") == 2
    assert [s for _, s, _ in commits].count("coupon") == 1
    assert "shop/discount.py -> discount" in err


def test_subtask_at_its_ceiling_stops_the_plan_and_keeps_the_others(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply()), reply(WRONG_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_NEEDS_HUMAN
    assert "discount reached its ceiling" in result["reason"]
    by_id = {s["id"]: s for s in result["subtasks"]}
    assert by_id["discount"]["outcome"] == "needs-human"
    assert by_id["coupon"]["outcome"] == "done" and by_id["coupon"]["commit"]
    assert result["branch"]  # the branch and its commits stay for a person


BAD_PLANS = {
    "not json": "I would split this into a few parts, starting with the model.",
    "unknown type": plan_reply([{**SUBTASKS[0], "type": "magic"}]),
    "cycle": plan_reply(
        [
            {**SUBTASKS[0], "depends_on": ["discount"]},
            {**SUBTASKS[1], "depends_on": ["coupon"]},
        ]
    ),
    "protected path": plan_reply([{**SUBTASKS[3], "files": [".github/workflows/ci.yml"]}]),
    "two owners": plan_reply([SUBTASKS[0], {**SUBTASKS[1], "files": ["shop/coupon.py"]}]),
    "too many": plan_reply(
        [{**SUBTASKS[4], "id": f"d{i}", "files": [f"docs/{i}.md"]} for i in range(9)]
    ),
    "empty": plan_reply([]),
}
REASONS = {
    "not json": "JSON",
    "unknown type": "unknown type 'magic'",
    "cycle": "cycle",
    "protected path": ".github/workflows/ci.yml",
    "two owners": "each file belongs to one subtask",
    "too many": "at most 8",
    "empty": "no subtasks",
}


@pytest.mark.parametrize("bad", sorted(BAD_PLANS))
def test_bad_plan_is_retried_once_with_its_reasons_then_falls_back(tmp_path, server, capsys, bad):
    server.script("senior-model", [reply(BAD_PLANS[bad])])
    server.script("junior-model", [reply(GOOD_DISCOUNT.replace("shop/discount.py", "shop/d.py"))])
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE and not result["orchestrated"]
    assert len(result["notes"]) == 3
    assert (
        REASONS[bad] in result["notes"][0] and "asking the planner once more" in result["notes"][0]
    )
    assert "running the issue on one ladder instead" in result["notes"][1]
    assert "one ladder" in result["notes"][2]
    planner = server.requests_for("senior-model")
    assert len(planner) >= 2
    # The retry carries the reasons.
    assert REASONS[bad] in json.dumps(planner[1].messages)
    assert result["fallback"]["attempts"][0]["tier"] == "junior"


def test_plan_only_makes_one_call_and_no_commit(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply())])
    repo = make(tmp_path, server.url)
    branches = git(repo, "branch", "--list")

    code, result, _ = run(capsys, repo, "--type", "feature", "--plan-only")

    assert code == EXIT_DONE
    assert result["status"] == "planned"
    assert [s["id"] for s in result["plan"]["subtasks"]] == [s["id"] for s in SUBTASKS]
    starts = {r["id"]: r["start"] for r in result["estimate"]["subtasks"]}
    assert starts == {
        "coupon": "template",
        "discount": "senior",
        "discount-tests": "template",
        "editorconfig": "template",
        "docs": "template",
    }
    assert "would write shop/coupon.py" in result["estimate"]["subtasks"][0]["template"]
    assert result["estimate"]["worst_usd"] >= result["estimate"]["cheapest_usd"] > 0
    assert len(server.requests) == 1
    assert git(repo, "branch", "--list") == branches


def test_dry_run_makes_no_call_and_names_the_planner(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature", "--dry-run")

    assert code == EXIT_DONE
    assert result["planner"]["tier"] == "senior"
    assert result["planner"]["prompt_tokens"] > 0
    assert result["worst_total_usd"] > result["planner"]["worst_per_call_usd"] > 0
    assert server.requests == []
    assert "tierbot/" not in git(repo, "branch", "--list")


def test_plan_that_cannot_fit_the_budget_stops_before_any_subtask(tmp_path, server, capsys):
    second = {**SUBTASKS[1], "id": "checkout", "files": ["shop/checkout.py"]}
    server.script("senior-model", [reply(plan_reply([*SUBTASKS, second]))])
    # Room for the planner's call (~$0.07 at worst) but not for two senior subtasks after it.
    repo = make(tmp_path, server.url, extra="budget:\n  per_task_usd: 0.1\n")

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_BUDGET_STOP, result
    assert "cannot fit the budget" in result["reason"]
    assert all(s["attempts"] == [] for s in result["subtasks"])
    assert len(server.requests) == 1 and result["branch"] is None


def test_unreachable_tier_escalates_the_subtask_like_any_task(tmp_path, server, capsys):
    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [http_error(503, "down")])
    server.script("junior-model", [reply(DOCS)])
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    docs = next(s for s in result["subtasks"] if s["id"] == "docs")
    assert [a[:2] for a in docs["attempts"]][-1] == ["junior", "green"]
    assert ["intern", "model-error"] in [a[:2] for a in docs["attempts"]]


def test_auto_triage_is_free_when_the_words_decide(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    (repo / "shop" / "tax.py").write_text("def vat(price):\n    return price // 5\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tax")
    code = main(["run", "--repo", str(repo), "--json", "Add skeleton tests for shop/tax.py"])
    _, err = capsys.readouterr()

    assert code == EXIT_DONE, err
    assert "triage: tests (keywords" in err
    assert server.requests == []


def test_auto_triage_asks_the_cheapest_tier_once_when_vague(tmp_path, server, capsys):
    server.script(
        "intern-model", [reply('```json\n{"type": "docs", "reason": "a page"}\n```'), reply(DOCS)]
    )
    repo = make(tmp_path, server.url)
    code = main(["run", "--repo", str(repo), "--json", "Coupons\n\nThe coupon thing, see chat."])
    _, err = capsys.readouterr()

    assert "triage: docs (model: a page)" in err
    triage = server.requests_for("intern-model")[0]
    assert "UNTRUSTED" in json.dumps(triage.messages)
    assert code == EXIT_DONE, err


def test_plan_only_on_a_grunt_type_is_a_usage_error(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    code = main(["run", "--repo", str(repo), "--type", "tests", "--plan-only", "x"])
    _, err = capsys.readouterr()
    assert code == 2 and "--plan-only plans a feature issue" in err


def test_an_edit_of_another_subtasks_file_is_refused_and_retried(tmp_path, server, capsys):
    trespass = "### shop/coupon.py\n```python\nCOUPON = 1\n```\n"
    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(trespass), reply(DOCS)])
    repo = make(tmp_path, server.url)

    code, result, _ = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    docs = next(s for s in result["subtasks"] if s["id"] == "docs")
    assert [a[:2] for a in docs["attempts"]] == [
        ["template", "declined"],
        ["intern", "policy"],
        ["intern", "green"],
    ]
    retry = json.dumps(server.requests_for("intern-model")[1].messages)
    assert "shop/coupon.py belongs to subtask 'coupon'" in retry
    assert "class Coupon" in git(repo, "show", f"{result['branch']}:shop/coupon.py")


def test_a_plan_run_round_trips_through_its_stored_json():
    from bot.config import load_config
    from bot.core.plan import parse_plan
    from bot.core.plan_run import PlannerRun, PlanRun
    from bot.core.routing import route
    from bot.engine import TaskRun, make_task
    from bot.orchestrator.state import FeatureRun, is_feature_state

    plan = parse_plan(plan_reply())
    assert not isinstance(plan, list)
    run = PlanRun.start(plan, PlannerRun("senior", 1, 0.01, 0.01)).running("coupon")
    engine = TaskRun(7, make_task("x", "stub"), route(load_config(None), "stub"))
    feature = FeatureRun(3, make_task(ISSUE, "feature"), run, {"coupon": engine}, {"coupon": ["a"]})
    data = json.loads(json.dumps(feature.to_json()))

    again = FeatureRun.from_json(data)
    assert is_feature_state(data) and not is_feature_state(engine.to_json())
    assert again.to_json() == feature.to_json()
    assert again.run.get("coupon").state == "running"
