"""What the orchestrator's tiers read: the planner's messages and each subtask's own task.

Pure. The planner reads the fenced issue and the repository map; a subtask's tiers read only
the subtask (its title, instructions, files and signatures), the plan's one-line summary and
the files of the subtasks it depends on, never the whole issue. The template tier reads less
still: text that names nothing but the subtask's own work, since its generators act on every
file and config kind a text names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.core.context import Context, fence
from bot.core.logs import scrub
from bot.core.plan import Plan, Subtask
from bot.core.prompts import Prompts
from bot.core.templates import TemplateRequest
from bot.core.types import Message, Task

PROMPT = "plan.md.j2"


def planner_messages(
    context: Context,
    *,
    types: Mapping[str, str],
    max_subtasks: int,
    protected: Sequence[str],
    feedback: str = "",
    prompts: Prompts,
) -> list[Message]:
    """The planner's call: ``context`` from ``build_context`` over the issue text."""
    system = prompts.render(
        PROMPT,
        part="system",
        types=list(types.items()),
        max_subtasks=max_subtasks,
        protected=list(protected),
    )
    user = prompts.render(
        PROMPT,
        part="user",
        issue_fenced=scrub(context.task_fenced),
        repo_map=context.repo_map,
        map_truncated=context.map_truncated,
        files=context.files,
        feedback=bool(feedback),
        feedback_fenced=fence(feedback or "(none)", "text UNTRUSTED"),
    )
    return [Message("system", system), Message("user", user)]


def template_text(subtask: Subtask) -> str:
    """The subtask's own words: title, instructions, files and, for a stub, its signatures."""
    parts = [subtask.title, subtask.instructions]
    parts.append("Create or change only these files: " + ", ".join(subtask.files))
    if subtask.signatures:
        target = next((p for p in subtask.files if p.endswith(".py")), subtask.files[0])
        body = "\n\n".join(s.rstrip() for s in subtask.signatures)
        # The stub generator takes the words after the path for the module's docstring.
        title = subtask.title.rstrip(".:")
        parts.append(f"Create {target}: {title}.\n\n{fence(body, 'python')}")
    return "\n\n".join(parts) + "\n"


def subtask_text(plan: Plan, subtask: Subtask) -> str:
    """The task text a model tier reads for ``subtask``; dependencies are named, not pathed."""
    text = template_text(subtask)
    if plan.summary:
        text += f"\nThis is one part of a larger change: {plan.summary}\n"
    deps = [plan.subtask(d) for d in subtask.depends_on]
    if deps:
        listed = "; ".join(f"{d.title} ({d.id})" for d in deps)
        text += f"It builds on work already committed: {listed}. Their files are shown below.\n"
    return text


def context_paths(plan: Plan, subtask: Subtask) -> tuple[str, ...]:
    """Files a model tier reads in full: the subtask's own, then those of its dependencies."""
    paths = list(subtask.files)
    for dep in subtask.depends_on:
        paths += plan.subtask(dep).files
    return tuple(dict.fromkeys(paths))


def template_request(
    subtask: Subtask, files: Sequence[str], read: Callable[[str], str | None]
) -> TemplateRequest:
    """What the free tier is given for ``subtask`` over the branch as it is when it runs."""
    return TemplateRequest(subtask.type, template_text(subtask), files, read)


def subtask_task(plan: Plan, subtask: Subtask, *, slug: str, parent_id: int | None) -> Task:
    """The engine's task for one subtask: its type, its text, a slug under the parent's."""
    return Task(
        type=subtask.type,
        text=subtask_text(plan, subtask),
        title=subtask.title,
        slug=f"{slug}-{subtask.id}",
        parent_id=parent_id,
    )
