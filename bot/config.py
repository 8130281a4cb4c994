"""Repository configuration: packaged defaults merged with ``.github/tierbot.yml``, validated.

Validation is written out here rather than delegated to pydantic or jsonschema because this
module sits on the pre-commit path, where the whole run must start in about 100 ms; both of
those libraries cost more than that to import. Every error names the file, the dotted key and
the allowed values, which is what a user needs to fix the file.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_CONFIG_PATH = ".github/tierbot.yml"
DEFAULTS_NAME = "<packaged defaults>"


class ConfigError(Exception):
    """A configuration file is unreadable or invalid; the message names file, key and fix."""

    def __init__(self, file: str, key: str, problem: str, allowed: str | None = None) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.allowed = allowed
        text = f"{file}: {key}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True)
class TierSpec:
    name: str
    kind: str  # "template" or "model"
    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    max_tokens: int = 4096
    context_tokens: int = 16000
    timeout: float = 120.0
    price: Price | None = None

    @property
    def is_template(self) -> bool:
        return self.kind == "template"


@dataclass(frozen=True)
class TaskTypeSpec:
    name: str
    label: str
    start: str
    ceiling: str
    output: str  # "commit" or "comment"
    attempts: int


@dataclass(frozen=True)
class CheckSpec:
    command: str | None
    timeout: float


@dataclass(frozen=True)
class PathPolicy:
    allowed: tuple[str, ...]
    protected: tuple[str, ...]
    max_files: int
    max_file_bytes: int


@dataclass(frozen=True)
class BudgetSpec:
    per_task_usd: float  # everything spent on one task (on GitHub: on one issue, all its runs)
    per_day_usd: float  # per repository, from midnight UTC
    per_month_usd: float | None = None  # per GitHub account (installation), from the 1st UTC


HOOK_NAMES = ("tests", "stubs")
FORMATTERS = ("auto", "ruff", "black", "none")
DEFAULT_STUB_MARKER = "# tierbot: stub"


@dataclass(frozen=True)
class HooksSpec:
    """The pre-commit hooks (``tierbot-tests``, ``tierbot-stubs``): scope, marker, model use."""

    run: tuple[str, ...] = HOOK_NAMES  # the hooks the plain git hook runs
    tests_path: str | None = None  # "tests/test_{module}.py"-style layout; None: detected
    marker: str = DEFAULT_STUB_MARKER  # the comment line above a def whose body is filled
    model_tier: str | None = None  # None: the free template tier only
    timeout: float = 60.0  # seconds for all model calls of one hook run
    budget_usd: float = 0.05  # money for the model calls of one hook run
    strict: bool = False  # an unreachable model fails the hook instead of a one-line note
    format: str = "auto"  # "auto" (the repo's ruff or black config), "ruff", "black", "none"
    exclude: tuple[str, ...] = ()  # globs of staged paths the hooks leave alone


SEVERITIES = ("critical", "major", "minor", "nit")  # most to least severe
# Generated, vendored and lock files: reviewing them costs tokens and finds nothing a human
# wrote. Kept in step with the ``review.skip`` list of defaults.yml (a test checks).
DEFAULT_REVIEW_SKIP = (
    "**/*.lock",
    "**/package-lock.json",
    "**/npm-shrinkwrap.json",
    "**/pnpm-lock.yaml",
    "**/go.sum",
    "**/vendor/**",
    "**/node_modules/**",
    "**/*.min.js",
    "**/*.min.css",
    "**/*.map",
    "**/dist/**",
    "**/*_pb2.py",
    "**/*_pb2.pyi",
    "**/*_pb2_grpc.py",
    "**/*.pb.go",
)


@dataclass(frozen=True)
class ReviewSpec:
    """How the senior tier reviews a pull request (the ``review:`` section)."""

    on_open: bool = False  # review every new non-draft PR without waiting for the label
    skip: tuple[str, ...] = DEFAULT_REVIEW_SKIP  # globs of files never sent to the model
    min_severity: str = "minor"  # findings below this are not posted
    max_comments: int = 20  # inline comments per review; the rest go to the summary
    max_chunks: int = 8  # model calls per review; files beyond are listed as not reviewed
    chunk_tokens: int | None = None  # prompt tokens per call; None: the tier's context
    triage: str | None = None  # a cheaper tier that picks the files worth a senior look


@dataclass(frozen=True)
class DebugSpec:
    """How the senior tier diagnoses red CI on a pull request (the ``debug:`` section)."""

    # Push the diagnosis's proposed fix as a commit. Only ever on tierbot's own branches
    # (``tierbot/*`` in the same repository), and only inside ``paths``; off by default.
    fix_commit: bool = False


@dataclass(frozen=True)
class PlanSpec:
    """The orchestrator (the ``plan:`` section): who plans a feature issue, how big, triage."""

    tier: str = "senior"  # the model tier that writes the plan and starts its hard subtasks
    max_subtasks: int = 8  # a plan with more subtasks is rejected
    triage_tier: str | None = None  # tierbot:auto's one call; None: the ladder's first model tier


@dataclass(frozen=True)
class RepoConfig:
    ladder: tuple[str, ...]
    tiers: Mapping[str, TierSpec]
    task_types: Mapping[str, TaskTypeSpec]
    check: CheckSpec
    paths: PathPolicy
    budget: BudgetSpec
    source: str = DEFAULTS_NAME
    review: ReviewSpec = ReviewSpec()
    hooks: HooksSpec = HooksSpec()
    debug: DebugSpec = DebugSpec()
    plan: PlanSpec = PlanSpec()

    def tier(self, name: str) -> TierSpec:
        return self.tiers[name]

    def task_type(self, name: str) -> TaskTypeSpec:
        try:
            return self.task_types[name]
        except KeyError:
            raise ConfigError(
                "--type",
                "task type",
                f"unknown task type {name!r}",
                ", ".join(sorted(self.task_types)),
            ) from None


def _load_yaml(text: str, file: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise ConfigError(file, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


def packaged_defaults() -> dict[str, Any]:
    text = importlib.resources.files("bot").joinpath("defaults.yml").read_text("utf-8")
    data = _load_yaml(text, DEFAULTS_NAME)
    assert isinstance(data, dict)
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; lists and scalars in ``override`` replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class _Reader:
    """Typed access to one mapping of the merged document, reporting errors by dotted key."""

    def __init__(self, file: str, prefix: str, data: Any, allowed_keys: tuple[str, ...]) -> None:
        self.file = file
        self.prefix = prefix
        if not isinstance(data, Mapping):
            raise ConfigError(file, prefix or "<top>", f"expected a mapping, got {_kind(data)}")
        for key in data:
            if key not in allowed_keys:
                raise ConfigError(file, self.key(str(key)), "unknown key", ", ".join(allowed_keys))
        self.data = data

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, check: Callable[[Any], bool], expected: str, default: Any) -> Any:
        value = self.data.get(name, default)
        if not check(value):
            raise ConfigError(self.file, self.key(name), f"expected {expected}, got {value!r}")
        return value

    def str_or_none(self, name: str) -> str | None:
        value: str | None = self.get(
            name, lambda v: v is None or isinstance(v, str), "a string or null", None
        )
        return value

    def positive_number(self, name: str, default: float) -> float:
        value = self.get(name, _is_number, "a positive number", default)
        if value <= 0:
            raise ConfigError(self.file, self.key(name), f"expected a positive number, got {value}")
        return float(value)

    def non_negative_number(self, name: str, default: float) -> float:
        value = self.get(name, _is_number, "a number >= 0", default)
        if value < 0:
            raise ConfigError(self.file, self.key(name), f"expected a number >= 0, got {value}")
        return float(value)

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(
            name, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer", default
        )
        if value < 1:
            raise ConfigError(self.file, self.key(name), f"expected an integer >= 1, got {value}")
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value: bool = self.get(name, lambda v: isinstance(v, bool), "true or false", default)
        return value

    def one_of(self, name: str, choices: tuple[str, ...], default: str | None) -> str:
        value = self.data.get(name, default)
        if value not in choices:
            raise ConfigError(
                self.file, self.key(name), f"unknown value {value!r}", ", ".join(choices)
            )
        return str(value)

    def str_list(self, name: str, default: list[str]) -> tuple[str, ...]:
        value = self.get(
            name,
            lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
            "a list of strings",
            default,
        )
        return tuple(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


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


def validate(data: Any, file: str) -> RepoConfig:
    """Build a RepoConfig from a merged document; ``file`` is named in every error."""
    top = _Reader(file, "", data, TOP_KEYS)
    tiers_raw = top.get("tiers", lambda v: isinstance(v, Mapping), "a mapping", {})
    ladder = top.str_list("ladder", [])
    if not ladder:
        raise ConfigError(file, "ladder", "must name at least one tier", ", ".join(tiers_raw))
    for name in ladder:
        if name not in tiers_raw:
            raise ConfigError(file, "ladder", f"unknown tier {name!r}", ", ".join(tiers_raw))
    if len(set(ladder)) != len(ladder):
        raise ConfigError(file, "ladder", "names a tier twice")

    tiers: dict[str, TierSpec] = {}
    for name, raw in tiers_raw.items():
        tiers[str(name)] = _tier(file, str(name), raw)
    for name in tiers:
        if name not in ladder:
            raise ConfigError(file, f"tiers.{name}", "tier is not on the ladder", ", ".join(ladder))

    types_raw = top.get("task_types", lambda v: isinstance(v, Mapping), "a mapping", {})
    task_types: dict[str, TaskTypeSpec] = {}
    for name, raw in types_raw.items():
        spec = _task_type(file, str(name), raw, tuple(ladder))
        task_types[spec.name] = spec

    check_r = _Reader(file, "check", data.get("check", {}), ("command", "timeout"))
    paths_r = _Reader(
        file,
        "paths",
        data.get("paths", {}),
        ("allowed", "protected", "max_files", "max_file_bytes"),
    )
    budget_r = _Reader(
        file, "budget", data.get("budget", {}), ("per_task_usd", "per_day_usd", "per_month_usd")
    )
    return RepoConfig(
        ladder=tuple(ladder),
        tiers=tiers,
        task_types=task_types,
        check=CheckSpec(
            command=check_r.str_or_none("command"),
            timeout=check_r.positive_number("timeout", 600),
        ),
        paths=PathPolicy(
            allowed=paths_r.str_list("allowed", ["**"]),
            protected=paths_r.str_list("protected", []),
            max_files=paths_r.positive_int("max_files", 20),
            max_file_bytes=paths_r.positive_int("max_file_bytes", 200_000),
        ),
        budget=BudgetSpec(
            per_task_usd=budget_r.non_negative_number("per_task_usd", 2.0),
            per_day_usd=budget_r.non_negative_number("per_day_usd", 20.0),
            per_month_usd=None
            if budget_r.data.get("per_month_usd") is None
            else budget_r.non_negative_number("per_month_usd", 0.0),
        ),
        source=file,
        hooks=_hooks(file, data.get("hooks", {}), tiers, tuple(ladder)),
        review=_review(file, data.get("review", {}), tiers, tuple(ladder)),
        debug=_debug(file, data.get("debug", {})),
        plan=_plan(file, data.get("plan", {}), tiers, tuple(ladder)),
    )


def _debug(file: str, raw: Any) -> DebugSpec:
    r = _Reader(file, "debug", raw, DEBUG_KEYS)
    return DebugSpec(fix_commit=r.boolean("fix_commit", DebugSpec().fix_commit))


def _plan(file: str, raw: Any, tiers: Mapping[str, TierSpec], ladder: tuple[str, ...]) -> PlanSpec:
    r = _Reader(file, "plan", raw, PLAN_KEYS)
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


def _tier(file: str, name: str, raw: Any) -> TierSpec:
    r = _Reader(file, f"tiers.{name}", raw, TIER_KEYS)
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
    price = None
    if raw.get("price") is not None:
        pr = _Reader(file, r.key("price"), raw["price"], ("input_per_mtok", "output_per_mtok"))
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


def _task_type(file: str, name: str, raw: Any, ladder: tuple[str, ...]) -> TaskTypeSpec:
    r = _Reader(file, f"task_types.{name}", raw, TYPE_KEYS)
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
    r = _Reader(file, "review", raw, REVIEW_KEYS)
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
    r = _Reader(file, "hooks", raw, HOOK_KEYS)
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


def load_config(text: str | None, *, file: str = REPO_CONFIG_PATH) -> RepoConfig:
    """Merge a repository config document (or none) over the packaged defaults and validate."""
    defaults = packaged_defaults()
    if text is None or not text.strip():
        return validate(defaults, DEFAULTS_NAME if text is None else file)
    override = _load_yaml(text, file)
    if override is None:
        override = {}
    if not isinstance(override, Mapping):
        raise ConfigError(file, "<top>", f"expected a mapping, got {_kind(override)}")
    for key in override:
        if key not in TOP_KEYS:
            raise ConfigError(file, str(key), "unknown key", ", ".join(TOP_KEYS))
    return validate(merge(defaults, override), file)


def load_repo_config(repo_root: Path) -> RepoConfig:
    """Read ``.github/tierbot.yml`` under ``repo_root`` if present (never through a link)."""
    from bot.adapters.pathguard import PathGuard, UnsafePath

    try:
        text = PathGuard(repo_root).read_bytes(REPO_CONFIG_PATH).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return load_config(None)
    except UnsafePath as exc:
        raise ConfigError(REPO_CONFIG_PATH, "<file>", f"cannot be read: {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(REPO_CONFIG_PATH, "<file>", f"cannot be read: {exc}") from None
    return load_config(text, file=REPO_CONFIG_PATH)
