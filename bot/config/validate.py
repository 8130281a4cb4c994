"""Validation of the merged configuration document into a ``RepoConfig``.

Validation is written out here rather than delegated to pydantic or jsonschema because this
package sits on the pre-commit path, where the whole run must start in about 100 ms; both of
those libraries cost more than that to import. Every error names the file, the dotted key and
the allowed values, which is what a user needs to fix the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.config.reader import Reader
from bot.config.sections import (
    debug_section,
    hooks_section,
    plan_section,
    review_section,
    routing_section,
)
from bot.spec import (
    BudgetSpec,
    CheckSpec,
    ConfigError,
    PathPolicy,
    Price,
    RepoConfig,
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
    "routing",
    "dashboard",
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
        hooks=hooks_section(file, data.get("hooks", {}), tiers, ladder),
        review=review_section(file, data.get("review", {}), tiers, ladder),
        debug=debug_section(file, data.get("debug", {})),
        plan=plan_section(
            file,
            data.get("plan", {}),
            tiers,
            ladder,
            {name: spec.label for name, spec in task_types.items()},
        ),
        routing=routing_section(file, data.get("routing", {})),
        dashboard=top.boolean("dashboard", False),
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
