"""Stubs the template tier cannot write, sent to the model tier named by ``hooks.model_tier``.

A hook runs while a developer waits at ``git commit``, so the model gets one attempt per stub
inside two limits from the config: ``hooks.timeout`` seconds for all calls of the run and
``hooks.budget_usd`` of worst-case spend (also capped by the repository's daily budget). A
model that cannot be reached (connection refused, timeout, rate limit, missing key) ends the
model phase at once with one line: the stubs stay as they are for a later run, and the commit
is not blocked unless ``hooks.strict`` says so. A reply that is not a usable body (no fence,
bad syntax, still a stub) leaves that stub alone and is noted.

litellm loads only here, and only when a stub actually goes to a model.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import textwrap
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.hooks.audit import Item
from bot.hooks.budgets import HookBudgets, ledger_url
from bot.hooks.sources import Source
from bot.hooks.stubs import Fill, Stub, apply, body_kind

if TYPE_CHECKING:
    from bot.core.budget import Scope
    from bot.core.types import Message
    from bot.metering import Meter, Metered
    from bot.ports import CallRecord, Models
    from bot.spec import BudgetSpec, RepoConfig, TierSpec

SYSTEM = (
    "You complete stubs in an existing Python module. Reply with exactly one ```python "
    "fenced block holding the complete definition of the requested function: the same "
    "decorators and signature, a docstring, then a working body. Put any import the body "
    "needs inside the body. Write nothing outside the fence."
)
_FENCE = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
_WINDOW_LINES = 150  # lines either side of the stub when the whole module does not fit


@dataclass
class ModelPhase:
    """What the model tier did in one hook run."""

    fills: dict[str, list[Fill]] = field(default_factory=dict)  # path -> fills
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False  # unreachable, out of time or budget: ``strict`` turns this into exit 1


def messages_for(source: Source, stub: Stub, *, context_tokens: int) -> list[Message]:
    from bot.core.logs import scrub
    from bot.core.types import Message

    text = scrub(source.text)
    if len(text) // 3 > context_tokens:
        lines = text.split("\n")
        low = max(stub.def_line - 1 - _WINDOW_LINES, 0)
        text = "\n".join(lines[low : stub.end + _WINDOW_LINES])
    hint = f"\nWhat it should do: {stub.hint}" if stub.hint else ""
    user = (
        f"Module `{source.path}`:\n\n```python\n{text}\n```\n\n"
        f"Write the body of `{stub.qualname}` (line {stub.def_line}), now a stub:\n\n"
        f"```python\n{stub.header}\n```{hint}"
    )
    return [Message("system", SYSTEM), Message("user", user)]


def body_from_reply(reply: str, stub: Stub) -> tuple[str, ...] | str:
    """The body lines (relative indentation) the reply gives ``stub``, or why there are none."""
    match = _FENCE.search(reply)
    code = match.group(1) if match else reply
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError as exc:
        return f"the reply does not parse (line {exc.lineno}: {exc.msg})"
    code = textwrap.dedent(code)
    node = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == stub.name
        ),
        None,
    )
    if node is None:
        return f"the reply has no def {stub.name}"
    if body_kind(node.body) is not None:
        return "the reply is still a stub"
    body = list(node.body)
    if (
        stub.has_docstring
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    first = body[0]
    first_line = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    if first_line == node.lineno:  # a one-line def: no layout to keep, unparse it
        return tuple("\n".join(ast.unparse(s) for s in body).split("\n"))
    lines = code.split("\n")[first_line - 1 : node.end_lineno]
    return tuple(textwrap.dedent("\n".join(lines)).rstrip().split("\n"))


def fill_with_model(
    requests: Sequence[tuple[Source, Stub]],
    *,
    config: RepoConfig,
    env: Mapping[str, str],
    repo_root: Path,
    git_dir: Path | None,
    models: Models | None = None,
) -> ModelPhase:
    """Ask the model tier for each stub's body, within the run's time and money."""
    from bot.adapters.prices import load_price_table
    from bot.core import budget as money
    from bot.metering import Meter

    phase = ModelPhase()
    assert config.hooks.model_tier is not None
    tier = config.tier(config.hooks.model_tier)
    prices = load_price_table()
    if money.price_for(tier, prices) is None:
        phase.failed = True
        phase.notes.append(
            f"{_label(tier)} has no known price, so no budget can bound it; "
            f"set tiers.{tier.name}.price; {len(requests)} stub(s) left as they are"
        )
        return phase
    if models is None:
        from bot.adapters.llm import LiteLLMModels

        # The hook is an edge like the CLI: tierbot prices calls from litellm's bundled table,
        # so litellm must not spend the developer's commit fetching its own copy online.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        from bot.settings import Settings

        # Only the allowed key variables, and prompts without the environment's secret values.
        settings = Settings.from_env(env)
        # No back-off sleeps: at the keyboard an unreachable model should fail fast.
        models = LiteLLMModels(
            env=settings.model_keys(),
            sleep=lambda _seconds: None,
            max_rate_limit_retries=0,
            redact=settings.redactor().tokens,
        )
    budgets = HookBudgets(ledger_url(env, git_dir))
    run = _Run(
        phase,
        Meter(models=models, budgets=budgets, prices=prices),
        tier,
        # One hook run is one budget key: hooks.budget_usd caps it, the day's cap still holds.
        scope=money.scope_for(str(repo_root), f"hook:{uuid.uuid4().hex}"),
        budget=dataclasses.replace(config.budget, per_task_usd=config.hooks.budget_usd),
        deadline=time.monotonic() + config.hooks.timeout,
        timeout=config.hooks.timeout,
    )
    try:
        for index, (source, stub) in enumerate(requests):
            if not run.fill(source, stub, left_over=len(requests) - index):
                break
    finally:
        budgets.close()
    return phase


def _label(tier: TierSpec) -> str:
    return f"model tier {tier.name} ({tier.model})"


@dataclass
class _Run:
    """One hook run's model calls: each stub is one metered call, within time and money."""

    phase: ModelPhase
    meter: Meter
    tier: TierSpec
    scope: Scope
    budget: BudgetSpec
    deadline: float
    timeout: float

    def fill(self, source: Source, stub: Stub, *, left_over: int) -> bool:
        """Ask for one stub's body; False when the run must stop (money, time, unreachable)."""
        phase, label = self.phase, _label(self.tier)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            phase.failed = True
            phase.notes.append(
                f"{label}: hooks.timeout ({self.timeout:g}s) used up; "
                f"{left_over} stub(s) left as they are"
            )
            return False
        # The adapter retries a timeout once: give each try half of what is left.
        timed = dataclasses.replace(
            self.tier, timeout=max(min(self.tier.timeout, remaining / 2), 0.5)
        )
        messages = messages_for(source, stub, context_tokens=self.tier.context_tokens)
        metered = self.meter.call(timed, messages, scope=self.scope, budget=self.budget)
        if metered.refused:
            phase.failed = True
            phase.items.append(_item(source, stub, metered.record, done=False, wrote=0))
            phase.notes.append(
                f"{label}: the next call could cost ${metered.worst_usd:.4f}, more than "
                f"the ${metered.left_usd:.4f} left of hooks.budget_usd or the day's budget; "
                f"{left_over} stub(s) left as they are"
            )
            return False
        if metered.completion is None:
            detail = " ".join(metered.message.split())[:200]
            phase.items.append(_item(source, stub, metered.record, done=False, wrote=0))
            if metered.fatal:
                phase.failed = True
                phase.notes.append(
                    f"{label} unreachable ({metered.kind}: {detail}); "
                    f"{left_over} stub(s) left as they are"
                )
                return False
            phase.notes.append(f"{source.path}:{stub.def_line}: {stub.qualname}: {detail}")
            return True
        self._use(source, stub, metered)
        return True

    def _use(self, source: Source, stub: Stub, metered: Metered) -> None:
        """Keep the reply's body when it compiles in place; otherwise note why not."""
        assert metered.completion is not None
        tier, cost = self.tier, metered.cost_usd
        body = body_from_reply(metered.completion.text, stub)
        if isinstance(body, tuple):
            fill = Fill(
                stub,
                body,
                remove_marker=True,
                tier=tier.name,
                note=f"{tier.name}: {tier.model}"
                + (f", ${cost:.4f}" if cost is not None else ", cost unknown"),
            )
            try:
                compile(apply(source.text, [fill]), source.path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                body = f"the body does not compile in place ({exc})"
            else:
                self.phase.fills.setdefault(source.path, []).append(fill)
                self.phase.items.append(
                    _item(source, stub, metered.record, done=True, wrote=len("".join(body)))
                )
                return
        self.phase.items.append(_item(source, stub, metered.record, done=False, wrote=0))
        self.phase.notes.append(
            f"{source.path}:{stub.def_line}: {stub.qualname}: {tier.name}'s reply was not "
            f"used: {body}"
        )


def _item(source: Source, stub: Stub, call: CallRecord, *, done: bool, wrote: int) -> Item:
    return Item(
        task_type="stub",
        title=f"stub body for {stub.qualname} ({source.path})",
        detail=f"tierbot-stubs: body of {stub.qualname} in {source.path}:{stub.def_line}",
        read_chars=len(source.text),
        wrote_chars=wrote,
        call=call,
        done=done,
    )
