"""A plan stopped on red CI by a charged subtask at its ceiling gets the senior diagnosis, once.

It is the diagnosis a single-ladder task gets when it stops at its ceiling on red CI
(``bot/service/diagnosis.py``): one metered call of the ``debug`` type's tier over the failing
check's log, naming the stopped subtask's files, posted as the diagnosis comment on the PR. In
the ledger it is a ``debug`` task whose parent is the feature's task, on the feature's budget
key, so ``budget.per_task_usd`` of the issue covers it; a refused call still lets the plan
stop, and the stop's reason says that no diagnosis was posted and why. The head it is asked for
is stored in the plan's state before the call: a job run again on the same check (its worker
stopped before the stop was published) does not ask, or pay, a second time.
"""

from __future__ import annotations

from dataclasses import replace

from bot.config import RepoConfig
from bot.core.logs import scrub
from bot.core.types import CheckResult, Task
from bot.events import RepoRef
from bot.orchestrator.state import FeatureResult, FeatureRun, is_feature_state
from bot.ports.tasks import IssueTask
from bot.service.context import Context
from bot.service.diagnosis import TASK_TYPE, Subject, diagnose_logs

NO_COMMIT = "a stopped plan's branch is left to a person as it is"


def diagnose_ceiling(
    ctx: Context,
    repo_ref: RepoRef,
    config: RepoConfig,
    item: IssueTask,
    result: FeatureResult,
    check: CheckResult,
) -> FeatureResult:
    """``result`` once its diagnosis is posted, or with a reason that says why none was;
    unchanged unless a charged subtask at its ceiling stopped the plan on this red check."""
    if result.ceiling is None or result.run is None or not is_feature_state(item.state):
        return result
    assert item.state is not None
    head = str(item.state.get("head") or "")
    stored = FeatureRun.from_json(item.state)
    if stored.diagnosed == head:
        return result  # an earlier run of this job asked already
    stored.diagnosed = head
    item.state = {**item.state, **stored.to_json()}
    ctx.store.save(item)
    subtask_id = result.ceiling
    subtask = result.run.plan.subtask(subtask_id)
    files = list(dict.fromkeys((*subtask.files, *result.run.get(subtask_id).paths)))
    feature = stored.task
    job = Task(
        type=TASK_TYPE,
        text=f"Diagnose the red check of {repo_ref.full_name}#{item.issue} at {head}, which "
        f"stopped subtask {subtask_id} at its ceiling",
        title=f"{TASK_TYPE} #{item.issue}: subtask {subtask_id}: {scrub(subtask.title)}"[:120],
        slug=f"{feature.slug}-{subtask_id}-{TASK_TYPE}",
        parent_id=stored.task_id,
        budget_key=feature.budget_key,
    )
    ctx.echo(f"diagnosing the red check that stopped subtask {subtask_id} at its ceiling")
    try:
        pull = ctx.github.pull(item.repo, item.pr_number) if item.pr_number else None
        title = f"{feature.title} (subtask {subtask_id}: {subtask.title})"
        subject = Subject(item.pr_number or item.issue, title, files, pull, NO_COMMIT)
        logs = [(check.command or "check", check.output)]
        why = diagnose_logs(ctx, repo_ref, config, job, subject, logs)
    except Exception as exc:  # the stop is published whatever became of its diagnosis
        why = f"the diagnosis failed ({type(exc).__name__})"
        ctx.echo(f"diagnosis of subtask {subtask_id} failed: {scrub(str(exc))}")
    if not why:
        return result
    return replace(result, reason=f"{result.reason}; no diagnosis was posted: {why}")
