"""PR review end to end: the GitHub emulator, the scripted model server, a SQL ledger."""

from __future__ import annotations

import json
import re

import pytest

from bot.core.budget import estimate_tokens
from bot.core.review import decode_marker
from bot.core.types import Status
from bot.handlers.review import review_on_label, review_on_open
from bot.ports.github import GitHubError
from bot.service.review import review_pull
from tests.support.github_emulator import server_error, slow
from tests.support.github_emulator.hub import Actor
from tests.support.handlers import JUNIOR, REPO, SENIOR, Bench, repo_config
from tests.support.model_server import garbage, reply, truncated
from tests.support.model_server import slow as slow_model

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]

APP = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(20))  # 80 lines


def answer(*findings: dict[str, object]) -> str:
    return "Here is what I found.\n\n```json\n" + json.dumps(list(findings)) + "\n```\n"


def finding(path: str, line: int, body: str, severity: str = "major", **rest: object) -> dict:
    return {"path": path, "line": line, "side": "RIGHT", "severity": severity, "body": body, **rest}


def changed_app(offset: int = 0) -> str:
    lines = APP.splitlines()
    lines[5] = "    return x * 5  # was + 5"
    return "\n".join(["# header"] * offset + lines) + "\n"


def setup_pull(bench: Bench, *, extra: str = "", **files: str) -> int:
    bench.make_repo({"app.py": APP}, config=repo_config(bench.models.url, extra=extra))
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]  # reviews need no CI
    return bench.open_pull("feature", {"app.py": changed_app(), **files}, title="Multiply")


def ledger_task(bench: Bench) -> tuple[object, list[object], list[object]]:
    (task,) = bench.ledger.report_rows(repo=REPO).tasks
    return task, bench.ledger.attempts(task.id), bench.ledger.calls(task.id)


def test_inline_comments_land_only_on_diff_lines_and_the_rest_go_to_the_summary(bench: Bench):
    number = setup_pull(bench)
    bench.models.script(
        SENIOR,
        [
            reply(
                answer(
                    finding(
                        "app.py",
                        6,
                        "Multiplies where it should add.",
                        suggestion="    return x + 5",
                    ),
                    finding("app.py", 70, "f17 is never called.", "minor"),
                    finding("lib.py", 3, "No such file in this PR."),
                    finding("", 0, "The PR has no tests.", "minor"),
                    finding("app.py", 7, "Just a nit.", "nit"),
                )
            )
        ],
    )

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    (review,) = bench.reviews(number)
    comments = bench.review_comments(number)
    assert [(c.path, c.line, c.side) for c in comments] == [("app.py", 6, "RIGHT")]
    assert "Multiplies where it should add." in comments[0].body
    assert "```suggestion\n    return x + 5\n```" in comments[0].body
    assert review.state == "COMMENTED" and review.commit_id == bench.issue(number).pull.head_sha
    assert bench.forge.calls["create_review"] == 1  # one request: GitHub never answered 422

    (summary,) = bench.summaries(number)
    body = summary.body
    assert "Reviewed 1 of 1 changed files (+1 -1 lines) in 1 part." in body
    assert "`app.py` line 70: f17 is never called. _(line 70 is not part of this diff)_" in body
    assert "`lib.py` is not a file of this diff" in body
    assert "the pull request: The PR has no tests. _(about the pull request as a whole)_" in body
    assert "1 below the `minor` threshold not shown" in body
    assert "Just a nit" not in body
    assert len(decode_marker(body)) == 4
    cost = re.search(r"_Cost: \$(\d+\.\d{4}) \(senior `openai/senior-model`: 1 call, ", body)
    assert cost and body.rstrip().splitlines()[-1].startswith("<!-- tierbot:review ")

    # The prompt showed the diff numbered as the model must cite it, fenced as untrusted.
    (system, user) = bench.prompts()
    assert "UNTRUSTED" in system and " 6 +    return x * 5  # was + 5" in user

    task, attempts, calls = ledger_task(bench)
    assert (task.type, task.status, task.start_tier) == ("review", Status.DONE, "senior")
    assert [a.tier for a in attempts] == ["senior"] and attempts[0].outcome == "green"
    (call,) = calls
    assert call.record.tier == "senior" and call.record.prompt_tokens and call.record.cost_usd
    assert f"{call.record.cost_usd:.4f}" == cost.group(1) == f"{task.cost_usd:.4f}"


def test_a_re_review_after_a_push_posts_nothing_twice_and_edits_the_summary(bench: Bench):
    number = setup_pull(bench)
    first = [
        finding("app.py", 6, "Multiplies where it should add."),
        finding("app.py", 70, "f17 is never called.", "minor"),
    ]
    bench.models.script(SENIOR, [reply(answer(*first))])
    event = bench.label(number, "tierbot:review")
    review_on_label(event, bench.ctx)
    (summary,) = bench.summaries(number)
    first_body = summary.body

    # A push moves every line down by two; the model repeats itself and finds one new thing.
    bench.emulator.push_files(REPO, "feature", {"app.py": changed_app(offset=2)}, "More")
    again = [
        finding("app.py", 8, "Multiplies where it should add."),
        finding("app.py", 72, "f17 is never called.", "minor"),
        finding("app.py", 1, "A header comment says nothing.", "minor"),
    ]
    bench.models.script(SENIOR, [reply(answer(*again))])
    config = bench.ctx.repo_config(event)
    assert not isinstance(config, Exception)
    review_pull(bench.ctx, event.repo, number, config)

    reviews = bench.reviews(number)
    assert len(reviews) == 2
    assert reviews[1].commit_id == bench.issue(number).pull.head_sha != reviews[0].commit_id
    bodies = [c.body for c in bench.review_comments(number)]
    assert len(bodies) == 2 and sum("Multiplies" in b for b in bodies) == 1
    assert "A header comment says nothing." in bodies[1]
    (edited,) = bench.summaries(number)
    assert edited.id == summary.id and edited.body != first_body
    assert "2 already posted on an earlier review not repeated" in edited.body
    assert "f17 is never called" not in edited.body
    assert len(decode_marker(edited.body)) == 3


def _big_pull_files() -> tuple[dict[str, str | bytes | None], set[str]]:
    files: dict[str, str | bytes | None] = {}
    for i in range(280):  # 280 x 60 = 16,800 lines
        files[f"src/pkg{i % 7}/mod_{i}.py"] = "".join(f"v{j} = {i} * {j}\n" for j in range(60))
    skipped = set()
    for i in range(10):  # 10 x 300 = 3,000 lines
        path = f"deps/{i}/poetry.lock"
        files[path] = "".join(f'name = "dep{j}"\n' for j in range(300))
        skipped.add(path)
    for i in range(5):  # 5 x 40 = 200 lines
        path = f"gen/api_{i}.py"
        files[path] = "# @generated by protoc. DO NOT EDIT.\n" + "x = 1\n" * 39
        skipped.add(path)
    for i in range(5):
        path = f"assets/img{i}.png"
        files[path] = b"\x89PNG\r\n\x1a\n\x00\x00binary"  # type: ignore[assignment]
        skipped.add(path)
    return files, skipped


@pytest.mark.parametrize("api_refuses_the_diff", [False, True], ids=["api-diff", "git-fallback"])
def test_a_300_file_20000_line_pr_is_reviewed_in_chunks_within_budget(
    bench: Bench, api_refuses_the_diff: bool
):
    config = repo_config(bench.models.url, extra="review: {max_chunks: 20}\n")
    bench.make_repo({"README.md": "# shop\n"}, config=config)
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    files, must_skip = _big_pull_files()
    number = bench.open_pull("big", files, title="Vendor the world")  # type: ignore[arg-type]
    bench.models.script(
        SENIOR,
        [reply(answer(finding("src/pkg0/mod_0.py", 3, "Magic numbers.", "minor"))), reply("[]")],
    )
    if api_refuses_the_diff:
        # The first read of the PR passes; the diff read gets GitHub's "too large" answer.
        path = f"/repos/{REPO}/pulls/{number}"
        bench.emulator.faults.add("GET", path, slow(0), times=1)
        bench.emulator.faults.add(
            "GET", path, server_error(406, "Sorry, the diff exceeded the maximum number of files")
        )
    event = bench.label(number, "tierbot:review")

    review_on_label(event, bench.ctx)

    requests = bench.models.requests_for(SENIOR)
    budget = 24000 - 2000
    assert 5 < len(requests) <= 20
    for request in requests:
        sent = sum(estimate_tokens(m["content"]) for m in request.messages)
        assert sent <= budget
    prompts = "\n".join(bench.prompts())
    assert "poetry.lock" not in prompts and "@generated" not in prompts
    assert all(f"### src/pkg{i % 7}/mod_{i}.py" in prompts for i in range(280))

    (summary,) = bench.summaries(number)
    body = summary.body
    assert f"Reviewed 280 of 300 changed files (+16800 -0 lines) in {len(requests)} parts." in body
    assert "- matches review.skip `**/*.lock` (10): `deps/0/poetry.lock`" in body
    assert "- generated (`@generated` in its first lines) (5): `gen/api_0.py`" in body
    assert "- binary file (5): `assets/img0.png`" in body
    assert all(f"`{path}`" in body.split("#### Not reviewed")[1] for path in must_skip)
    assert ("a local git diff" in body) is api_refuses_the_diff
    assert ("406" in body) is api_refuses_the_diff
    assert [c.path for c in bench.review_comments(number)] == ["src/pkg0/mod_0.py"]
    _, _, calls = ledger_task(bench)
    assert len(calls) == len(requests) and all(c.record.outcome == "ok" for c in calls)


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (garbage(), "not a chat completion"),
        (reply("The change looks fine to me, ship it!"), "no JSON array or object"),
        (
            truncated('```json\n[{"path": "app.py", "line": 6, "severity": "major", "body": "Mult'),
            "not valid JSON",
        ),
    ],
    ids=["garbage", "prose", "truncated"],
)
def test_garbage_or_truncated_output_is_a_clear_failure_and_posts_nothing(
    bench: Bench, step, reason
):
    number = setup_pull(bench)
    bench.models.script(SENIOR, [step])

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    assert bench.reviews(number) == []
    (status,) = bench.summaries(number)
    assert "No review was posted: the senior tier failed." in status.body
    assert reason in status.body and "Mult" not in status.body.replace("Multiply", "")
    assert "_Cost: $" in status.body
    task, attempts, calls = ledger_task(bench)
    assert task.status == Status.NEEDS_HUMAN and len(calls) == 1
    assert attempts[0].outcome in ("model-error", "invalid-edit")


def test_a_model_timeout_is_retried_once_then_reported(bench: Bench):
    bench.make_repo({"app.py": APP}, config=repo_config(bench.models.url, senior_timeout=0.5))
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    number = bench.open_pull("feature", {"app.py": changed_app()})
    bench.models.script(SENIOR, [slow_model(5, then=reply("[]"))])

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    assert len(bench.models.requests_for(SENIOR)) == 2
    assert bench.reviews(number) == []
    (status,) = bench.summaries(number)
    assert "No review was posted: the senior tier failed." in status.body
    assert "within 0.5 s (tried twice)" in status.body
    _, _, calls = ledger_task(bench)
    assert [c.record.outcome for c in calls] == ["timeout"]


def test_a_second_failure_keeps_the_fingerprints_of_the_first_review(bench: Bench):
    number = setup_pull(bench)
    bench.models.script(SENIOR, [reply(answer(finding("app.py", 6, "Multiplies."))), garbage()])
    event = bench.label(number, "tierbot:review")
    review_on_label(event, bench.ctx)
    prints = decode_marker(bench.summaries(number)[0].body)
    config = bench.ctx.repo_config(event)
    review_pull(bench.ctx, event.repo, number, config)  # type: ignore[arg-type]
    (status,) = bench.summaries(number)
    assert "No review was posted" in status.body and decode_marker(status.body) == prints


def test_the_budget_refuses_a_review_it_cannot_afford(bench: Bench):
    number = setup_pull(bench, extra="budget: {per_task_usd: 0.001}\n")

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    assert bench.models.requests == []
    (status,) = bench.summaries(number)
    assert "No review was posted: the budget refused the model call." in status.body
    assert "more than the $0.0010 left" in status.body
    task, _, calls = ledger_task(bench)
    assert task.status == Status.BUDGET_STOP
    assert [c.record.outcome for c in calls] == ["refused"]


def test_triage_narrows_the_senior_look_and_both_calls_are_in_the_ledger(bench: Bench):
    number = setup_pull(
        bench, extra="review: {triage: junior}\n", **{"docs.md": "# Docs\nTypo fixed.\n"}
    )
    bench.models.script(JUNIOR, [reply('```json\n["app.py"]\n```')])
    bench.models.script(SENIOR, [reply("[]")])

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    assert "docs.md" in "".join(bench.prompts(JUNIOR))
    assert "docs.md" not in "".join(bench.prompts(SENIOR))
    (summary,) = bench.summaries(number)
    assert "- not picked by the triage tier (1): `docs.md`" in summary.body
    assert "The triage tier (junior) picked 1 of 2 files." in summary.body
    assert "junior `openai/junior-model`: 1 call" in summary.body
    _, attempts, calls = ledger_task(bench)
    assert [a.tier for a in attempts] == ["junior", "senior"]
    assert [c.record.tier for c in calls] == ["junior", "senior"]


@pytest.mark.parametrize(
    ("sender", "why"),
    [("rita", "rita has read access"), ("renovate[bot]", "renovate[bot] is a bot")],
)
def test_triggers_from_readers_and_bots_are_ignored_and_recorded(bench: Bench, sender, why):
    number = setup_pull(bench)
    bench.emulator.user(sender, type="Bot" if "[bot]" in sender else "User")

    review_on_label(bench.label(number, "tierbot:review", sender=sender), bench.ctx)

    assert bench.models.requests == [] and bench.bot_comments(number) == []
    (refusal,) = bench.store.refusals(REPO)
    assert (refusal.number, refusal.sender, refusal.event) == (
        number,
        sender,
        "pull_request.labeled",
    )
    assert why in refusal.reason


def test_other_labels_are_not_reviews(bench: Bench):
    number = setup_pull(bench)
    review_on_label(bench.label(number, "bug"), bench.ctx)
    review_on_label(bench.label(number, "tierbot:debug"), bench.ctx)
    assert bench.models.requests == [] and bench.store.refusals(REPO) == []


def test_new_pull_requests_are_reviewed_only_when_the_config_says_so(bench: Bench):
    bench.make_repo(
        {"app.py": APP}, config=repo_config(bench.models.url, extra="review: {on_open: true}\n")
    )
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    bench.models.script(SENIOR, [reply("[]")])
    bench.emulator.push_files(REPO, "draft", {"app.py": changed_app()})
    hub = bench.emulator.hub
    assert hub is not None
    hub.open_pull(
        bench.emulator.repo(REPO),
        title="WIP",
        head="draft",
        base="main",
        body="",
        actor=Actor(bench.emulator.user("alice")),
        draft=True,
    )
    review_on_open(bench.event("pull_request", "opened"), bench.ctx)
    assert bench.models.requests == []

    number = bench.open_pull("ready", {"app.py": changed_app()}, title="Ready")
    review_on_open(bench.event("pull_request", "opened"), bench.ctx)
    assert len(bench.models.requests) == 1
    assert "Reviewed 1 of 1 changed files" in bench.summaries(number)[0].body


def test_new_pull_requests_are_left_alone_by_default(bench: Bench):
    number = setup_pull(bench)
    review_on_open(bench.event("pull_request", "opened"), bench.ctx)
    assert bench.models.requests == [] and bench.bot_comments(number) == []


def test_a_dry_run_writes_nothing(bench: Bench):
    number = setup_pull(bench)
    lines: list[str] = []
    bench.dry_run(lines.append)

    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    assert bench.models.requests == [] and bench.bot_comments(number) == []
    assert any("would review" in line for line in lines)


def test_a_github_failure_mid_review_leaves_no_task_running_in_the_ledger(bench: Bench):
    number = setup_pull(bench)
    bench.models.script(SENIOR, [reply("[]")])
    bench.emulator.faults.add(
        "POST", f"/repos/{REPO}/issues/{number}/comments", server_error(422, "Validation Failed")
    )

    with pytest.raises(GitHubError):
        review_on_label(bench.label(number, "tierbot:review"), bench.ctx)

    task, _, _ = ledger_task(bench)
    assert task.status == Status.NEEDS_HUMAN
    assert task.reason.startswith("interrupted: GitHubError: upsert_comment")
