"""The repository configuration as values: tiers, task types, budgets, hooks, review, debug, plan.

Pure dataclasses, what the core decides with; ``bot.config`` reads and validates the files
that produce them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    auto_label: str | None = "tierbot:auto"  # the label that triages an issue; None: no such label
    parallel: int = 4  # model calls of one wave's independent subtasks in flight at once


@dataclass(frozen=True)
class RoutingSpec:
    """Where a task starts (the ``routing:`` section): the configured tier, or ``adaptive``:
    the tier the repository's own history recommends (``tierbot calibrate``)."""

    mode: str = "static"  # static | adaptive
    min_history: int = 20  # ended tasks of a type before its history decides
    explore: float = 0.1  # share of tasks started one tier below the recommendation


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
    routing: RoutingSpec = RoutingSpec()
    dashboard: bool = False  # one "tierbot dashboard" issue, edited after each task

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
