"""``tierbot-stubs``: fill the bodies of marked stubs in staged Python files.

A function whose body is ``...`` or ``pass`` under the marker comment (``# tierbot: stub``
unless ``hooks.marker`` says otherwise) is filled by the free template tier where the code
determines the body, and otherwise by the model tier ``hooks.model_tier`` if the repository
enables one, else with a placeholder that raises ``NotImplementedError``
(:mod:`bot.hooks.stubs` says exactly what the template tier writes). Files without the marker
text are not even parsed past the syntax check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from bot.hooks.common import (
    DEFAULT_MARKER,
    EXIT_CHANGED,
    EXIT_OK,
    Echo,
    HookError,
    Repo,
    echo,
    file_hook_main,
    is_python,
    load_config,
    nothing_written,
    plural,
    python_paths,
    record_items,
)
from bot.hooks.sources import Source, read_staged, write_text

TYPE_CHECKING = False  # see bot.hooks.common
if TYPE_CHECKING:
    from bot.hooks.audit import Item
    from bot.hooks.formatting import Written
    from bot.hooks.stubs import Fill, Stub
    from bot.ports import Models
    from bot.spec import RepoConfig

HOOK = "tierbot-stubs"


def main(argv: Sequence[str] | None = None) -> int:
    return file_hook_main(
        HOOK,
        "Fill the bodies of staged stubs marked '# tierbot: stub' (the free template tier "
        "first; a model tier only if the repository config enables one).",
        run,
        argv,
    )


def run(
    filenames: Sequence[str],
    *,
    repo: Repo | None = None,
    config: RepoConfig | None = None,
    out: Echo = echo,
    env: Mapping[str, str] | None = None,
    models: Models | None = None,
) -> int:
    """The hook on ``filenames``: 0 nothing to do, 1 wrote (or bad input, or strict failure)."""
    if not any(is_python(f) for f in filenames):
        return EXIT_OK
    repo = repo or Repo.at_cwd()
    config, sources, problems = read_staged(repo, python_paths(repo, filenames), config)
    if problems:
        return nothing_written(HOOK, problems, out)
    marker = config.hooks.marker if config is not None else DEFAULT_MARKER
    marked = [s for s in sources if marker in s.text]
    if not marked:
        return EXIT_OK

    from bot.hooks.stubs import find_stubs

    found = [(s, stub) for s in marked for stub in find_stubs(s.text, s.tree, marker)]
    if not found:
        return EXIT_OK
    config = config or load_config(repo)
    return _fill(repo, config, found, out, env if env is not None else os.environ, models)


def _fill(
    repo: Repo,
    config: RepoConfig,
    found: Sequence[tuple[Source, Stub]],
    out: Echo,
    env: Mapping[str, str],
    models: Models | None,
) -> int:
    started = time.monotonic()
    fills, for_model = _template_fills(found, config.hooks.model_tier)
    items: list[Item] = []
    failed = False
    notes: list[str] = []
    if for_model:
        from bot.hooks.model_fill import fill_with_model

        try:
            git_dir = repo.git_dir()
        except HookError:
            git_dir = None
        phase = fill_with_model(
            for_model, config=config, env=env, repo_root=repo.root, git_dir=git_dir, models=models
        )
        for path, extra in phase.fills.items():
            fills.setdefault(path, []).extend(extra)
        items += phase.items
        notes += phase.notes
        failed = phase.failed
    written = _write(repo, {s.path: s for s, _ in found}, fills, items, out)
    if written is None:
        return EXIT_CHANGED
    for note in notes:
        out(f"{HOOK}: {note}")
    from bot.hooks.formatting import format_written

    format_written(repo.root, written, setting=config.hooks.format, out=out, hook=HOOK)
    if items:
        record_items(repo, items, config=config, env=env, out=out, hook=HOOK)
    if written:
        filled = sum(len(f) for f in fills.values())
        out(
            f"{HOOK}: {plural(filled, 'stub')} filled in {time.monotonic() - started:.2f}s; "
            "review the changes, stage them and commit again"
        )
        return EXIT_CHANGED
    if failed and config.hooks.strict:
        return EXIT_CHANGED
    return EXIT_OK


def _template_fills(
    found: Sequence[tuple[Source, Stub]], model_tier: str | None
) -> tuple[dict[str, list[Fill]], list[tuple[Source, Stub]]]:
    """The template tier's fills by path, and the stubs left for the model tier."""
    from bot.hooks.stub_fills import placeholder_body
    from bot.hooks.stubs import Fill

    fills: dict[str, list[Fill]] = {}
    for_model: list[tuple[Source, Stub]] = []
    for source, stub in found:
        if stub.placeholder or (stub.implementation is None and model_tier):
            if model_tier:
                for_model.append((source, stub))
            continue
        if stub.implementation is not None:
            fill = Fill(stub, stub.implementation, remove_marker=True, note="template")
        else:
            fill = Fill(
                stub,
                placeholder_body(stub),
                remove_marker=False,
                note="template: placeholder raising NotImplementedError",
            )
        fills.setdefault(source.path, []).append(fill)
    return fills, for_model


def _write(
    repo: Repo,
    by_path: Mapping[str, Source],
    fills: Mapping[str, list[Fill]],
    items: list[Item],
    out: Echo,
) -> list[Written] | None:
    """Write each filled file, adding the template tier's items; None if one does not compile."""
    from bot.hooks.formatting import Written, added_ranges
    from bot.hooks.stubs import apply, new_def_lines

    written: list[Written] = []
    for path, file_fills in fills.items():
        source = by_path[path]
        new_text = apply(source.text, file_fills)
        try:
            compile(new_text, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:  # a bug, never the developer's code: say so
            out(f"{HOOK}: {path}: not written: the filled file does not compile ({exc})")
            return None
        write_text(repo, path, new_text, source.newline)
        written.append(Written(path, added_ranges(source.text, new_text)))
        for fill, line in new_def_lines(file_fills):
            out(f"{HOOK}: filled {path}:{line} {fill.stub.qualname} ({fill.note})")
            if fill.tier == "template":
                items.append(_template_item(path, source, fill))
    return written


def _template_item(path: str, source: Source, fill: Fill) -> Item:
    from bot.hooks.audit import Item

    return Item(
        task_type="stub",
        title=f"stub body for {fill.stub.qualname} ({path})",
        detail=f"tierbot-stubs: body of {fill.stub.qualname} in "
        f"{path}:{fill.stub.def_line} ({fill.note})",
        read_chars=len(source.text),
        wrote_chars=len("\n".join(fill.body)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
