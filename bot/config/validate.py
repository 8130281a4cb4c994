"""Validation of the merged configuration document into a ``RepoConfig``.

Validation is written out here rather than delegated to pydantic or jsonschema because this
package sits on the pre-commit path, where the whole run must start in about 100 ms; both of
those libraries cost more than that to import. Every error names the file, the dotted key and
the allowed values, which is what a user needs to fix the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.config.reader import Reader
from bot.spec import (
    DEFAULT_STUB_MARKER,
    FORMATTERS,
    HOOK_NAMES,
    SEVERITIES,
    BudgetSpec,
    CheckSpec,
    ConfigError,
    DebugSpec,
    HooksSpec,
    PathPolicy,
    PlanSpec,
    Price,
    RepoConfig,
    ReviewSpec,
    TaskTypeSpec,
    TierSpec,
)

TOP_KEYS = (
    "ladder",
    "tiers",
    "task_types",
    "check",
    "paths",
    "budget",
    "hooks",
    "review",
    "debug",
    "plan",
)
TIER_KEYS = (
    "kind",
    "model",
    "api_base",
    "api_key_env",
    "max_tokens",
    "context_tokens",
    "timeout",
    "price",
)
TYPE_KEYS = ("label", "start", "ceiling", "output", "attempts")
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
PLAN_KEYS = ("tier", "max_subtasks", "triage_tier")
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


def validate(data: Any, file: str, access: ModelAccess = DEFAULT_ACCESS) -> RepoConfig:
    """Build a RepoConfig from a merged document; ``file`` is named in every error, and a tier
    naming a key variable or model host outside the operator's ``access`` is one."""
    top = Reader(file, "", data, TOP_KEYS)
    tiers_raw = top.get("tiers", lambda v: isinstance(v, Mapping), "a mapping", {})
    ladder = _ladder(file, top.str_list("ladder", []), tiers_raw)
    tiers: dict[str, TierSpec] = {}
    for name, raw in tiers_raw.items():
        tiers[str(name)] = _tier(file, str(name), raw, access)
    for name in tiers:
        if name not in ladder:
            raise ConfigError(file, f"tiers.{name}", "tier is not on the ladder", ", ".join(ladder))

    types_raw = top.get("task_types", lambda v: isinstance(v, Mapping), "a mapping", {})
    task_types: dict[str, TaskTypeSpec] = {}
    for name, raw in types_raw.items():
        spec = _task_type(file, str(name), raw, ladder)
        task_types[spec.name] = spec
    return RepoConfig(
        ladder=ladder,
        tiers=tiers,
        task_types=task_types,
        check=_check(file, data.get("check", {})),
        paths=_paths(file, data.get("paths", {})),
        budget=_budget(file, data.get("budget", {})),
        source=file,
        hooks=_hooks(file, data.get("hooks", {}), tiers, ladder),
        review=_review(file, data.get("review", {}), tiers, ladder),
        debug=_debug(file, data.get("debug", {})),
        plan=_plan(file, data.get("plan", {}), tiers, ladder),
    )


def _ladder(file: str, ladder: tuple[str, ...], tiers_raw: Mapping[str, Any]) -> tuple[str, ...]:
    if not ladder:
        raise ConfigError(file, "ladder", "must name at least one tier", ", ".join(tiers_raw))
    for name in ladder:
        if name not in tiers_raw:
            raise ConfigError(file, "ladder", f"unknown tier {name!r}", ", ".join(tiers_raw))
    if len(set(ladder)) != len(ladder):
        raise ConfigError(file, "ladder", "names a tier twice")
    return ladder


def _check(file: str, raw: Any) -> CheckSpec:
    r = Reader(file, "check", raw, ("command", "timeout"))
    return CheckSpec(command=r.str_or_none("command"), timeout=r.positive_number("timeout", 600))


def _paths(file: str, raw: Any) -> PathPolicy:
    r = Reader(file, "paths", raw, ("allowed", "protected", "max_files", "max_file_bytes"))
    return PathPolicy(
        allowed=r.str_list("allowed", ["**"]),
        protected=r.str_list("protected", []),
        max_files=r.positive_int("max_files", 20),
        max_file_bytes=r.positive_int("max_file_bytes", 200_000),
    )


def _budget(file: str, raw: Any) -> BudgetSpec:
    r = Reader(file, "budget", raw, ("per_task_usd", "per_day_usd", "per_month_usd"))
    return BudgetSpec(
        per_task_usd=r.non_negative_number("per_task_usd", 2.0),
        per_day_usd=r.non_negative_number("per_day_usd", 20.0),
        per_month_usd=None
        if r.data.get("per_month_usd") is None
        else r.non_negative_number("per_month_usd", 0.0),
    )


def _debug(file: str, raw: Any) -> DebugSpec:
    r = Reader(file, "debug", raw, DEBUG_KEYS)
    return DebugSpec(fix_commit=r.boolean("fix_commit", DebugSpec().fix_commit))


def _plan(file: str, raw: Any, tiers: Mapping[str, TierSpec], ladder: tuple[str, ...]) -> PlanSpec:
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
    )


def _tier(file: str, name: str, raw: Any, access: ModelAccess) -> TierSpec:
    r = Reader(file, f"tiers.{name}", raw, TIER_KEYS)
    kind = r.one_of("kind", ("template", "model"), "model")
    model = r.str_or_none("model")
    if kind == "model" and not model:
        raise ConfigError(file, r.key("model"), "a model tier needs a litellm model id")
    key_env = r.str_or_none("api_key_env")
    if key_env is not None and not key_env.replace("_", "").isalnum():
        raise ConfigError(
            file,
            r.key("api_key_env"),
            "must be the NAME of an environment variable holding the key, never the key itself",
        )
    _check_access(r, key_env, r.str_or_none("api_base"), access)
    price = None
    if raw.get("price") is not None:
        pr = Reader(file, r.key("price"), raw["price"], ("input_per_mtok", "output_per_mtok"))
        price = Price(
            input_per_mtok=pr.non_negative_number("input_per_mtok", 0.0),
            output_per_mtok=pr.non_negative_number("output_per_mtok", 0.0),
        )
    return TierSpec(
        name=name,
        kind=kind,
        model=model,
        api_base=r.str_or_none("api_base"),
        api_key_env=key_env,
        max_tokens=r.positive_int("max_tokens", 4096),
        context_tokens=r.positive_int("context_tokens", 16000),
        timeout=r.positive_number("timeout", 120),
        price=price,
    )


def _check_access(
    r: Reader, key_env: str | None, api_base: str | None, access: ModelAccess
) -> None:
    problem = access.key_env_problem(key_env) if key_env is not None else None
    if problem is not None:
        raise ConfigError(r.file, r.key("api_key_env"), problem, access.allowed_key_envs())
    problem = access.api_base_problem(api_base) if api_base is not None else None
    if problem is not None:
        raise ConfigError(r.file, r.key("api_base"), problem, access.allowed_api_bases())


def _task_type(file: str, name: str, raw: Any, ladder: tuple[str, ...]) -> TaskTypeSpec:
    r = Reader(file, f"task_types.{name}", raw, TYPE_KEYS)
    start = r.one_of("start", ladder, None)
    ceiling = r.one_of("ceiling", ladder, ladder[-1])
    if ladder.index(ceiling) < ladder.index(start):
        raise ConfigError(
            file,
            r.key("ceiling"),
            f"ceiling {ceiling!r} is below start {start!r}",
            ", ".join(ladder[ladder.index(start) :]),
        )
    label = r.str_or_none("label") or f"tierbot:{name}"
    return TaskTypeSpec(
        name=name,
        label=label,
        start=start,
        ceiling=ceiling,
        output=r.one_of("output", ("commit", "comment"), "commit"),
        attempts=r.positive_int("attempts", 2),
    )


def _review(
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


def _hooks(
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
