"""The optional sections of the configuration: review, hooks, debug and plan."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.config.reader import Reader, is_number
from bot.spec import (
    DEFAULT_STUB_MARKER,
    FORMATTERS,
    HOOK_NAMES,
    SEVERITIES,
    ConfigError,
    DebugSpec,
    HooksSpec,
    PlanSpec,
    ReviewSpec,
    RoutingSpec,
    TierSpec,
)

REVIEW_KEYS = (
    "on_open",
    "skip",
    "min_severity",
    "max_comments",
    "max_chunks",
    "chunk_tokens",
    "triage",
)
DEBUG_KEYS = ("fix_commit",)
PLAN_KEYS = ("tier", "max_subtasks", "triage_tier", "auto_label", "parallel")
# The labels tierbot puts on an issue itself; no task may be started by one.
OUTCOME_LABELS = ("tierbot:done", "tierbot:needs-human")
# A review prompt carries instructions and at least one hunk; fewer tokens than this cannot.
MIN_CHUNK_TOKENS = 1000
HOOK_KEYS = (
    "run",
    "tests_path",
    "marker",
    "model_tier",
    "timeout",
    "budget_usd",
    "strict",
    "format",
    "exclude",
)


def debug_section(file: str, raw: Any) -> DebugSpec:
    r = Reader(file, "debug", raw, DEBUG_KEYS)
    return DebugSpec(fix_commit=r.boolean("fix_commit", DebugSpec().fix_commit))


def plan_section(
    file: str,
    raw: Any,
    tiers: Mapping[str, TierSpec],
    ladder: tuple[str, ...],
    type_labels: Mapping[str, str] | None = None,
) -> PlanSpec:
    r = Reader(file, "plan", raw, PLAN_KEYS)
    # Planning and triage are judgements; the template tier makes none.
    models = tuple(name for name in ladder if not tiers[name].is_template) or ladder[-1:]
    default = PlanSpec()
    # A ladder without a tier named senior plans with its top tier.
    tier = r.one_of("tier", models, default.tier if default.tier in models else models[-1])
    triage_tier = r.str_or_none("triage_tier")
    if triage_tier is not None and triage_tier not in models:
        raise ConfigError(
            file,
            r.key("triage_tier"),
            f"unknown value {triage_tier!r}",
            ", ".join(["null", *models]),
        )
    return PlanSpec(
        tier=tier,
        max_subtasks=r.positive_int("max_subtasks", default.max_subtasks),
        triage_tier=triage_tier,
        auto_label=_auto_label(r, type_labels or {}),
        parallel=r.positive_int("parallel", default.parallel),
    )


def _auto_label(r: Reader, type_labels: Mapping[str, str]) -> str | None:
    """The label that triages an issue: tierbot's own, and no task type's or outcome's."""
    label: str | None = r.get(
        "auto_label",
        lambda v: v is None or (isinstance(v, str) and v.startswith("tierbot:")),
        "a label starting with 'tierbot:', or null",
        PlanSpec().auto_label,
    )
    taken = {lab: f"the label of task_types.{name}" for name, lab in type_labels.items()}
    taken.update({lab: "an outcome label tierbot sets" for lab in OUTCOME_LABELS})
    if label in taken:
        raise ConfigError(
            r.file,
            r.key("auto_label"),
            f"{label!r} is {taken[label]}; the triage label must be a label of its own",
        )
    return label


def review_section(
    file: str, raw: Any, tiers: Mapping[str, TierSpec], ladder: tuple[str, ...]
) -> ReviewSpec:
    r = Reader(file, "review", raw, REVIEW_KEYS)
    default = ReviewSpec()
    skip = r.str_list("skip", list(default.skip))
    for glob in skip:
        if not glob.strip():
            raise ConfigError(file, r.key("skip"), "an empty glob matches nothing")
    max_comments = r.get(
        "max_comments",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0 (0: every finding goes to the summary)",
        default.max_comments,
    )
    chunk_tokens = r.get(
        "chunk_tokens",
        lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "an integer or null",
        default.chunk_tokens,
    )
    if chunk_tokens is not None and chunk_tokens < MIN_CHUNK_TOKENS:
        raise ConfigError(
            file,
            r.key("chunk_tokens"),
            f"expected null or at least {MIN_CHUNK_TOKENS} tokens, got {chunk_tokens}",
        )
    # The template tier cannot judge which files matter, so triage names a model tier.
    triage = r.str_or_none("triage")
    if triage is not None:
        models = [name for name in ladder if not tiers[name].is_template]
        if triage not in models:
            raise ConfigError(
                file, r.key("triage"), f"unknown value {triage!r}", ", ".join(["null", *models])
            )
    return ReviewSpec(
        on_open=r.boolean("on_open", default.on_open),
        skip=skip,
        min_severity=r.one_of("min_severity", SEVERITIES, default.min_severity),
        max_comments=max_comments,
        max_chunks=r.positive_int("max_chunks", default.max_chunks),
        chunk_tokens=chunk_tokens,
        triage=triage,
    )


def hooks_section(
    file: str, raw: Any, tiers: Mapping[str, TierSpec], ladder: tuple[str, ...]
) -> HooksSpec:
    r = Reader(file, "hooks", raw, HOOK_KEYS)
    run = r.str_list("run", list(HOOK_NAMES))
    for name in run:
        if name not in HOOK_NAMES:
            raise ConfigError(file, r.key("run"), f"unknown hook {name!r}", ", ".join(HOOK_NAMES))
    tests_path = r.str_or_none("tests_path")
    if tests_path is not None:
        if "{module}" not in tests_path or not tests_path.endswith(".py"):
            raise ConfigError(
                file,
                r.key("tests_path"),
                f"expected a path ending in .py that contains {{module}}, got {tests_path!r}",
                "tests/test_{module}.py, tests/{package}/test_{module}.py, null",
            )
        parts = tests_path.split("/")
        if tests_path.startswith("/") or ".." in parts or "" in parts:
            raise ConfigError(
                file, r.key("tests_path"), f"must stay inside the repository, got {tests_path!r}"
            )
        unknown = set(re.findall(r"{([^{}]*)}", tests_path)) - {"module", "package"}
        if unknown:
            raise ConfigError(
                file,
                r.key("tests_path"),
                f"unknown placeholder {{{sorted(unknown)[0]}}}",
                "{module}, {package}",
            )
    marker = r.get(
        "marker",
        lambda v: isinstance(v, str) and v.strip().startswith("#") and len(v.strip()) > 1,
        "a comment such as '# tierbot: stub'",
        DEFAULT_STUB_MARKER,
    )
    model_tier = r.str_or_none("model_tier")
    if model_tier is not None:
        models = [name for name in ladder if not tiers[name].is_template]
        if model_tier not in models:
            raise ConfigError(
                file, r.key("model_tier"), f"unknown value {model_tier!r}", ", ".join(models)
            )
    return HooksSpec(
        run=tuple(dict.fromkeys(run)),
        tests_path=tests_path,
        marker=marker.strip(),
        model_tier=model_tier,
        timeout=r.positive_number("timeout", 60),
        budget_usd=r.non_negative_number("budget_usd", 0.05),
        strict=r.boolean("strict", False),
        format=r.one_of("format", FORMATTERS, "auto"),
        exclude=r.str_list("exclude", []),
    )


def routing_section(file: str, raw: Any) -> RoutingSpec:
    if isinstance(raw, str):  # `routing: adaptive` is short for `routing: {mode: adaptive}`
        raw = {"mode": raw}
    r = Reader(file, "routing", raw, ("mode", "min_history", "explore"))
    explore = r.get("explore", lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)", 0.1)
    return RoutingSpec(
        mode=r.one_of("mode", ("static", "adaptive"), "static"),
        min_history=r.positive_int("min_history", 20),
        explore=float(explore),
    )
