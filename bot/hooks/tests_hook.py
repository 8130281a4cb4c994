"""``tierbot-tests``: tests for staged public functions and classes that no test covers.

For each staged Python module (test files, fixtures and scripts aside) the hook reads the
top-level functions and classes and asks :mod:`bot.core.suite` which of them the repository's
tests already cover, by the rule ``tierbot run`` uses. The others get tests from the template
tier (:func:`bot.core.templates.skeleton_tests`) in the module's test file in the repository's
own layout: created, or extended without changing a line that is already there. The common
case, every name already covered, is decided without importing the template tier at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.adapters.pathguard import UnsafePath
from bot.core.suite.coverage import covered_names
from bot.core.suite.layout import Suite, Target
from bot.core.suite.modules import module_name
from bot.core.suite.source import SourceEncodingError, decode_source
from bot.hooks.common import (
    EXIT_CHANGED,
    EXIT_OK,
    Echo,
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
from bot.hooks.interface import is_module_to_test, top_level_names
from bot.hooks.sources import Source, newline_of, read_staged, read_test_file, write_text

TYPE_CHECKING = False  # see bot.hooks.common
if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.core.templates import PublicName
    from bot.hooks.audit import Item
    from bot.hooks.formatting import Written
    from bot.spec import RepoConfig

HOOK = "tierbot-tests"
TESTED_KINDS = frozenset({"function", "class"})


def main(argv: Sequence[str] | None = None) -> int:
    return file_hook_main(
        HOOK,
        "Write skeleton tests for staged public functions and classes that no test mentions "
        "yet (tierbot's free template tier).",
        run,
        argv,
    )


def run(
    filenames: Sequence[str],
    *,
    repo: Repo | None = None,
    config: RepoConfig | None = None,
    out: Echo = echo,
) -> int:
    """The hook on ``filenames``; exit status 0 (nothing to do), 1 (wrote, or bad input)."""
    if not any(is_python(f) for f in filenames):
        return EXIT_OK
    repo = repo or Repo.at_cwd()
    paths = [p for p in python_paths(repo, filenames) if is_module_to_test(p)]
    if not paths:
        return EXIT_OK
    config, sources, problems = read_staged(repo, paths, config, declared_encodings=True)
    if problems:
        return nothing_written(HOOK, problems, out)
    wanted = {s.path: top_level_names(s.tree) for s in sources}
    if not any(wanted.values()):
        return EXIT_OK
    suite = Suite(repo.files(), _reader(repo))
    missing: dict[str, set[str]] = {}
    for source in sources:
        names = wanted[source.path]
        if names:
            covered = covered_names(suite, source.path, names, source_tree=source.tree)
            if names - covered:
                missing[source.path] = names - covered
    if not missing:
        return EXIT_OK
    sources = [s for s in sources if s.path in missing]
    return _write_tests(repo, suite, config or load_config(repo), sources, missing, out)


def _reader(repo: Repo) -> Callable[[str], str | None]:
    """Read work-tree files as Python reads sources; None for what cannot be read so."""

    def read(path: str) -> str | None:
        try:
            data = repo.guard.read_bytes(path)
        except (UnsafePath, OSError):  # a link is never followed, as everywhere in the hooks
            return None
        try:
            return decode_source(data).replace("\r\n", "\n")
        except SourceEncodingError:
            return None

    return read


class _Plan:
    """The new text of one test file, and what went into it."""

    def __init__(self, target: Target, original: str | None, newline: str) -> None:
        self.target = target
        self.path = target.path
        self.original = original  # the file as it is on disk; None: a new file
        self.newline = newline
        self.current = original
        self.items: list[tuple[Source, list[PublicName]]] = []


def _target(suite: Suite, path: str, import_name: str, layout: str | None) -> Target:
    """The repository's own test file for ``path``, or the one ``hooks.tests_path`` names."""
    if layout is None:
        return suite.target(path)
    package, _, module = import_name.rpartition(".")
    target = layout.replace("{module}", module).replace("{package}", package.replace(".", "/"))
    return Target("/".join(part for part in target.split("/") if part))


def _keeps_every_line(old: str, new: str) -> bool:
    """Every line of ``old`` is still in ``new``, in order: the file was extended, not rewritten."""
    remaining = iter(new.split("\n"))
    return all(line in remaining for line in old.rstrip("\n").split("\n"))


def _plan(
    repo: Repo,
    suite: Suite,
    config: RepoConfig,
    sources: Sequence[Source],
    missing: dict[str, set[str]],
    out: Echo,
) -> tuple[dict[str, _Plan], list[str]]:
    from bot.core.templates import public_names, skeleton_tests

    plans: dict[str, _Plan] = {}
    problems: list[str] = []
    for source in sources:
        names = [
            n
            for n in public_names(source.text)
            if n.kind in TESTED_KINDS and n.name in missing[source.path]
        ]
        if not names:
            continue
        import_name = module_name(source.path, suite.fileset | {source.path})
        if not all(part.isidentifier() for part in import_name.split(".")):
            out(f"{HOOK}: {source.path}: skipped: {import_name!r} cannot be imported by tests")
            continue
        target = _target(suite, source.path, import_name, config.hooks.tests_path)
        plan = plans.get(target.path)
        if plan is None:
            original, problem = read_test_file(repo, target.path)
            if problem is not None:
                problems.append(problem)
                continue
            newline = newline_of(repo, target.path)
            plan = plans[target.path] = _Plan(target, original, newline)
        content = skeleton_tests(
            import_name,
            names,
            plan.current,
            source=source.text,
            is_package=source.path.endswith("/__init__.py"),
        )
        if content is not None:
            plan.current = content
            plan.items.append((source, names))
    return plans, problems


def _write_tests(
    repo: Repo,
    suite: Suite,
    config: RepoConfig,
    sources: Sequence[Source],
    missing: dict[str, set[str]],
    out: Echo,
) -> int:
    started = time.monotonic()
    plans, problems = _plan(repo, suite, config, sources, missing, out)
    if problems:
        return nothing_written(HOOK, problems, out)
    changed = [p for p in plans.values() if p.items and p.current is not None]
    if not changed:
        return EXIT_OK
    for plan in changed:
        assert plan.current is not None
        if plan.original is not None and not _keeps_every_line(plan.original, plan.current):
            out(f"{HOOK}: {plan.path}: not written: the new text would change existing lines")
            return EXIT_CHANGED

    from bot.hooks.formatting import format_written

    written: list[Written] = []
    items: list[Item] = []
    for plan in changed:
        written += _write_plan(repo, plan, items, out)
    format_written(repo.root, written, setting=config.hooks.format, out=out, hook=HOOK)
    record_items(repo, items, config=config, env=repo.env, out=out, hook=HOOK)
    elapsed = time.monotonic() - started
    out(
        f"{HOOK}: {plural(len(items), 'name')} got skeleton tests in {elapsed:.2f}s, free; "
        "review them, stage them and commit again"
    )
    return EXIT_CHANGED


def _write_plan(repo: Repo, plan: _Plan, items: list[Item], out: Echo) -> list[Written]:
    from bot.hooks.formatting import Written, added_ranges

    assert plan.current is not None
    write_text(repo, plan.path, plan.current, plan.newline)
    written = [
        Written(plan.path, None)
        if plan.original is None
        else Written(plan.path, added_ranges(plan.original, plan.current))
    ]
    count = sum(len(n) for _, n in plan.items)
    share = (len(plan.current) - len(plan.original or "")) // count
    for source, names in plan.items:
        listed = ", ".join(n.name for n in names)
        out(f"{HOOK}: wrote {plan.path}: skeleton tests for {listed} ({source.path})")
        for name in names:
            items.append(_item(source.path, name.name, plan.path, len(source.text), share))
    init = plan.target.init
    if init is not None and repo.guard.mode(init) is None:  # a link counts as there
        write_text(repo, init, "")
        out(f"{HOOK}: wrote {init}: the new test directory is a package, so pytest can import")
    return written


def _item(path: str, name: str, test_path: str, read: int, wrote: int) -> Item:
    from bot.hooks.audit import Item

    return Item(
        task_type="tests",
        title=f"skeleton tests for {name} ({path})",
        detail=f"tierbot-tests: skeleton tests for {name} of {path} in {test_path}",
        read_chars=read,
        wrote_chars=max(wrote, 0),
    )


if __name__ == "__main__":
    raise SystemExit(main())
