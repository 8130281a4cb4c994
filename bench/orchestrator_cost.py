"""Cost of feature issues run by the orchestrator against the same issues all on senior at once.

Ten feature issues (bench/fixtures/feature_issues.yml) over a small shop package
(bench/fixtures/shopkit). Both sides are priced at the default tiers' list prices from
litellm's bundled price table, with tokens counted from the prompts tierbot builds:

- *orchestrated*: the planner's call (plan.md.j2 over the fenced issue and the repository
  map, answered with the issue's scripted plan, which the real core validates); then each
  subtask in dependency order at its start tier (``core/orchestration.schedule``): the real
  template generators over the branch as it stands, and where they decline or do not apply,
  one call at the next tier with the prompt the engine builds from the subtask's own text
  and the files of its dependencies (``core/planning``);
- *all on senior*: one senior call with the whole issue (the engine's prompt over the
  repository) that writes every file the orchestrated run wrote.

Model success is SCRIPTED: every model subtask succeeds at its first call, writing the number
of lines the issue file gives (whole files, or the edit blocks of a change to an existing
file). The template tier is not scripted: the generators run. Tokens are characters / 4 on
both sides (the usual average; admission's worst case uses 3). The default intern tier is a
local model, priced at zero; a second total prices it like the junior tier.

``--files 12`` runs the mix the orchestrator is meant for, "twelve new files, mostly grunt":
each issue keeps its plan and its hard core, and its grunt subtasks gain the files such a
feature usually carries until it has twelve (a reference page and a how-to page per docs
subtask, a changelog entry, an example config file), written by the tier each subtask already
starts at. The subtask count stays within ``plan.max_subtasks``.

Usage: python bench/orchestrator_cost.py [--issues FILE] [--files N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.adapters.prices import load_price_table  # noqa: E402
from bot.config import Price, RepoConfig, TierSpec, load_config  # noqa: E402
from bot.core.budget import CHARS_PER_TOKEN_TYPICAL, price_for, tokens_for_chars  # noqa: E402
from bot.core.context import build_context, fence  # noqa: E402
from bot.core.orchestration import climb, foreign_paths, schedule  # noqa: E402
from bot.core.plan import Plan, Subtask  # noqa: E402
from bot.core.plan_checks import Accepted, plan_types, review_answer  # noqa: E402
from bot.core.planning import (  # noqa: E402
    context_paths,
    planner_messages,
    subtask_text,
    template_request,
)
from bot.core.routing import describe_types  # noqa: E402
from bot.core.templates import generate  # noqa: E402
from bot.core.types import EditSet, Message  # noqa: E402
from bot.engine import Engine, make_task  # noqa: E402
from bot.prompts import file_prompts  # noqa: E402

PROMPTS = file_prompts()

FIXTURE = ROOT / "bench" / "fixtures" / "shopkit"
ISSUES = ROOT / "bench" / "fixtures" / "feature_issues.yml"
TARGET = 0.40


def tokens(text: str) -> int:
    return tokens_for_chars(len(text), chars_per_token=CHARS_PER_TOKEN_TYPICAL)


@dataclass(frozen=True)
class Call:
    tier: str
    prompt: int
    completion: int
    hard: bool = False  # a subtask the plan marks as its hard core


@dataclass
class Run:
    name: str
    planner: Call
    calls: list[Call] = field(default_factory=list)
    done_at: Counter[str] = field(default_factory=Counter)
    written: dict[str, str] = field(default_factory=dict)  # path -> the output that wrote it
    hard_paths: set[str] = field(default_factory=set)  # files of the plan's hard subtasks
    senior: Call | None = None


def load_repo() -> dict[str, str]:
    return {
        p.relative_to(FIXTURE).as_posix(): p.read_text("utf-8")
        for p in sorted(FIXTURE.rglob("*"))
        if p.is_file()
    }


def line_width(repo: Mapping[str, str], suffix: str) -> int:
    lines = [ln for path, text in repo.items() if path.endswith(suffix) for ln in text.splitlines()]
    return round(sum(len(ln) for ln in lines) / max(len(lines), 1))


def task_messages(
    config: RepoConfig,
    tier: TierSpec,
    task_type: str,
    text: str,
    repo: Mapping[str, str],
    extra: tuple[str, ...] = (),
) -> list[Message]:
    """The prompt the engine sends for one task at ``tier``: its own context and messages."""
    ctx = build_context(
        text, sorted(repo), repo.get, tier.context_tokens - tier.max_tokens, extra_paths=extra
    )
    # Only the prompt is wanted: no model, ledger or forge is ever reached.
    engine = Engine(config=config, models=None, ledger=None, forge=None, prices={}, repo="b")
    return engine.attempts.messages(make_task(text, task_type), tier, ctx, "")


def prompt_tokens(messages: list[Message]) -> int:
    return sum(tokens(m.content) for m in messages)


def filler(lines: int, width: int, indent: str = "") -> list[str]:
    """Lines of the fixture's average width; Python whatever the width (the rest is a comment)."""
    code = indent + "step = advance(step)"
    comment = "  # scripted output of the size the issue file gives, one line of many"
    line = (code + comment)[: max(width, len(code))].rstrip()
    return [line] * max(lines, 0)


def synthesize(
    path: str, lines: int, defs: list[str], base: str | None, widths: dict[str, int]
) -> str:
    """Scripted output: the public definitions it holds, padded to ``lines`` lines."""
    width = widths["py" if path.endswith(".py") else "md"]
    if not path.endswith(".py"):
        return (base + "\n" if base else "") + "\n".join(filler(lines, width)) + "\n"
    out: list[str] = []
    for definition in defs:
        for row in definition.split("\n"):
            out.append(row)
            if row.lstrip().startswith(("def ", "async def ")) and row.endswith(":"):
                indent = row[: len(row) - len(row.lstrip())] + "    "
                out.append(indent + "raise NotImplementedError")
        out.append("")
    out.append("def _scripted_body() -> None:")
    out += filler(lines - len(out) - 1, width, "    ") or ["    pass"]
    return (base + "\n\n" if base else "") + "\n".join(out) + "\n"


def edit_block(path: str, content: str, base: str | None, lines: int) -> str:
    """What a model writes: a whole new file, or SEARCH/REPLACE blocks of ``lines`` lines."""
    if base is None:
        return f"### {path}\n{fence(content, 'python' if path.endswith('.py') else '')}\n"
    changed = "\n".join(content.splitlines()[-lines:])
    return f"### {path}\n<<<<<<< SEARCH\n=======\n{changed}\n>>>>>>> REPLACE\n"


def plan_answer(plan_data: Mapping[str, Any]) -> str:
    """The planner's answer laid out like the prompt's example: one subtask per line."""
    subtasks = ",\n  ".join(json.dumps(s) for s in plan_data["subtasks"])
    summary = json.dumps(plan_data["summary"])
    return f'```json\n{{"summary": {summary}, "subtasks": [\n  {subtasks}\n]}}\n```\n'


# Grunt files a feature of ``name`` may add, in order, with the lines a model writes for each.
EXTRA_GRUNT = (
    ("docs", "docs/{name}-reference.md", 40),
    ("docs", "docs/{name}-howto.md", 30),
    ("docs", "CHANGELOG.md", 8),
    ("docs", "examples/{name}.example.toml", 16),
    ("docs", "docs/{name}-faq.md", 24),
    ("docs", "docs/{name}-migration.md", 20),
)


def widen(issue: dict[str, Any], files: int) -> dict[str, Any]:
    """``issue`` with grunt files added to its first docs subtask until it names ``files``."""
    subtasks = [dict(s) for s in issue["plan"]["subtasks"]]
    written = {k: dict(v) for k, v in issue.get("written", {}).items()}
    named = {f for s in subtasks for f in s["files"]}
    docs = next(s for s in subtasks if s["type"] == "docs")
    for _kind, pattern, lines in EXTRA_GRUNT:
        if len(named) >= files:
            break
        path = pattern.format(name=issue["name"])
        if path in named:
            continue
        docs["files"] = [*docs["files"], path]
        named.add(path)
        spec = written.setdefault(docs["id"], {"lines": 0})
        spec["lines"] = spec["lines"] + lines
    plan = {**issue["plan"], "subtasks": subtasks}
    return {**issue, "plan": plan, "written": written}


def orchestrate(issue: Mapping[str, Any], config: RepoConfig, repo: dict[str, str]) -> Run:
    planner_tier = config.tier(config.plan.tier)
    known = plan_types(config.task_types)
    ctx = build_context(
        issue["issue"],
        sorted(repo),
        repo.get,
        planner_tier.context_tokens - planner_tier.max_tokens,
    )
    messages = planner_messages(
        ctx,
        types=describe_types(config, sorted(known)),
        max_subtasks=config.plan.max_subtasks,
        protected=config.paths.protected,
        prompts=PROMPTS,
    )
    answer = plan_answer(issue["plan"])
    verdict = review_answer(
        answer,
        attempt=1,
        known_types=known,
        policy=config.paths,
        max_subtasks=config.plan.max_subtasks,
    )
    if not isinstance(verdict, Accepted):
        raise SystemExit(f"{issue['name']}: the scripted plan is invalid: {verdict.message}")
    run = Run(issue["name"], Call(planner_tier.name, prompt_tokens(messages), tokens(answer)))
    branch = dict(repo)
    sched = schedule(verdict.plan, config)
    for subtask_id in sched.order:
        subtask = verdict.plan.subtask(subtask_id)
        for tier_name in climb(sched.ladders[subtask_id]):
            if do_subtask(
                issue, config, verdict.plan, subtask, config.tier(tier_name), branch, run
            ):
                run.done_at[tier_name] += 1
                break
        else:
            raise SystemExit(f"{issue['name']}: {subtask_id} was not done at any tier")
    return run


def do_subtask(
    issue: Mapping[str, Any],
    config: RepoConfig,
    plan: Plan,
    subtask: Subtask,
    tier: TierSpec,
    branch: dict[str, str],
    run: Run,
) -> bool:
    if tier.is_template:
        result = generate(template_request(subtask, sorted(branch), branch.get))
        if not isinstance(result, EditSet) or foreign_paths(plan, subtask.id, result.paths):
            return False  # declined: the next tier takes it, at no cost
        for edit in result.edits:
            branch[edit.path] = edit.content or ""
            run.written[edit.path] = edit_block(edit.path, edit.content or "", None, 0)
        return True
    spec = issue.get("written", {}).get(subtask.id)
    if spec is None:
        raise SystemExit(f"{issue['name']}: no scripted output for {subtask.id} at {tier.name}")
    extra = tuple(p for p in context_paths(plan, subtask) if p in branch)
    messages = task_messages(config, tier, subtask.type, subtask_text(plan, subtask), branch, extra)
    widths = {"py": line_width(branch, ".py"), "md": line_width(branch, ".md")}
    share = max(1, spec["lines"] // len(subtask.files))
    completion = ""
    for path in subtask.files:
        base = branch.get(path)
        content = synthesize(path, share, spec.get("defs", []), base, widths)
        block = edit_block(path, content, base, share)
        branch[path] = content
        run.written[path] = block
        completion += block
    run.calls.append(Call(tier.name, prompt_tokens(messages), tokens(completion), subtask.hard))
    if subtask.hard:
        run.hard_paths.update(subtask.files)
    return True


def all_on_senior(
    issue: Mapping[str, Any], config: RepoConfig, repo: dict[str, str], run: Run
) -> Call:
    """One senior call that reads the issue and every file it changes, and writes them all."""
    senior = config.tier(config.ladder[-1])
    changed = tuple(path for path in run.written if path in repo)
    messages = task_messages(config, senior, "feature", issue["issue"], repo, changed)
    return Call(senior.name, prompt_tokens(messages), tokens("".join(run.written.values())))


def usd(call: Call, prices: Mapping[str, Price | None]) -> float:
    price = prices[call.tier]
    if price is None:
        raise SystemExit(f"no price for the {call.tier} tier in litellm's table")
    return (call.prompt * price.input_per_mtok + call.completion * price.output_per_mtok) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=Path, default=ISSUES)
    parser.add_argument(
        "--files", type=int, default=0, help="widen every plan to this many files (grunt only)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    config = load_config(None)
    table = load_price_table()
    prices = {name: price_for(config.tier(name), table) for name in config.ladder}
    junior_like = {**prices, "intern": prices["junior"]}
    repo = load_repo()
    issues = yaml.safe_load(args.issues.read_text("utf-8"))
    if args.files:
        issues = [widen(issue, args.files) for issue in issues]
        print(f"Mix: every plan widened to {args.files} files with grunt files (--files).")
    runs = []
    for issue in issues:
        run = orchestrate(issue, config, repo)
        run.senior = all_on_senior(issue, config, repo, run)
        runs.append(run)
    report(runs, config, prices, junior_like)
    return 0


def header(config: RepoConfig, prices: Mapping[str, Price | None]) -> None:
    print("Orchestrated feature issues vs the same issues all on senior in one call.")
    print("Model success is SCRIPTED (every model subtask succeeds at its first call);")
    print("the template tier's generators really run. Tokens: characters / 4.")
    for name in config.ladder:
        price = prices[name]
        model = config.tier(name).model or "deterministic generators"
        shown = (
            "unknown"
            if price is None
            else f"${price.input_per_mtok:g} in / ${price.output_per_mtok:g} out per 1M tokens"
        )
        print(f"  {name:8} {model:32} {shown}")
    print()


COLUMNS = ("planner", "hard core", "the rest", "orchestr.", "all-senior")


def costs(run: Run, prices: Mapping[str, Price | None]) -> dict[str, float]:
    assert run.senior is not None
    planner = usd(run.planner, prices)
    hard = sum(usd(c, prices) for c in run.calls if c.hard)
    rest = sum(usd(c, prices) for c in run.calls if not c.hard)
    return dict(
        zip(
            COLUMNS,
            (planner, hard, rest, planner + hard + rest, usd(run.senior, prices)),
            strict=True,
        )
    )


def report(
    runs: list[Run],
    config: RepoConfig,
    prices: Mapping[str, Price | None],
    junior_like: Mapping[str, Price | None],
) -> None:
    header(config, prices)
    title = f"{'issue':16} {'subtasks':>8} {'T/I/J/S':>9} " + " ".join(
        f"{c + ' $':>12}" for c in COLUMNS
    )
    print(title + f" {'ratio':>6}")
    print("-" * (len(title) + 7))
    totals: Counter[str] = Counter()
    for run in runs:
        row = costs(run, prices)
        totals.update(row)
        totals["intern as junior"] += costs(run, junior_like)["orchestr."]
        grunt = "".join(b for p, b in run.written.items() if p not in run.hard_paths)
        senior_out = prices[run.senior.tier] if run.senior else None
        assert senior_out is not None
        totals["grunt output"] += tokens(grunt) * senior_out.output_per_mtok / 1e6
        tiers = "/".join(str(run.done_at[t]) for t in config.ladder)
        cells = " ".join(f"{row[c]:>12.4f}" for c in COLUMNS)
        ratio = row["orchestr."] / row["all-senior"]
        print(f"{run.name:16} {sum(run.done_at.values()):>8} {tiers:>9} {cells} {ratio:>6.0%}")
    print("-" * (len(title) + 7))
    cells = " ".join(f"{totals[c]:>12.4f}" for c in COLUMNS)
    ratio = totals["orchestr."] / totals["all-senior"]
    print(f"{'total':16} {'':>8} {'':>9} {cells} {ratio:>6.0%}")
    print()
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"orchestrated / all-senior: {ratio:.1%} (target <= {TARGET:.0%}: {verdict})")
    for part in COLUMNS[:3]:
        print(f"  {part}: {totals[part] / totals['orchestr.']:.1%} of the orchestrated cost")
    print(
        "with the intern tier priced like junior (no local model): "
        f"{totals['intern as junior'] / totals['all-senior']:.1%} of all-senior"
    )
    # The cheap tiers cost next to nothing, so the ratio is (plan + hard core) over the one
    # call that writes everything: more grunt output per feature is what brings it down.
    needed = totals["orchestr."] / TARGET - (totals["all-senior"] - totals["grunt output"])
    print(
        f"the grunt work is {totals['grunt output'] / totals['all-senior']:.0%} of the all-senior "
        f"cost; {TARGET:.0%} would need {needed / totals['grunt output']:.1f}x as much grunt "
        "output per feature, with the same plans and hard cores"
    )


if __name__ == "__main__":
    raise SystemExit(main())
