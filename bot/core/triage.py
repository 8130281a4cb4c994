"""Triage an issue with no type: one task type, the orchestrator (``feature``), or unclear.

Pure. ``triage`` reads the text as a person would, title first: an explicit verb ("Rename",
"Fix", "Add tests") or a traceback decides at no cost; a description of several kinds of work
is a feature for the orchestrator. When nothing decides, the answer is ``unclear`` and the
caller asks the cheapest model tier once, with ``triage_messages``, and reads the answer with
``parse_triage``; a failed or unusable answer falls back to the orchestrator, whose planner
reads the whole issue anyway.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.core.answers import extract_json, without_quote
from bot.core.context import strip_html_comments, untrusted
from bot.core.logs import scrub
from bot.core.prompts import Prompts
from bot.core.triage_words import (
    CONVENTIONAL,
    CONVENTIONAL_KINDS,
    DEBUG_VERBS,
    FEATURE,
    FEATURE_VERBS,
    FIX_VERBS,
    ITEM,
    KIND_WORDS,
    MAKE_VERBS,
    NEW_CODE_VERBS,
    REFACTOR_VERBS,
    REVIEW_VERB,
    STRONG_SYMPTOMS,
    SYMPTOMS,
    TRACEBACK,
    noun_kinds,
    prose,
    split_issue,
)
from bot.core.types import Message

UNCLEAR = "unclear"  # keywords do not decide; one call to the cheapest model tier does
PROMPT = "triage.md.j2"
# The triage tier is the cheapest one; an issue longer than this is cut, not paid for.
MAX_TEXT_CHARS = 6000
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class TriageDecision:
    decision: str  # a task type, FEATURE (the orchestrator) or UNCLEAR
    reason: str  # one line for the status comment
    source: str = "keywords"  # "keywords", "model", or "fallback" (the model call failed)

    @property
    def orchestrate(self) -> bool:
        return self.decision == FEATURE


def _decide(kind: str, known: Collection[str], reason: str) -> TriageDecision | None:
    if kind == FEATURE or kind in known:
        return TriageDecision(kind, reason)
    return None


def _quote(match: re.Match[str] | None) -> str:
    return f"'{_one_line(match.group(0))[:40]}'" if match else ""


def triage(text: str, known_types: Collection[str]) -> TriageDecision:
    """Decide from the words alone; ``UNCLEAR`` when they do not decide."""
    title, body = split_issue(text)
    title_words, body_words = prose(title), prose(body)
    decided = _by_title(title, title_words, body, body_words, known_types)
    if decided is not None:
        return decided
    return _by_body(title_words, body, body_words, known_types)


def _by_title(
    title: str, title_words: str, body: str, body_words: str, known: Collection[str]
) -> TriageDecision | None:
    conventional = CONVENTIONAL.match(title)
    if conventional:
        prefix = conventional.group(1).lower()
        title_words = prose(title[conventional.end() :])
        if prefix in CONVENTIONAL_KINDS:
            kind = CONVENTIONAL_KINDS[prefix]
            return _with_parts(kind, body_words, known, f"the title's '{prefix}:' prefix")
        if prefix == "fix":
            return _fix(title_words, body, body_words, known, "the title's 'fix:' prefix")
    lead = title_words.strip()
    if REVIEW_VERB.match(lead) and "review" in known:
        return TriageDecision("review", "the title asks for a review")
    refactor = REFACTOR_VERBS.match(lead)
    if refactor and "refactor" in known:
        return TriageDecision("refactor", f"the title starts with {_quote(refactor)}")
    debug = DEBUG_VERBS.match(lead)
    if debug and "debug" in known:
        return TriageDecision("debug", f"the title starts with {_quote(debug)}")
    fix = FIX_VERBS.match(lead)
    if fix:
        return _fix(
            lead[fix.end() :], body, body_words, known, f"the title starts with {_quote(fix)}"
        )
    return _by_object(lead, body_words, known)


def _by_object(lead: str, body_words: str, known: Collection[str]) -> TriageDecision | None:
    """The title's object decides: what it asks to make, or the symptom it reports."""
    make = MAKE_VERBS.match(lead)
    symptom = SYMPTOMS.search(lead)
    if symptom and not make and "debug" in known:
        return TriageDecision("debug", f"the title reports a symptom ({_quote(symptom)})")
    kinds = noun_kinds(lead)
    feature = FEATURE_VERBS.search(lead)
    if feature and not kinds:
        return TriageDecision(FEATURE, f"the title asks for new behaviour ({_quote(feature)})")
    if len(kinds) > 1:
        listed = ", ".join(KIND_WORDS[k] for k in kinds)
        return TriageDecision(FEATURE, f"the title asks for several kinds of work: {listed}")
    if kinds:
        return _with_parts(
            kinds[0], body_words, known, f"the title asks for {KIND_WORDS[kinds[0]]}"
        )
    new_code = NEW_CODE_VERBS.match(lead)
    if new_code:
        return TriageDecision(FEATURE, f"the title asks for new code ({_quote(new_code)})")
    return None


def _fix(
    rest: str, body: str, body_words: str, known: Collection[str], why: str
) -> TriageDecision | None:
    """A fix: grunt when it names grunt work, debug when it names a symptom, else a feature."""
    kinds = noun_kinds(rest)
    symptom = SYMPTOMS.search(rest) or STRONG_SYMPTOMS.search(body_words)
    if TRACEBACK.search(body) and "debug" in known:
        return TriageDecision("debug", f"{why} and the issue holds a traceback")
    if len(kinds) == 1 and not (symptom and kinds[0] == "tests"):
        return _decide(kinds[0], known, f"{why} and names {KIND_WORDS[kinds[0]]}")
    if symptom and "debug" in known:
        return TriageDecision("debug", f"{why} and describes a symptom ({_quote(symptom)})")
    return TriageDecision(FEATURE, f"{why} and says what to change")


def _with_parts(
    kind: str, body_words: str, known: Collection[str], why: str
) -> TriageDecision | None:
    """A grunt kind, unless the body's list asks for other kinds of work as well."""
    if kind == FEATURE:
        return TriageDecision(FEATURE, why)
    others = _item_kinds(body_words) - {kind}
    if others:
        return TriageDecision(
            FEATURE, f"{why}, and its list also asks for {', '.join(sorted(others))}"
        )
    return _decide(kind, known, why)


def _item_kinds(body_words: str) -> set[str]:
    kinds: set[str] = set()
    for item in ITEM.findall(body_words):
        found = noun_kinds(item)
        kinds.update(found)
        if not found and (FEATURE_VERBS.search(item) or re.match(r"(?i)\s*(add|create)\b", item)):
            kinds.add(FEATURE)
    return kinds


def _by_body(
    title_words: str, body: str, body_words: str, known: Collection[str]
) -> TriageDecision:
    if TRACEBACK.search(body) and "debug" in known:
        return TriageDecision("debug", "the issue holds a traceback")
    symptom = SYMPTOMS.search(title_words) or STRONG_SYMPTOMS.search(body_words)
    if symptom and "debug" in known:
        return TriageDecision("debug", f"the issue describes a symptom ({_quote(symptom)})")
    kinds = _item_kinds(body_words)
    if len(kinds) > 1 or FEATURE in kinds:
        listed = ", ".join(KIND_WORDS.get(k, "new code") for k in sorted(kinds))
        return TriageDecision(FEATURE, f"the issue lists several parts: {listed}")
    named = noun_kinds(body_words)
    new_code = NEW_CODE_VERBS.search(body_words) or FEATURE_VERBS.search(body_words)
    if len(named) > 1 and new_code:
        listed = ", ".join(KIND_WORDS[k] for k in named)
        return TriageDecision(FEATURE, f"the issue asks for new code with {listed}")
    return TriageDecision(UNCLEAR, "the words do not say which kind of work this is")


def triage_messages(text: str, types: Mapping[str, str], *, prompts: Prompts) -> list[Message]:
    """The one call to the cheapest tier: ``types`` maps each type it may pick to its guide."""
    cleaned = scrub(strip_html_comments(text)).strip()
    if len(cleaned) > MAX_TEXT_CHARS:
        cleaned = cleaned[:MAX_TEXT_CHARS] + "\n... (cut)"
    choices = [(name, guide) for name, guide in types.items() if name != FEATURE]
    system = prompts.render(PROMPT, part="system", types=choices, feature=FEATURE)
    user = prompts.render(PROMPT, part="user", issue_fenced=untrusted(cleaned))
    return [Message("system", system), Message("user", user)]


class TriageAnswerError(ValueError):
    """The triage tier's answer is not the JSON asked for."""


def parse_triage(answer: str, known_types: Collection[str]) -> TriageDecision:
    """The model's pick; an unusable answer falls back to the orchestrator and says why."""
    try:
        data = extract_json(answer, (dict,), TriageAnswerError)
    except TriageAnswerError as exc:
        return fallback(f"the triage answer is unusable: {without_quote(exc)}")
    choice = data.get("type")
    if not isinstance(choice, str) or (choice != FEATURE and choice not in known_types):
        return fallback(f"the triage answer names no known type ({_one_line(str(choice))[:40]!r})")
    reason = data.get("reason")
    return TriageDecision(choice, _one_line(reason) if isinstance(reason, str) else "", "model")


def fallback(why: str) -> TriageDecision:
    """When the triage call fails: the planner reads the issue and decides what it needs."""
    return TriageDecision(FEATURE, f"{why}; planning it as a feature", "fallback")


def _one_line(text: str) -> str:
    """Text bound for a public comment: one short line, no HTML (no fake state marker)."""
    flat = " ".join(scrub(strip_html_comments(text)).replace("<", " ").replace(">", " ").split())
    return flat[:MAX_REASON_CHARS] + ("..." if len(flat) > MAX_REASON_CHARS else "")
