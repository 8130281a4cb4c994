"""The ``tests`` generator: tests for the modules a task names, in the repository's layout."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.suite.coverage import covered_names
from bot.core.suite.layout import NOT_TESTABLE, Suite, Target
from bot.core.suite.source import non_utf8_declaration
from bot.core.templates.layout import Repo, is_dotted_identifier, module_name
from bot.core.templates.names import parse, public_names
from bot.core.templates.request import Declined, NothingToDo
from bot.core.templates.skeletons import skeleton_tests
from bot.core.templates.text import BACKTICK_MODULE, NAMED_MODULE, PY_PATH
from bot.core.types import EditSet, FileEdit


def _syntax_problem(exc: SyntaxError) -> str:
    where = f" at line {exc.lineno}" if exc.lineno else ""
    return f"a syntax error{where}: {exc.msg}"


@dataclass
class _Named:
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)


def _named_modules(text: str, repo: Repo, suite: Suite) -> _Named:
    python_files = [f for f in repo.files if f.endswith(".py")]
    mentions: list[tuple[int, str, str]] = []  # (position, kind, mention)
    for match in PY_PATH.finditer(text):
        if ".." not in match.group(1).split("/"):
            mentions.append((match.start(1), "path", match.group(1)))
    for match in BACKTICK_MODULE.finditer(text):
        mentions.append((match.start(1), "dotted", match.group(1)))
    for match in NAMED_MODULE.finditer(text):
        index = 1 if match.group(1) else 2
        mentions.append((match.start(index), "dotted", match.group(index)))
    dotted: dict[str, str] | None = None
    named = _Named()
    for _, kind, mention in sorted(mentions):
        if kind == "path":
            if mention in repo.fileset:
                matches = [mention]
            else:
                matches = [f for f in python_files if f.endswith("/" + mention)]
        else:
            if dotted is None:
                dotted = {}
                for f in python_files:
                    dotted.setdefault(module_name(f, repo.fileset), f)
            matches = [dotted[mention]] if mention in dotted else []
        if not matches:
            if kind == "path" and mention not in named.missing:
                named.missing.append(mention)
        elif len(matches) > 1:
            named.ambiguous.append((mention, matches))
        elif suite.is_test(matches[0]) or matches[0].rsplit("/", 1)[-1] in NOT_TESTABLE:
            if matches[0] not in named.excluded:
                named.excluded.append(matches[0])
        elif matches[0] not in named.found:
            named.found.append(matches[0])
    return named


def _unreadable(path: str) -> Declined:
    # The workspace reads sources as Python does (UTF-8, or a PEP 263 declaration); a listed
    # file it cannot read is almost always in neither.
    return Declined(
        f"`{path}` could not be read as text: it is not UTF-8 and declares no encoding "
        "that decodes it"
    )


def _test_file_problem(test_path: str, existing: str) -> Declined | None:
    declared = non_utf8_declaration(existing)
    if declared is not None:
        return Declined(
            f"`{test_path}` is not UTF-8 (declared {declared}); the template tier writes UTF-8 "
            "only and leaves it as it is"
        )
    try:
        parse(existing)
    except SyntaxError as exc:
        return Declined(f"{test_path} has {_syntax_problem(exc)}; fix it before adding tests")
    return None


def _module_tests(
    path: str, repo: Repo, suite: Suite, edits: dict[str, str]
) -> tuple[Target, str | None] | Declined:
    """The test file for one module and its new text (None: every name is covered)."""
    source = repo.read(path)
    if source is None:
        return _unreadable(path)
    try:
        tree = parse(source)
        names = public_names(source)
    except SyntaxError as exc:
        return Declined(
            f"{path} has {_syntax_problem(exc)}; the template tier only reads valid Python"
        )
    if not names:
        return Declined(f"{path} defines nothing public to test")
    import_name = module_name(path, repo.fileset)
    if not is_dotted_identifier(import_name):
        return Declined(f"{path} cannot be imported: {import_name!r} is not a module name")
    target = suite.target(path)
    existing = edits.get(target.path, repo.read(target.path))
    if existing is not None:
        problem = _test_file_problem(target.path, existing)
        if problem is not None:
            return problem
    covered = covered_names(
        suite, path, [n.name for n in names], source_tree=tree, test_path=target.path
    )
    content = skeleton_tests(
        import_name,
        names,
        existing,
        source=source,
        covered=covered,
        is_package=path.endswith("/__init__.py"),
    )
    return target, content


def generate_tests(repo: Repo, text: str) -> EditSet | Declined | NothingToDo:
    """Tests for the public names of each module the task names that no test covers yet."""
    suite = repo.suite()
    named = _named_modules(text, repo, suite)
    if named.ambiguous:
        mention, matches = named.ambiguous[0]
        return Declined(
            f"`{mention}` matches several files ({', '.join(matches)}); name the full path"
        )
    if not named.found:
        if named.excluded:
            return Declined(
                "the task names only test, setup or script files "
                f"({', '.join(named.excluded)}); name the module to test"
            )
        if named.missing:
            return NothingToDo(
                "none of the named modules exist in the repository (tasks see committed "
                f"files only): {', '.join(named.missing)}"
            )
        return Declined(
            "the task names no Python module to test; name one by path, e.g. src/pkg/module.py"
        )
    edits: dict[str, str] = {}
    owners: dict[str, str] = {}
    for path in named.found:
        result = _module_tests(path, repo, suite, edits)
        if isinstance(result, Declined):
            return result
        target, content = result
        if target.path in owners:
            return Declined(
                f"{owners[target.path]} and {path} would both get their tests in "
                f"{target.path}; name them in separate tasks"
            )
        owners[target.path] = path
        if content is not None:
            edits[target.path] = content
            if target.init is not None and not repo.exists(target.init):
                edits[target.init] = ""
    if not edits:
        existing = [p for p in sorted(owners) if repo.exists(p)]
        where = (
            f"already has a test in {', '.join(existing)}"
            if existing
            else "is already covered by the repository's tests"
        )
        return NothingToDo(f"every public name {where}; nothing is left to add")
    return EditSet(tuple(FileEdit(path, edits[path]) for path in sorted(edits)))
