"""The words triage reads: verbs, nouns and symptoms, and the prose of an issue apart from code."""

from __future__ import annotations

import re

from bot.core.context import strip_html_comments

FEATURE = "feature"  # the orchestrator: a planner splits the issue into typed subtasks


def _words(alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?i)\b(?:" + alternatives + r")\b")


# The kind of work an object noun names; checked on prose with paths and code removed, so
# "tests for src/pkg/config.py" names tests, not config.
NOUNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "tests",
        _words(r"(?:unit |skeleton |integration |regression )?tests?|test cases?|test coverage"),
    ),
    (
        "stub",
        _words(r"stubs?|stub modules?|type stubs|skeleton (?:module|class)es?|scaffold(?:ing)?"),
    ),
    (
        "config",
        _words(
            r"config(?:uration)? files?|\.?editorconfig|pre-commit|ci (?:config|workflow|job)s?"
            r"|github actions?|workflows?|tox(?:\.ini)?|pyproject(?:\.toml)?|\.?gitignore"
            r"|dependabot|linter config(?:uration)?|lint settings|config"
        ),
    ),
    (
        "docs",
        _words(r"docs?|documentation|readme|docstrings?|changelog|typos?|tutorial|user guide"),
    ),
    ("boilerplate", _words(r"boilerplate")),
)
KIND_WORDS = {
    "tests": "tests",
    "stub": "a stub module",
    "config": "a config file",
    "docs": "documentation",
    "boilerplate": "boilerplate",
}
# A config *option* is a change to the code's behaviour, not a config file.
CODE_OPTION = _words(r"config(?:uration)? (?:option|setting|flag|key|value|parameter)s?")

REFACTOR_VERBS = _words(
    r"rename[sd]?|refactor\w*|extract|restructure|reorgani[sz]e|deduplicate|inline|simplify"
    r"|split \S+(?: \S+)? into|move \S+(?: \S+)? to|clean ?up|remove dead code"
)
DEBUG_VERBS = _words(r"debug|diagnose|investigate|why does|why is|why do")
FIX_VERBS = _words(r"fix(?:es|ed)?|resolve|repair|correct|patch")
FEATURE_VERBS = _words(
    r"implement|support|introduce|allow|enable|build|design|make it possible|add support"
    r"|new feature|feature request|as a user|should be able"
)
MAKE_VERBS = _words(
    r"add|create|write|generate|scaffold|provide|set ?up|update|document|improve|extend|expand"
)
NEW_CODE_VERBS = _words(r"add|create|write|generate|scaffold|provide|set ?up")
REVIEW_VERB = re.compile(r"(?i)^(?:please\s+)?review\b")
# Symptoms: the cause is unknown, so the work starts with a diagnosis.
SYMPTOMS = _words(
    r"crash\w*|segfault\w*|traceback|exceptions?|errors?|fail(?:s|ed)?|failing|failures?"
    r"|broken|breaks|hangs?|hanging|freezes?|deadlocks?|leaks?|regression|intermittent(?:ly)?"
    r"|flaky|flakes?|sporadic(?:ally)?|race condition|wrong|incorrect(?:ly)?|unexpected(?:ly)?"
    r"|doesn't work|does not work|not working|bug|raises?|timeouts?|times out|stack ?trace"
)
# In the body a symptom word is only trusted when it cannot be a feature's subject.
STRONG_SYMPTOMS = _words(
    r"intermittent(?:ly)?|flaky|sporadic(?:ally)?|segfault\w*|race condition|stack ?trace"
    r"|crash(?:es|ed|ing)?"
)
TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|^\s*File \"[^\"]+\", line \d+"
    r"|^\s*(?:\w+\.)*\w*(?:Error|Exception)\b(?::|$)|panicked at|Segmentation fault|core dumped",
    re.MULTILINE,
)
CONVENTIONAL = re.compile(
    r"(?i)^(feat|fix|docs?|tests?|ci|build|refactor|perf|style|chore)(?:\(.*?\))?!?:"
)
CONVENTIONAL_KINDS = {
    "feat": FEATURE,
    "doc": "docs",
    "docs": "docs",
    "test": "tests",
    "tests": "tests",
    "ci": "config",
    "build": "config",
    "refactor": "refactor",
    "perf": FEATURE,
}
FENCED = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
PATHLIKE = re.compile(r"\S*[/\\]\S*|\S+\.(?:py|md|rst|txt|toml|ya?ml|cfg|ini|json|js|ts)\b")
URL = re.compile(r"https?://\S+")
ITEM = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)(.+)$", re.MULTILINE)
TITLE_PREFIX = re.compile(r"^(?:#+\s*|title:\s*)", re.IGNORECASE)


def prose(text: str) -> str:
    """The words of ``text``: no fenced code, inline code, URLs or paths."""
    text = FENCED.sub(" ", text)
    for pattern in (CODE_SPAN, URL, PATHLIKE):
        text = pattern.sub(" ", text)
    return text


def split_issue(text: str) -> tuple[str, str]:
    """(title, body): the first non-empty line is the title, as ``--issue-file`` has it."""
    lines = strip_html_comments(text).replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line.strip():
            return TITLE_PREFIX.sub("", line.strip()), "\n".join(lines[index + 1 :])
    return "", ""


def noun_kinds(words: str) -> list[str]:
    """The grunt kinds ``words`` names, in the order of ``NOUNS``."""
    words = CODE_OPTION.sub(" ", words)
    return [kind for kind, pattern in NOUNS if pattern.search(words)]
