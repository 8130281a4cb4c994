"""Table tests for the triage of issues with no type: keywords first, then one cheap call."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.core.plan_checks import plan_types
from bot.core.routing import describe_types, infer_type
from bot.core.triage import FEATURE, UNCLEAR, parse_triage, triage, triage_messages
from bot.prompts import file_prompts

CONFIG = load_config(None)
KNOWN = frozenset(CONFIG.task_types)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "src/shop/export.py", line 12, in write\n'
    "    handle.write(row)\n"
    "ValueError: I/O operation on closed file.\n"
)

PROMPTS = file_prompts()

CASES = [
    # grunt work named by the title, paths and code never counted as words
    ("Add skeleton tests for src/pkg/config.py", "tests"),
    ("Create a stub module src/pkg/util.py", "stub"),
    ("Add an .editorconfig", "config"),
    ("Add pre-commit config", "config"),
    ("Update the README docs", "docs"),
    ("Write documentation for the plugin API", "docs"),
    ("Add tests for calc.py\n\n- test add\n- test divide by zero", "tests"),
    ("docs: explain the cache settings", "docs"),
    ("test: cover the empty cart", "tests"),
    # refactors by their verb
    ("Refactor the parser", "refactor"),
    ("Rename `load_cfg` to `load_config` everywhere", "refactor"),
    ("Move helpers to the utils module", "refactor"),
    ("Extract the retry loop into a function", "refactor"),
    # symptoms and tracebacks: the cause is unknown, so debug
    ("Export fails intermittently on CI", "debug"),
    ("Crash when exporting an empty report", "debug"),
    ("Tests fail randomly on macOS", "debug"),
    ("Exporter problem\n\n" + TRACEBACK, "debug"),
    ("Why does the build fail on Windows?", "debug"),
    ("Saving a cart\n\nThe save sometimes hangs, intermittently, on slow disks.", "debug"),
    # "Fix ...", as a person reads it
    ("Fix typo in README", "docs"),
    ("Fix the CI workflow for Python 3.12", "config"),
    ("Fix crash on empty input", "debug"),
    ("Fix flaky test_export", "debug"),
    ("Fix export\n\n" + TRACEBACK, "debug"),
    ("Fix the off-by-one in `paginate()`", FEATURE),
    ("Fix: use the configured encoding when reading carts", FEATURE),
    # new behaviour, and several kinds of work: the orchestrator
    ("Implement OAuth login", FEATURE),
    ("Support Python 3.13", FEATURE),
    ("Add a config option for the request timeout", FEATURE),
    ("Add retry for flaky network calls", FEATURE),
    ("Add crash reporting to Sentry", FEATURE),
    ("feat: webhooks for order events", FEATURE),
    ("Add tests and docs for the exporter", FEATURE),
    (
        "Add CSV export\n\n- [ ] an exporter module\n- [ ] a `--format csv` flag\n- [ ] tests"
        "\n- [ ] docs",
        FEATURE,
    ),
    ("Add tests for the exporter\n\n- tests for csv\n- update the README", FEATURE),
    (
        "Exports\n\nWe should add a CSV exporter next to the JSON one, with tests and docs.",
        FEATURE,
    ),
    # the words do not decide
    ("Dark mode", UNCLEAR),
    ("Something is off with the totals", UNCLEAR),
    ("Improve performance of the report query", UNCLEAR),
    ("Update dependencies", UNCLEAR),
    ("", UNCLEAR),
    ("<!-- Fix crash in parser -->\nDark mode", UNCLEAR),
]
IDS = [(c[0].splitlines() or ["(empty)"])[0][:50] for c in CASES]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_triage(text, expected):
    decision = triage(text, KNOWN)
    assert decision.decision == expected, decision.reason
    assert decision.source == "keywords"
    assert decision.reason


REASONS = [
    ("Rename foo to bar", "the title starts with 'Rename'"),
    ("Fix crash on empty input", "the title starts with 'Fix' and describes a symptom ('crash')"),
    ("Exporter problem\n\n" + TRACEBACK, "the issue holds a traceback"),
    ("Add tests and docs for X", "the title asks for several kinds of work: tests, documentation"),
    ("Add CSV export\n\n- a module\n- tests", "the title asks for new code ('Add')"),
    ("Dark mode", "the words do not say which kind of work this is"),
]


@pytest.mark.parametrize(("text", "reason"), REASONS, ids=[r[1][:30] for r in REASONS])
def test_reasons_say_which_words_decided(text, reason):
    assert triage(text, KNOWN).reason == reason


def test_only_known_types_are_picked():
    commit_only = plan_types(CONFIG.task_types)  # what `tierbot run` can do: no debug
    assert triage("Exporter problem\n\n" + TRACEBACK, commit_only).decision == UNCLEAR
    assert triage("Rename foo to bar", commit_only - {"refactor"}).decision == UNCLEAR
    assert triage("Fix crash on empty input", commit_only).decision == FEATURE


def test_orchestrate_means_feature():
    assert triage("Implement OAuth login", KNOWN).orchestrate
    assert not triage("Add tests for calc.py", KNOWN).orchestrate


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_infer_type_is_the_triage_with_feature_when_unclear(text, expected):
    assert infer_type(text, KNOWN) == (FEATURE if expected == UNCLEAR else expected)


def messages(text: str):
    types = describe_types(CONFIG, sorted(plan_types(CONFIG.task_types)))
    return triage_messages(text, types, prompts=PROMPTS)


def test_the_triage_call_lists_the_types_and_fences_the_issue():
    system, user = messages("Dark mode\n\nPlease.")
    assert "- `tests`: skeleton pytest tests" in system.content
    assert '{"type": "feature", "reason": "One sentence: why this kind."}' in system.content
    assert system.content.count("`feature`") >= 2  # offered once, as the orchestrator
    assert "```text UNTRUSTED\nDark mode\n\nPlease.\n```" in user.content


def test_the_triage_call_scrubs_secrets_and_cuts_long_issues():
    _, user = messages("Key sk-abcdefghijklmnopqrstuvwx leaked\n" + "word " * 5000)
    assert "sk-abcdefghijklmnopqrstuvwx" not in user.content
    assert "... (cut)" in user.content
    assert len(user.content) < 6200


ANSWERS = [
    (
        "a grunt type",
        '```json\n{"type": "docs", "reason": "Only the README."}\n```',
        "docs",
        "model",
    ),
    ("the orchestrator", '{"type": "feature", "reason": "Several parts."}', FEATURE, "model"),
    ("an unknown type", '{"type": "wizardry", "reason": "x"}', FEATURE, "fallback"),
    ("a missing type", '{"reason": "x"}', FEATURE, "fallback"),
    ("not JSON", "It is probably docs.", FEATURE, "fallback"),
    ("empty", "", FEATURE, "fallback"),
]


@pytest.mark.parametrize(
    ("answer", "decision", "source"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS]
)
def test_parse_triage(answer, decision, source):
    result = parse_triage(answer, plan_types(CONFIG.task_types))
    assert (result.decision, result.source) == (decision, source)
    if source == "fallback":
        assert result.reason.endswith("; planning it as a feature")
        assert "probably" not in result.reason  # the answer's prose is never quoted


def test_a_models_reason_is_made_safe_for_the_status_comment():
    answer = (
        '{"type": "docs", "reason": "Docs <!-- tierbot:state {\\"x\\": 1} --> only; token '
        "ghp_abcdefghijklmnopqrstuvwxyz0123\\n" + "a" * 400 + '"}'
    )
    reason = parse_triage(answer, KNOWN).reason
    assert "<" not in reason and "\n" not in reason
    assert "tierbot:state" not in reason
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123" not in reason
    assert len(reason) <= 203


def test_a_fallback_never_carries_html_from_the_answer():
    answer = '{"type": "<!-- tierbot:state {} -->"}'
    reason = parse_triage(answer, KNOWN).reason
    assert "<" not in reason and reason.endswith("; planning it as a feature")
