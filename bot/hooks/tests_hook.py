"""``tierbot-tests``: tests for staged public functions and classes that no test covers.

For each staged Python module (test files, fixtures and scripts aside) the hook reads the
top-level functions and classes and asks :mod:`bot.core.suite` which of them the repository's
tests already cover, by the rule ``tierbot run`` uses. The others get tests from the template
tier (:func:`bot.core.templates.skeleton_tests`) in the module's test file in the repository's
own layout: created, or extended without changing a line that is already there. The common
case, every name already covered, is decided without importing the template tier at all.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sequence

from bot.adapters.pathguard import UnsafePath
from bot.core.suite.coverage import covered_names
from bot.core.suite.layout import Suite, Target
from bot.core.suite.modules import module_name
from bot.core.suite.source import SourceEncodingError, decode_source, non_utf8_declaration
from bot.hooks.common import (
    EXIT_CHANGED,
    EXIT_OK,
    NOT_TESTABLE,
    Echo,
    Repo,
    echo,
    file_hook_main,
    is_python,
    is_test_path,
    load_config,
    nothing_written,
    plural,
    python_paths,
    record_items,
)
from bot.hooks.sources import Source, read_staged, read_text, write_text

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


def is_module_to_test(path: str) -> bool:
    """Not a test, fixture or script, and not private (``_impl.py``, ``_vendor/``)."""
    if is_test_path(path) or path.rsplit("/", 1)[-1] in NOT_TESTABLE:
        return False
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return not any(part.startswith("_") for part in parts)


def top_level_names(tree: ast.Module) -> set[str]:
    """Module-level functions and classes that make up the module's interface.

    With a literal ``__all__`` exactly those of its names the module defines; otherwise the
    names without a leading underscore. (The template tier's ``public_names`` has the final
    say; this is the cheap first look that lets a no-op run skip it.)
    """
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    exported = _literal_all(tree)
    if exported is not None:
        return defined & exported
    return {name for name in defined if not name.startswith("_")}


def _literal_all(tree: ast.Module) -> set[str] | None:
    names: set[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value, extends = node.targets, node.value, False
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value, extends = [node.target], node.value, isinstance(node, ast.AugAssign)
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        if not isinstance(value, ast.List | ast.Tuple):
            return None  # computed: fall back to the naming rule
        strings = {
            e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        }
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
            return None
        names = strings if names is None or not extends else names | strings
    return names


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


def _syntax_problem(path: str, text: str) -> str | None:
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return f"{path}:{exc.lineno or 1}: {exc.msg}"
    except (ValueError, RecursionError) as exc:
        return f"{path}:1: cannot be parsed: {exc}"
    return None


def _read_test_file(repo: Repo, target: str) -> tuple[str | None, str | None]:
    """(text with LF line ends, None) of an existing test file; (None, problem) if unusable."""
    try:
        data = repo.guard.read_bytes(target)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except UnsafePath as exc:
        return None, f"{target}:1: cannot be read: {exc.reason}"
    except OSError as exc:
        return None, f"{target}:1: cannot be read: {exc.strerror or exc}"
    try:
        text = decode_source(data).replace("\r\n", "\n")
    except SourceEncodingError as exc:
        return None, f"{target}:1: `{target}` {exc}"
    declared = non_utf8_declaration(text)
    if declared is not None:
        # Extending it would mean writing it back in that encoding; tierbot writes UTF-8.
        return None, f"{target}:1: `{target}` is not UTF-8 (declared {declared})"
    problem = _syntax_problem(target, text)
    return (None, f"{problem} (tests would be added here)") if problem else (text, None)


def _newline(repo: Repo, path: str) -> str:
    """The line ending an existing file uses ("\\n" for a new one), kept when it is extended."""
    try:
        found = read_text(repo, path)
    except (UnsafePath, OSError, UnicodeDecodeError):
        return "\n"
    return found[1] if found is not None else "\n"


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
            original, problem = _read_test_file(repo, target.path)
            if problem is not None:
                problems.append(problem)
                continue
            newline = _newline(repo, target.path)
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
