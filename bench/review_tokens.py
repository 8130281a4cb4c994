"""Tokens a PR review sends with file filtering and chunking, against the whole diff in one prompt.

Over the same set of PRs, both sides are measured with the bot's own prompt builder:

- *reviewed*: ``plan_review`` with the default ``review:`` config (generated, vendored, lock
  and binary files skipped; chunks within the default senior tier's prompt budget; at most
  ``review.max_chunks`` calls), summed over the chunks' prompts;
- *whole diff*: one prompt holding the whole unfiltered diff (``whole_diff_tokens``).

The PRs are the last N non-merge commits of a git repository (default: this one), each taken
as a PR, plus synthetic PRs of shapes real repositories see: a dependency bump with lock
files, a vendored library, regenerated protobuf code, and a 300-file / 20,000-line change.
Tokens are the bot's worst-case estimate (3 characters per token) on both sides, so the ratio
does not depend on it; real tokenizers count about a quarter fewer, so the costs are upper
bounds. The cost uses the default senior model's price from litellm's bundled table, with an
assumed number of completion tokens per call (a findings array), stated in the output.

Usage: python bench/review_tokens.py [--repo PATH] [--commits N] [--output-tokens N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.prices import load_price_table  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.budget import price_for  # noqa: E402
from bot.core.review import (  # noqa: E402
    chunk_budget,
    parse_diff,
    plan_review,
    tokens_for,
    whole_diff_tokens,
)
from bot.prompts import file_prompts  # noqa: E402

PROMPTS = file_prompts()


@dataclass(frozen=True)
class Pull:
    name: str
    title: str
    diff: str


@dataclass(frozen=True)
class Row:
    name: str
    files: int
    skipped: int
    chunks: int
    sent: int
    whole: int


def history(repo: Path, count: int) -> Iterator[Pull]:
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", f"-n{count}", "--format=%H %s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in log.splitlines():
        sha, _, subject = line.partition(" ")
        diff = subprocess.run(
            ["git", "-C", str(repo), "show", "--format=", "--no-color", "--no-ext-diff", "-M", sha],
            capture_output=True,
            text=True,
            errors="replace",
            check=True,
        ).stdout
        if diff.strip():
            yield Pull(f"{sha[:8]} {subject[:40]}", subject, diff)


def _added(path: str, lines: list[str]) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def _modified(path: str, hunks: int, size: int) -> str:
    out = [f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"]
    for h in range(hunks):
        start = 1 + h * (size * 3)
        out.append(f"@@ -{start},{size + 2} +{start},{size + 2} @@ def f{h}():\n")
        out.append(f"     # context {h}\n")
        out += [f"-    old_{h}_{i} = compute({i})\n" for i in range(size)]
        out += [f"+    new_{h}_{i} = compute({i}, strict=True)\n" for i in range(size)]
        out.append(f"     return {h}\n")
    return "".join(out)


def _binary(path: str) -> str:
    return f"diff --git a/{path} b/{path}\nBinary files a/{path} and b/{path} differ\n"


def synthetic() -> Iterator[Pull]:
    yield Pull(
        "synthetic: dependency bump",
        "Bump requests and friends",
        _modified("pyproject.toml", 1, 3)
        + _added(
            "poetry.lock",
            [x for j in range(2500) for x in (f'name = "dep{j}"', f'version = "1.{j}"')],
        )
        + _added("web/package-lock.json", [f'"node_modules/p{j}": {{}},' for j in range(4000)]),
    )
    yield Pull(
        "synthetic: vendored library",
        "Vendor libfoo 2.3",
        _modified("src/app/client.py", 2, 6)
        + "".join(
            _added(f"vendor/libfoo/mod{i}.py", [f"def f{j}(): return {j}" for j in range(200)])
            for i in range(30)
        ),
    )
    yield Pull(
        "synthetic: regenerated protobuf",
        "Regenerate the API stubs",
        _modified("proto/api.proto", 1, 4)
        + "".join(
            _added(
                f"src/api/v1/svc{i}_pb2.py",
                [f"_DESC_{j} = b'\\x0a\\x{j % 99:02d}'" for j in range(400)],
            )
            for i in range(12)
        ),
    )
    parts = [_modified(f"src/pkg{i % 7}/mod_{i}.py", 2, 15) for i in range(280)]
    parts += [
        _added(f"deps/{i}/poetry.lock", [f'name = "d{j}"' for j in range(320)]) for i in range(10)
    ]
    parts += [_binary(f"assets/img{i}.png") for i in range(5)]
    parts += [_added(f"vendor/lib{i}/x.go", ["package x"]) for i in range(5)]
    yield Pull("synthetic: 300 files / 20,000 lines", "Rename compute options", "".join(parts))
    yield Pull(
        "synthetic: small fix",
        "Fix the off-by-one in pagination",
        _modified("src/app/pages.py", 1, 2),
    )


def measure(pull: Pull, budget: int) -> Row:
    config = load_config(None)
    diff = parse_diff(pull.diff)
    plan = plan_review(diff, config, budget, title=pull.title, prompts=PROMPTS)
    return Row(
        name=pull.name,
        files=len(diff.files),
        skipped=len(plan.skipped),
        chunks=len(plan.chunks),
        sent=tokens_for(plan.chunks),
        whole=whole_diff_tokens(pull.diff, title=pull.title, prompts=PROMPTS),
    )


def report(title: str, rows: list[Row], budget: int) -> tuple[int, int, int]:
    print(f"\n{title}")
    print(
        f"{'PR':<46} {'files':>5} {'skip':>5} {'calls':>5} {'sent':>10} {'whole':>10} {'ratio':>6}"
    )
    for r in rows:
        ratio = r.sent / r.whole if r.whole else 0.0
        over = " *" if r.whole > budget else ""
        print(
            f"{r.name[:46]:<46} {r.files:>5} {r.skipped:>5} {r.chunks:>5} "
            f"{r.sent:>10,} {r.whole:>10,} {ratio:>6.3f}{over}"
        )
    sent = sum(r.sent for r in rows)
    whole = sum(r.whole for r in rows)
    calls = sum(r.chunks for r in rows)
    print(f"{'total':<46} {'':>5} {'':>5} {calls:>5} {sent:>10,} {whole:>10,} {sent / whole:>6.3f}")
    return sent, whole, calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--output-tokens", type=int, default=600)
    args = parser.parse_args(argv)

    config = load_config(None)
    senior = config.tier(config.ladder[-1])
    price = price_for(senior, load_price_table())
    budget = chunk_budget(senior, config.review)
    print(f"default senior tier: {senior.model}; prompt budget per call {budget:,} tokens")

    real = [measure(p, budget) for p in history(args.repo, args.commits)]
    made = [measure(p, budget) for p in synthetic()]
    totals = [
        report(f"last {len(real)} commits of {args.repo.name}, each as a PR", real, budget),
        report("synthetic PRs", made, budget),
    ]
    rows = real + made
    sent = sum(t[0] for t in totals)
    whole = sum(t[1] for t in totals)
    print(f"\nall {len(rows)} PRs: {sent:,} tokens sent vs {whole:,} for the whole diffs")
    print(f"ratio sent / whole: {sent / whole:.3f} ({whole / sent:.1f}x fewer tokens)")
    too_big = [r for r in rows if r.whole > budget]
    print(
        f"whole diff over the prompt budget (* above; one call could not take it): {len(too_big)}"
    )
    if price is None:
        print("no price known for the default senior model; costs left out")
        return 0
    out = args.output_tokens
    print(
        f"\ncost at {senior.model} prices (${price.input_per_mtok:g} in / "
        f"${price.output_per_mtok:g} out per 1M tokens), {out} completion tokens per call assumed:"
    )
    for label, group in (("real commits", real), ("synthetic", made), ("all", rows)):
        if not group:
            continue
        reviewed = (
            sum(
                r.sent * price.input_per_mtok + r.chunks * out * price.output_per_mtok
                for r in group
            )
            / 1e6
        )
        single = (
            sum(r.whole * price.input_per_mtok + out * price.output_per_mtok for r in group) / 1e6
        )
        print(
            f"  {label:<13} mean per review: ${reviewed / len(group):.4f} reviewed "
            f"vs ${single / len(group):.4f} whole diff (total ${reviewed:.2f} vs ${single:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
