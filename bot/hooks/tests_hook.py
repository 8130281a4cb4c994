"""``tierbot-tests``: skeleton tests for staged public functions and classes no test mentions.

For each staged Python module (test files, fixtures and scripts aside) the hook reads the
top-level functions and classes and looks for each name, as a whole word, in the repository's
test files. Names found nowhere get skeleton tests from the template tier
(:func:`bot.core.templates.skeleton_tests`) in the module's test file: created, or extended
without changing a line that is already there. The common case, every name already mentioned,
is decided without importing the template tier at all.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sequence

from bot.adapters.pathguard import UnsafePath
from bot.hooks.common import (
    EXIT_CHANGED,
    EXIT_OK,
    NOT_TESTABLE,
    Echo,
    Repo,
    Source,
    echo,
    file_hook_main,
    is_python,
    is_test_path,
    load_config,
    nothing_written,
    plural,
    python_paths,
    read_staged,
    read_text,
    read_texts,
    record_items,
    referenced,
    write_text,
)

TYPE_CHECKING = False  # see bot.hooks.common
if TYPE_CHECKING:
    from bot.config import RepoConfig
    from bot.core.templates import PublicName
    from bot.hooks.audit import Item
    from bot.hooks.formatting import Written

HOOK = "tierbot-tests"
TESTED_KINDS = frozenset({"function", "class"})

# pytest's default import mode puts the directory of a conftest.py that is not inside a package
# on sys.path, so plain `pytest` (not only `python -m pytest`) imports modules at the root.
ROOT_CONFTEST = '''\
"""Make modules at the repository root importable from the tests.

pytest's default ``prepend`` import mode puts the directory of a ``conftest.py`` that
is not inside a package on ``sys.path``, so a plain ``pytest`` finds the root modules
just as ``python -m pytest`` does.
"""
'''
_PYTEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini")


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
    config, sources, problems = read_staged(repo, paths, config)
    if problems:
        return nothing_written(HOOK, problems, out)
    wanted = {s.path: top_level_names(s.tree) for s in sources}
    every = set().union(*wanted.values()) if wanted else set()
    if not every:
        return EXIT_OK
    tests = [f for f in repo.files() if is_python(f) and is_test_path(f)]
    mentioned = referenced(every, read_texts(repo, tests))
    missing = {path: names - mentioned for path, names in wanted.items() if names - mentioned}
    if not missing:
        return EXIT_OK
    sources = [s for s in sources if s.path in missing]
    return _write_tests(repo, config or load_config(repo), sources, missing, out)


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

    def __init__(self, path: str, original: str | None, newline: str) -> None:
        self.path = path
        self.original = original  # the file as it is on disk; None: a new file
        self.newline = newline
        self.current = original
        self.items: list[tuple[Source, list[PublicName]]] = []


def _test_path(path: str, import_name: str, files: Sequence[str], layout: str | None) -> str:
    from bot.core.templates import test_path_for

    if layout is None:
        return test_path_for(path, files)
    package, _, module = import_name.rpartition(".")
    target = layout.replace("{module}", module).replace("{package}", package.replace(".", "/"))
    return "/".join(part for part in target.split("/") if part)


def _import_root(path: str, import_name: str) -> str:
    parts = path.split("/")
    depth = len(import_name.split(".")) + (1 if parts[-1] == "__init__.py" else 0)
    return "/".join(parts[: max(len(parts) - depth, 0)])


def _needs_root_conftest(repo: Repo, test_paths: Sequence[str]) -> bool:
    # Links count as present: a conftest.py link is left alone, never written through.
    if repo.guard.mode("conftest.py") is not None:
        return False
    for path in test_paths:
        package = "/".join([*path.split("/")[:-1], "__init__.py"])
        if repo.guard.mode(package) is not None:
            return False
    import re

    for text in read_texts(repo, _PYTEST_CONFIGS):
        if re.search(r"^\s*pythonpath\s*=", text, re.M):
            return False
    return True


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


def _write_tests(
    repo: Repo,
    config: RepoConfig,
    sources: Sequence[Source],
    missing: dict[str, set[str]],
    out: Echo,
) -> int:
    from bot.core.templates import module_import_name, public_names, skeleton_tests

    started = time.monotonic()
    files = repo.files()
    plans: dict[str, _Plan] = {}
    problems: list[str] = []
    roots: set[str] = set()
    for source in sources:
        names = [
            n
            for n in public_names(source.text)
            if n.kind in TESTED_KINDS and n.name in missing[source.path]
        ]
        if not names:
            continue
        import_name = module_import_name(source.path, [*files, source.path])
        if not all(part.isidentifier() for part in import_name.split(".")):
            out(f"{HOOK}: {source.path}: skipped: {import_name!r} cannot be imported by tests")
            continue
        target = _test_path(source.path, import_name, files, config.hooks.tests_path)
        plan = plans.get(target) or _open_plan(repo, target)
        if isinstance(plan, str):
            problems.append(plan)
            continue
        plans[target] = plan
        content = skeleton_tests(import_name, names, plan.current)
        if content is None:
            continue
        plan.current = content
        plan.items.append((source, names))
        roots.add(_import_root(source.path, import_name))
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

    written, items = _write_plans(repo, changed, roots, out)
    format_written(repo.root, written, setting=config.hooks.format, out=out, hook=HOOK)
    record_items(repo, items, config=config, env=repo.env, out=out, hook=HOOK)
    elapsed = time.monotonic() - started
    out(
        f"{HOOK}: {plural(len(items), 'name')} got skeleton tests in {elapsed:.2f}s, free; "
        "review them, stage them and commit again"
    )
    return EXIT_CHANGED


def _open_plan(repo: Repo, target: str) -> _Plan | str:
    """The plan for extending (or creating) ``target``, or the problem line saying why not."""
    try:
        found = read_text(repo, target)
    except UnsafePath as exc:
        return f"{target}:1: cannot be read: {exc.reason}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{target}:1: cannot be read: {exc}"
    original, newline = found if found is not None else (None, "\n")
    if original is not None:
        problem = _syntax_problem(target, original)
        if problem:
            return f"{problem} (tests would be added here)"
    return _Plan(target, original, newline)


def _write_plans(
    repo: Repo, changed: Sequence[_Plan], roots: set[str], out: Echo
) -> tuple[list[Written], list[Item]]:
    """Write the test files (and a root conftest.py when one is needed); what was written."""
    from bot.hooks.formatting import Written, added_ranges

    written: list[Written] = []
    items: list[Item] = []
    for plan in changed:
        assert plan.current is not None
        write_text(repo, plan.path, plan.current, plan.newline)
        if plan.original is None:
            written.append(Written(plan.path, None))
        else:
            written.append(Written(plan.path, added_ranges(plan.original, plan.current)))
        for source, names in plan.items:
            listed = ", ".join(n.name for n in names)
            out(f"{HOOK}: wrote {plan.path}: skeleton tests for {listed} ({source.path})")
            count = sum(len(n) for _, n in plan.items)
            share = (len(plan.current) - len(plan.original or "")) // count
            for name in names:
                items.append(_item(source.path, name.name, plan.path, len(source.text), share))
    if "" in roots and _needs_root_conftest(repo, [p.path for p in changed]):
        write_text(repo, "conftest.py", ROOT_CONFTEST)
        written.append(Written("conftest.py", None))
        out(f"{HOOK}: wrote conftest.py: lets plain pytest import the modules at the root")
    return written, items


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
