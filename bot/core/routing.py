"""Route a task to its ladder: task type from a flag, a label or the task text."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.escalation import Ladder
from bot.core.triage import triage
from bot.spec import ConfigError, RepoConfig

# What each default task type is for, as the planner and the triage step are told.
TYPE_GUIDE = {
    "stub": "a new Python module of placeholder definitions, written from the signatures given",
    "tests": "skeleton pytest tests for modules that exist by then",
    "config": "configuration files: pytest, EditorConfig, pre-commit, CI, or a project's own "
    "settings file",
    "docs": "documentation: README sections, docs pages, docstrings, changelog entries",
    "boilerplate": "repetitive code that follows a pattern the repository already has: "
    "registrations, exports, wiring",
    "feature": "new behaviour that needs real thought",
    "refactor": "restructuring existing code without changing what it does: renames, moves, "
    "extractions",
    "debug": "find out why something fails and explain it (a comment, no commit)",
    "review": "review a pull request (comments, no commit)",
}


def infer_type(text: str, known: frozenset[str] | set[str]) -> str:
    """A best guess from the task text (``core/triage.py``); ``feature`` when it cannot tell."""
    decided = triage(text, known).decision
    return decided if decided in known else "feature"


def describe_types(config: RepoConfig, names: Iterable[str]) -> dict[str, str]:
    """Each named type's guide with its start tier, for a prompt; custom types get their ladder."""
    described = {}
    for name in names:
        spec = config.task_type(name)
        guide = TYPE_GUIDE.get(name, f"tasks of the repository's own type {name!r}")
        described[name] = f"{guide}; starts at the {spec.start} tier"
    return described


def type_for_label(config: RepoConfig, label: str) -> str | None:
    for spec in config.task_types.values():
        if spec.label == label:
            return spec.name
    return None


def route(config: RepoConfig, task_type: str) -> Ladder:
    spec = config.task_type(task_type)
    if spec.output != "commit":
        raise ConfigError(
            config.source,
            f"task_types.{task_type}.output",
            f"{task_type} tasks comment on a pull request; `tierbot run` makes commits",
            ", ".join(n for n, s in config.task_types.items() if s.output == "commit"),
        )
    return Ladder(
        tiers=config.ladder,
        start=spec.start,
        ceiling=spec.ceiling,
        attempts=spec.attempts,
        fixed=tuple(name for name in config.ladder if config.tier(name).is_template),
    )
