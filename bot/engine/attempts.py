"""One attempt at one tier: the template tier or a metered model call, then the path and
syntax checks; and the prompts of a step, each priced before it is sent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from bot.config import Price, RepoConfig, TierSpec
from bot.core import budget as money
from bot.core.context import ContextTooLarge, build_context, fence, named_paths
from bot.core.edits import EditError, check_syntax, parse_edits
from bot.core.paths import check_paths, glob_match
from bot.core.templates import Declined, NothingToDo, Proposal, TemplateRequest, generate
from bot.core.types import EditSet, Message, Outcome, Task, Usage
from bot.engine.state import Produced, TaskRun
from bot.metering import Meter, Metered
from bot.ports import CallRecord, Ledger, Models, Workspace
from bot.prompts import file_prompts


class Attempts:
    """Makes attempts for one repository's config; the loop decides which and when."""

    def __init__(
        self,
        *,
        config: RepoConfig,
        models: Models,
        ledger: Ledger,
        prices: Mapping[str, Price],
        repo: str,
        template_text: Callable[[Task], str] = lambda task: task.text,
    ) -> None:
        self.config = config
        self.template_text = template_text
        self.ledger = ledger
        self.prices = prices
        self.repo = repo
        self.meter = Meter(models=models, budgets=ledger, recorder=ledger, prices=prices)

    def price(self, tier: TierSpec) -> Price | None:
        return money.price_for(tier, self.prices)

    def senior_price(self) -> Price | None:
        return self.price(self.config.tier(self.config.ladder[-1]))

    def senior_cost(self, usage: Usage) -> float | None:
        return money.cost(self.senior_price(), usage)

    def worst_case(self, tier: TierSpec, prompt_tokens: int) -> float | None:
        if tier.is_template:
            return 0.0
        return money.worst_case(self.price(tier), prompt_tokens, tier.max_tokens)

    def scope(self, state: TaskRun) -> money.Scope:
        """Whose budgets the task spends: its key (its issue's on GitHub), repo and account."""
        return money.scope_for(self.repo, state.task.budget_key or f"task:{state.task_id}")

    def attempt(
        self,
        state: TaskRun,
        attempt_id: int,
        tier: TierSpec,
        workspace: Workspace,
        prompts: StepPrompts,
        asked: Metered | Produced | None = None,
    ) -> Produced:
        """``asked`` is the model's answer when the call was made ahead of the loop."""
        task = state.task
        if tier.is_template:
            started = time.monotonic()
            produced = self.template(task, workspace)
            # Recorded as a free call so the report's spend table shows the template tier's work.
            self.ledger.record_call(
                state.task_id,
                attempt_id,
                CallRecord(
                    tier.name,
                    "template",
                    0,
                    0,
                    0.0,
                    time.monotonic() - started,
                    "ok" if produced.outcome is Outcome.GREEN else str(produced.outcome),
                ),
            )
        else:
            metered = self.ask(state, attempt_id, tier, prompts) if asked is None else asked
            if isinstance(metered, Produced):
                produced = metered
            else:
                produced = self.answer(metered, tier, prompts, workspace)
        if produced.outcome is not Outcome.GREEN:
            return produced
        return self.validate(produced)

    def template(self, task: Task, workspace: Workspace) -> Produced:
        result = generate(self.template_request(task, workspace))
        if isinstance(result, Declined):
            return Produced(Outcome.DECLINED, detail=result.reason)
        if isinstance(result, NothingToDo):
            return Produced(Outcome.NOTHING_TO_DO, detail=result.reason)
        # What a model would have read and written for the same work, for the counterfactual.
        read_chars = len(task.text) + sum(
            len(workspace.read(p) or "") for p in named_paths(task.text, workspace.list_files())
        )
        wrote_chars = sum(len(e.content or "") for e in result.edits)
        senior = self.config.tier(self.config.ladder[-1])
        usage = Usage(
            # An estimate, never more than the senior tier could have been sent.
            min(
                money.tokens_for_chars(read_chars, chars_per_token=money.CHARS_PER_TOKEN_TYPICAL),
                senior.context_tokens - senior.max_tokens,
            ),
            money.tokens_for_chars(wrote_chars, chars_per_token=money.CHARS_PER_TOKEN_TYPICAL),
        )
        offered = result.suggestions if isinstance(result, Proposal) else ()
        return Produced(
            Outcome.GREEN,
            detail="suggested, not committed: " + ", ".join(s.path for s in offered)
            if offered
            else "",
            edits=EditSet(result.edits),
            cost_usd=0.0,
            senior_cost_usd=self.senior_cost(usage),
            note=result.note() if isinstance(result, Proposal) else "",
        )

    def template_request(self, task: Task, workspace: Workspace) -> TemplateRequest:
        protected = self.config.paths.protected
        return TemplateRequest(
            task_type=task.type,
            text=self.template_text(task),
            files=workspace.list_files(),
            read=workspace.read,
            protected=lambda path: any(glob_match(path, glob) for glob in protected),
        )

    def ask(
        self, state: TaskRun, attempt_id: int, tier: TierSpec, prompts: StepPrompts
    ) -> Metered | Produced:
        """The step's metered call: it reads only the prompt built for it, so it may run on
        another thread while the loop waits (a plan's wave)."""
        messages = prompts.messages(tier)
        if isinstance(messages, ContextTooLarge):
            return Produced(Outcome.CONTEXT_EXCEEDED, detail=str(messages))
        return self.meter.call(
            tier,
            messages,
            scope=self.scope(state),
            budget=self.config.budget,
            task_id=state.task_id,
            attempt_id=attempt_id,
        )

    def answer(
        self, metered: Metered, tier: TierSpec, prompts: StepPrompts, workspace: Workspace
    ) -> Produced:
        """What the answer of ``metered`` produced, its edits read against the branch now."""
        usage = metered.usage
        reported = usage.prompt_tokens is not None and usage.completion_tokens is not None
        if metered.completion is None:
            return Produced(
                metered.outcome,
                detail=metered.message if metered.refused else f"{metered.kind}: {metered.message}",
                cost_usd=metered.cost_usd,
                worst_usd=metered.worst_usd,
                senior_cost_usd=self.senior_cost(usage) if reported else 0.0,
                usage=usage,
            )
        text = metered.completion.text
        if not reported:  # the counterfactual still needs numbers: estimate both sides
            sent = prompts.messages(tier)
            sent_text = (
                "" if isinstance(sent, ContextTooLarge) else "".join(m.content for m in sent)
            )
            prompt = money.estimate_tokens(sent_text)
            usage = Usage(prompt, money.estimate_tokens(text))
        attempt = Produced(
            Outcome.GREEN,
            cost_usd=metered.cost_usd,
            worst_usd=metered.worst_usd,
            usage=metered.usage,
            senior_cost_usd=self.senior_cost(usage),
        )
        try:
            attempt.edits = parse_edits(text, workspace.read)
        except EditError as exc:
            attempt.outcome = Outcome.INVALID_EDIT
            attempt.detail = f"unusable edit: {exc}"
            attempt.feedback = f"Your reply could not be applied: {exc}"
        return attempt

    def prompt(
        self,
        tier: TierSpec,
        task: Task,
        workspace: Workspace,
        *,
        feedback: str = "",
        touched: Sequence[str] = (),
    ) -> list[Message]:
        """The messages an attempt at ``tier`` sends; raises ContextTooLarge."""
        files = workspace.list_files()
        context = build_context(
            task.text,
            files,
            workspace.read,
            tier.context_tokens - tier.max_tokens,
            extra_paths=[p for p in touched if p in files],
        )
        return self.messages(task, tier, context, feedback)

    def messages(self, task: Task, tier: TierSpec, context: Any, feedback: str) -> list[Message]:
        system = file_prompts().render(
            "system.md.j2", tier=tier.name, protected=list(self.config.paths.protected)
        )
        user = file_prompts().render(
            "task.md.j2",
            task_type=task.type,
            task_fenced=context.task_fenced,
            repo_map=context.repo_map,
            map_truncated=context.map_truncated,
            files=context.files,
            feedback=bool(feedback),
            feedback_intro="What went wrong (untrusted output of tools, fenced):",
            feedback_fenced=fence(feedback or "(none)", "text UNTRUSTED"),
        )
        return [Message("system", system), Message("user", user)]

    def validate(self, produced: Produced) -> Produced:
        violations = check_paths(produced.edits, self.config.paths)
        if violations:
            text = "; ".join(v.reason for v in violations)
            produced.outcome, produced.detail = Outcome.POLICY, f"edit refused: {text}"
            produced.feedback = f"These edits are not allowed: {text}"
            return produced
        errors = check_syntax(produced.edits)
        if errors:
            text = "; ".join(errors)
            produced.outcome, produced.detail = Outcome.INVALID_EDIT, f"syntax: {text}"
            produced.feedback = "The files you wrote do not parse:\n" + "\n".join(errors)
        return produced


class StepPrompts(Mapping[str, float | None]):
    """The prompts of one step, built on first use per tier, and each tier's worst case.

    Escalation reads the worst case of the tier it would call, and the attempt then sends the
    very prompt that was priced, so the step and the meter's admission agree to the token.
    A prompt that does not fit the tier costs nothing: the attempt ends before any call.
    """

    def __init__(
        self,
        attempts: Attempts,
        task: Task,
        workspace: Workspace,
        tiers: Sequence[str],
        feedback: str = "",
        touched: Sequence[str] = (),
    ) -> None:
        self._attempts, self._task, self._workspace = attempts, task, workspace
        self._tiers, self._feedback, self._touched = tuple(tiers), feedback, tuple(touched)
        self._built: dict[str, list[Message] | ContextTooLarge] = {}

    def messages(self, tier: TierSpec) -> list[Message] | ContextTooLarge:
        if tier.name not in self._built:
            try:
                self._built[tier.name] = self._attempts.prompt(
                    tier,
                    self._task,
                    self._workspace,
                    feedback=self._feedback,
                    touched=self._touched,
                )
            except ContextTooLarge as exc:
                self._built[tier.name] = exc
        return self._built[tier.name]

    def prompt_tokens(self, tier: TierSpec) -> int:
        """The bound on the prompt's tokens the meter will reserve for (0: no call)."""
        if tier.is_template:
            return 0
        messages = self.messages(tier)
        return 0 if isinstance(messages, ContextTooLarge) else money.prompt_bound(messages)

    def __getitem__(self, name: str) -> float | None:
        tier = self._attempts.config.tier(name)
        if tier.is_template or isinstance(self.messages(tier), ContextTooLarge):
            return 0.0
        return self._attempts.worst_case(tier, self.prompt_tokens(tier))

    def __iter__(self) -> Iterator[str]:
        return iter(self._tiers)

    def __len__(self) -> int:
        return len(self._tiers)
