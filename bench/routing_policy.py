"""A simulation of routing policies: all-senior, the static default ladder, adaptive
calibration, and the oracle, on a stream of tasks.

THIS IS A SIMULATION. Success probabilities per tier and task type are derived from
published benchmark results (sources and the mapping in docs/routing-benchmark.md); prompt
token counts are real (the prompts tierbot builds for tasks on this repository, counted with
the providers' tokenizers); prices are litellm's bundled list prices for the default tiers.

Each task draws one difficulty u in [0, 1); a tier passes it when u < p(tier, type), so a
stronger tier passes everything a weaker one does, and the oracle is the cheapest tier that
passes. A failed attempt costs its call; the next tier's prompt carries the failure's log.

    .venv/bin/python bench/routing_policy.py [--tasks 3000] [--grunt 0.4] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.core import budget as money  # noqa: E402
from bot.core.calibration import TaskOutcome, explores, recommend  # noqa: E402

GRUNT = ("stub", "tests", "config", "docs", "boilerplate")
REASONING = ("feature", "refactor")
LADDER = ("template", "intern", "junior", "senior")

# p(tier passes) per type: see docs/routing-benchmark.md for the sources and the mapping.
#   senior  claude-sonnet-4-5  SWE-bench Verified 77.2 %        (Anthropic, 2025-09-29)
#   junior  gpt-5-nano         SWE-bench Verified 54.7 %        (OpenAI, 2025-08-07)
#   intern  qwen2.5-coder:7b   HumanEval 88.4 %, MBPP 83.5 %    (Qwen2.5-Coder report, 2024)
# Function-level benchmarks (HumanEval/MBPP) stand for grunt work; repository-level issue
# resolution (SWE-bench Verified) for feature and refactor work.
P_PASS = {
    "template": {
        "stub": 0.60,
        "tests": 0.60,
        "config": 0.50,
        "docs": 0.30,
        "boilerplate": 0.20,
        "feature": 0.0,
        "refactor": 0.0,
    },
    "intern": {**dict.fromkeys(GRUNT, 0.86), "feature": 0.10, "refactor": 0.10},
    "junior": {**dict.fromkeys(GRUNT, 0.93), "feature": 0.547, "refactor": 0.547},
    "senior": {**dict.fromkeys(GRUNT, 0.97), "feature": 0.772, "refactor": 0.772},
}
TASK_TEXT = {
    "stub": "Add a module bot/audit/summary.py with stubs for summarize(rows) and render(table)",
    "tests": "Add skeleton tests for bot/core/calibration.py",
    "config": "Add an EditorConfig and a pre-commit config for this repository",
    "docs": "Document bot/core/escalation.py in docs/escalation.md",
    "boilerplate": "Register the audit commands of bot/audit/cli.py in bot/cli.py",
    "feature": "Add a --top N option to tierbot report in bot/audit/cli.py and bot/audit/model.py",
    "refactor": "Extract the funnel arithmetic of bot/audit/model.py into its own module",
}
# Output tokens: the whole files a tier writes back (tierbot's edit format), by type.
OUTPUT_TOKENS = {"stub": 500, "tests": 900, "config": 300, "docs": 800, "boilerplate": 400}
OUTPUT_TOKENS |= {"feature": 1800, "refactor": 2500}
FEEDBACK_TOKENS = 600  # a check-log excerpt carried into the next attempt's prompt


@dataclass(frozen=True)
class Costs:
    """USD per call of each tier for each type, from real prompts and list prices."""

    per_call: dict[str, dict[str, float]]
    prompt_tokens: dict[str, dict[str, int]]


def real_costs() -> Costs:
    from bot.adapters.git import CheckoutView, LocalRepo
    from bot.adapters.prices import load_price_table
    from bot.engine import Engine, make_task
    from tests.support.tokenizers import counters

    config = load_config(None)
    prices = load_price_table()
    engine = Engine(
        config=config,
        models=None,  # type: ignore[arg-type]  # prompts only: no call is made
        ledger=None,  # type: ignore[arg-type]
        forge=None,  # type: ignore[arg-type]
        prices=prices,
        repo=str(ROOT),
    )
    view = CheckoutView(LocalRepo.open(ROOT))
    count = counters()
    tokenizer = {"intern": count["cl100k_base"], "junior": count["o200k_base"]}
    tokenizer["senior"] = count["anthropic"]
    per_call: dict[str, dict[str, float]] = {t: {} for t in LADDER}
    prompt_tokens: dict[str, dict[str, int]] = {t: {} for t in LADDER}
    for task_type, text in TASK_TEXT.items():
        task = make_task(text, task_type)
        for name in LADDER:
            tier = config.tier(name)
            if tier.is_template:
                per_call[name][task_type], prompt_tokens[name][task_type] = 0.0, 0
                continue
            messages = engine.prompt(tier, task, view)
            tokens = sum(tokenizer[name](m.content) for m in messages)
            price = money.price_for(tier, prices)
            assert price is not None, f"no list price for {tier.model}"
            usage = money.Usage(tokens + FEEDBACK_TOKENS // 2, OUTPUT_TOKENS[task_type])
            cost = money.cost(price, usage)
            assert cost is not None
            per_call[name][task_type], prompt_tokens[name][task_type] = cost, tokens
    return Costs(per_call, prompt_tokens)


@dataclass
class Tally:
    cost: float = 0.0
    green: int = 0
    tasks: int = 0


def climb(task_type: str, u: float, start: str, ceiling: str, costs: Costs) -> tuple[bool, float]:
    spent = 0.0
    for tier in LADDER[LADDER.index(start) : LADDER.index(ceiling) + 1]:
        spent += costs.per_call[tier][task_type]
        if u < P_PASS[tier][task_type]:
            return True, spent
    return False, spent


def simulate(tasks: int, grunt: float, seed: int, costs: Costs) -> dict[str, Tally]:
    rng = random.Random(seed)
    config = load_config(None)
    tallies = {name: Tally() for name in ("all-senior", "static ladder", "adaptive", "oracle")}
    history: list[TaskOutcome] = []
    min_history = 20
    for _ in range(tasks):
        task_type = rng.choice(GRUNT) if rng.random() < grunt else rng.choice(REASONING)
        u = rng.random()
        spec = config.task_type(task_type)
        runs = {
            "all-senior": climb(task_type, u, "senior", "senior", costs),
            "static ladder": climb(task_type, u, spec.start, spec.ceiling, costs),
        }
        passing = [t for t in LADDER if u < P_PASS[t][task_type]]
        oracle_tier = passing[0] if passing else "senior"
        runs["oracle"] = (bool(passing), costs.per_call[oracle_tier][task_type])
        # Adaptive: the configured start until the history decides, the ceiling at senior.
        mine = [o for o in history if o.task_type == task_type]
        rec = recommend(
            task_type,
            mine,
            ladder=LADDER,
            configured=spec.start,
            ceiling="senior",
            min_history=min_history,
        )
        begin = rec.tier or spec.start
        index = LADDER.index(begin)
        if rec.tier is not None and index > 0 and explores(len(mine), 0.1):
            begin = LADDER[index - 1]
        elif rec.tier is None and index > 0 and explores(len(mine), 0.25):
            begin = LADDER[index - 1]  # no record yet: explore faster while learning
        done, spent = climb(task_type, u, begin, "senior", costs)
        history.append(TaskOutcome(task_type, begin, done, spent))
        runs["adaptive"] = (done, spent)
        for name, (ok, spent) in runs.items():
            tally = tallies[name]
            tally.tasks += 1
            tally.cost += spent
            tally.green += ok
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--grunt", type=float, default=0.4, help="share of grunt-work tasks")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print("SIMULATION: success rates from published benchmarks mapped to task types, real")
    print("prompt token counts, list prices. Not a measurement of real tasks.\n")
    costs = real_costs()
    print("per call, by type (prompt tokens counted on the prompts tierbot builds):")
    for task_type in (*GRUNT, *REASONING):
        cells = ", ".join(
            f"{t} {costs.prompt_tokens[t][task_type]:,} tok ${costs.per_call[t][task_type]:.5f}"
            for t in LADDER[1:]
        )
        print(f"  {task_type:<12} {cells}")
    tallies = simulate(args.tasks, args.grunt, args.seed, costs)
    senior, oracle = tallies["all-senior"], tallies["oracle"]
    best = senior.cost - oracle.cost
    print(f"\n{args.tasks} tasks, {args.grunt:.0%} grunt work, seed {args.seed}")
    print(f"{'policy':<14} {'cost':>10} {'per task':>10} {'green':>7} {'oracle saving':>14}")
    for name, t in tallies.items():
        share = (senior.cost - t.cost) / best if best else float("nan")
        print(
            f"{name:<14} ${t.cost:>9.2f} ${t.cost / t.tasks:>9.5f} {t.green / t.tasks:>6.1%} "
            f"{share:>13.1%}"
        )
    adaptive = tallies["adaptive"]
    captured = (senior.cost - adaptive.cost) / best if best else float("nan")
    print(
        f"\ntarget: adaptive captures >= 90% of the oracle's saving "
        f"({'met' if captured >= 0.9 else 'NOT met'}: {captured:.1%}) at a green rate no lower "
        f"than all-senior's ({'met' if adaptive.green >= senior.green else 'NOT met'}: "
        f"{adaptive.green / adaptive.tasks:.1%} vs {senior.green / senior.tasks:.1%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
