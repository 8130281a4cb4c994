"""Diagnose red CI: scrubbed, bounded log excerpts in; a diagnosis comment out.

Pure: the handler fetches the failing jobs' logs, calls the senior tier and posts the
comment. Secrets are scrubbed before a log reaches the prompt, and every string that goes
into the comment is scrubbed again, since the model may echo what it was shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.answers import extract_json
from bot.core.budget import CHARS_PER_TOKEN_WORST, estimate_tokens
from bot.core.context import fence, strip_html_comments, untrusted
from bot.core.diff import Diff, Side
from bot.core.logs import excerpt, scrub
from bot.core.prompts import Prompts
from bot.core.review import COST_PLACEHOLDER, ReviewComment
from bot.core.types import Message

PROMPT = "debug.md.j2"
# More failing jobs than this are usually one cause repeated across a matrix; their names
# are listed, their logs left out, so the budget buys depth rather than breadth.
MAX_JOBS = 6
# Below this many characters an excerpt no longer shows an error with its context.
MIN_JOB_CHARS = 600
MAX_CHANGED_FILES = 100
MAX_EVIDENCE = 12
MAX_EVIDENCE_CHARS = 500
DIAGNOSIS_MARKER = "<!-- tierbot:diagnosis -->"
# What ``excerpt`` may add in front of a shortened log ("... (earlier output omitted)\n").
_EXCERPT_PREFIX = 32


class DiagnosisOutputError(ValueError):
    """The model's answer is not the diagnosis JSON asked for; nothing of it may be posted."""


@dataclass(frozen=True)
class DebugPrompt:
    messages: tuple[Message, ...]
    jobs: tuple[str, ...]  # the (scrubbed) names of the jobs whose logs are in the prompt
    omitted: tuple[str, ...]  # failing jobs whose logs were left out
    tokens: int


def debug_prompt(
    logs: Sequence[tuple[str, str]],
    budget: int,
    *,
    title: str = "",
    changed_files: Sequence[str] = (),
    prompts: Prompts,
) -> DebugPrompt:
    """The diagnosis prompt for failing ``(job name, log text)`` pairs within ``budget`` tokens.

    Each log is scrubbed first, then cut to its error lines with context plus its tail; the
    room is shared so that short excerpts leave more to long ones.
    """
    if not logs:
        raise ValueError("no failing job logs to diagnose")
    jobs = [(_one_line(scrub(name)) or "(unnamed job)", scrub(text)) for name, text in logs]
    included, omitted = jobs[:MAX_JOBS], [name for name, _ in jobs[MAX_JOBS:]]
    pr = untrusted(scrub(title))
    files = _changed_files(changed_files)

    names_bound = [name for name, _ in jobs]  # every name may end up in the "left out" line
    base = sum(len(m.content) for m in _messages(prompts, pr, files, [], names_bound))
    room = budget * CHARS_PER_TOKEN_WORST - base - 2 * CHARS_PER_TOKEN_WORST
    if room < MIN_JOB_CHARS:
        raise ValueError(
            f"the diagnosis prompt needs about {estimate_tokens('x' * base)} tokens before any "
            f"log; the budget of {budget} leaves no room for one"
        )
    while len(included) > 1 and room // len(included) < MIN_JOB_CHARS:
        omitted.insert(0, included.pop()[0])

    natural = [excerpt(text, max_chars=len(text) + 1) for _, text in included]
    framing = [len(_section(name, "")) + 2 for name, _ in included]
    shares = _share(room, [len(n) + f for n, f in zip(natural, framing, strict=True)])
    # Fences grow with the longest backtick run in a log, so the first estimate can be a
    # little short; shrink and retry rather than send a prompt over budget.
    for _ in range(20):
        sections = []
        for (name, text), share, frame, whole in zip(
            included, shares, framing, natural, strict=True
        ):
            limit = share - frame
            body = (
                whole if len(whole) <= limit else excerpt(text, max_chars=limit - _EXCERPT_PREFIX)
            )
            sections.append(_section(name, body))
        messages = _messages(prompts, pr, files, sections, omitted)
        tokens = sum(estimate_tokens(m.content) for m in messages)
        if tokens <= budget:
            return DebugPrompt(messages, tuple(n for n, _ in included), tuple(omitted), tokens)
        shares = [max(1, int(s * 0.9)) for s in shares]
    raise ValueError(f"could not fit the failing logs into {budget} tokens")


def _messages(
    prompts: Prompts, pr: str, files: str, sections: list[str], left_out: list[str]
) -> tuple[Message, ...]:
    logs_text = "\n\n".join(sections)
    if left_out:
        logs_text += "\n\nAlso failed; logs not included: " + ", ".join(
            f"`{name}`" for name in left_out
        )
    system = prompts.render(PROMPT, part="system")
    user = prompts.render(
        PROMPT, part="user", pr_fenced=pr, changed_files=files, logs_text=logs_text.strip()
    )
    return Message("system", system), Message("user", user)


def _section(name: str, body: str) -> str:
    return f"## Job: {name}\n\n{untrusted(body)}"


def _share(room: int, wants: list[int]) -> list[int]:
    """Split ``room`` evenly, giving what a small want leaves over to the larger ones."""
    shares = [0] * len(wants)
    order = sorted(range(len(wants)), key=lambda i: wants[i])
    left = room
    for position, i in enumerate(order):
        fair = left // (len(order) - position)
        shares[i] = min(wants[i], fair)
        left -= shares[i]
    return shares


def _changed_files(paths: Sequence[str]) -> str:
    if not paths:
        return ""
    listed = [_one_line(scrub(p)) for p in paths[:MAX_CHANGED_FILES]]
    if len(paths) > MAX_CHANGED_FILES:
        listed.append(f"... and {len(paths) - MAX_CHANGED_FILES} more")
    return fence("\n".join(listed), "text UNTRUSTED")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Fix:
    path: str | None = None
    line: int | None = None
    suggestion: str | None = None  # replacement text for ``line`` of ``path``
    diff: str | None = None  # a unified diff, for changes of several lines
    description: str | None = None  # the fix in prose


@dataclass(frozen=True)
class Diagnosis:
    likely_cause: str
    evidence: tuple[str, ...]
    fix: Fix | None


def parse_diagnosis(text: str) -> Diagnosis:
    """The diagnosis in the model's answer; ``DiagnosisOutputError`` unless it is well-formed."""
    value = extract_json(text, (dict,), DiagnosisOutputError)
    cause = value.get("likely_cause")
    if not isinstance(cause, str) or not cause.strip():
        raise DiagnosisOutputError("the diagnosis has no likely_cause")
    evidence = value.get("evidence") or []
    if isinstance(evidence, str):
        evidence = [evidence]
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        raise DiagnosisOutputError("evidence is not a list of log lines")
    return Diagnosis(
        likely_cause=cause.strip(),
        evidence=tuple(e.rstrip() for e in evidence if e.strip()),
        fix=_fix(value.get("fix")),
    )


def _fix(raw: Any) -> Fix | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Fix(description=raw.strip()) if raw.strip() else None
    if not isinstance(raw, dict):
        raise DiagnosisOutputError(f"fix is {type(raw).__name__}, not an object, text or null")
    fields: dict[str, str | None] = {}
    for key in ("path", "suggestion", "diff", "description"):
        item = raw.get(key)
        if item is not None and not isinstance(item, str):
            raise DiagnosisOutputError(f"fix.{key} is not a string")
        fields[key] = item if item and item.strip() else None
    line = raw.get("line")
    if isinstance(line, str) and line.strip().isdigit():
        line = int(line)
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        line = None
    fix = Fix(
        path=fields["path"].strip() if fields["path"] else None,
        line=line,
        suggestion=fields["suggestion"].rstrip("\n") if fields["suggestion"] else None,
        diff=fields["diff"],
        description=fields["description"].strip() if fields["description"] else None,
    )
    if fix.suggestion is None and fix.diff is None and fix.description is None:
        return None
    return fix


def render_diagnosis(
    diagnosis: Diagnosis,
    *,
    cost_line: str = COST_PLACEHOLDER,
    jobs: Sequence[str] = (),
    omitted: Sequence[str] = (),
) -> str:
    """The diagnosis comment in Markdown, ending in the cost line and a marker to edit it by."""
    lines = ["### tierbot diagnosis", "", f"**Likely cause:** {_clean(diagnosis.likely_cause)}"]
    if diagnosis.evidence:
        source = f" from the logs of {_names(jobs)}" if jobs else ""
        quoted = [_clean(e)[:MAX_EVIDENCE_CHARS] for e in diagnosis.evidence[:MAX_EVIDENCE]]
        lines += ["", f"**Evidence**{source}:", "", fence("\n".join(quoted), "text")]
        if len(diagnosis.evidence) > MAX_EVIDENCE:
            lines.append(f"_({len(diagnosis.evidence) - MAX_EVIDENCE} more lines left out)_")
    fix = diagnosis.fix
    if fix is not None:
        lines += ["", *_fix_lines(fix)]
    else:
        lines += ["", "**Proposed fix:** none; the logs do not show what to change."]
    if omitted:
        lines += ["", f"Not read (over the log budget): {_names(omitted)}."]
    lines += ["", cost_line, "", DIAGNOSIS_MARKER]
    return "\n".join(lines) + "\n"


def _fix_lines(fix: Fix) -> list[str]:
    where = f" in `{_clean(fix.path)}`" if fix.path else ""
    if fix.path and fix.line is not None:
        where += f", line {fix.line}"
    out = []
    if fix.suggestion is not None:
        block = _clean_code(fix.suggestion)
        kind = "suggestion" if fix.path and fix.line is not None else ""
        out += [f"**Proposed fix**{where}:", "", fence(block, kind)]
    elif fix.diff is not None:
        out += [f"**Proposed fix**{where}:", "", fence(_clean_code(fix.diff), "diff")]
    if fix.description:
        if out:
            out += ["", _clean(fix.description)]
        else:
            out.append(f"**Proposed fix**{where}: {_clean(fix.description)}")
    return out


def fix_comment(diagnosis: Diagnosis, diff: Diff) -> ReviewComment | None:
    """The fix as an inline review comment, when it replaces a line the PR's diff shows.

    Posted that way the suggestion block gets GitHub's "Commit suggestion" button.
    """
    fix = diagnosis.fix
    if fix is None or fix.path is None or fix.line is None or fix.suggestion is None:
        return None
    f = diff.file(fix.path)
    if f is None or f.line_text(Side.RIGHT, fix.line) is None:
        return None
    body = f"**tierbot diagnosis:** {_clean(diagnosis.likely_cause)}\n\n"
    body += fence(_clean_code(fix.suggestion), "suggestion")
    return {"path": fix.path, "line": fix.line, "side": Side.RIGHT.value, "body": body}


def _clean(text: str) -> str:
    return scrub(strip_html_comments(text)).strip()


def _clean_code(text: str) -> str:
    # Not strip(): leading indentation is part of a replacement line.
    return scrub(strip_html_comments(text)).rstrip("\n")


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{_one_line(_clean(n))}`" for n in names)
