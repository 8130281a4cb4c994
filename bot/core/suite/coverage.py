"""Which public names of a module the repository's tests already cover, read with ``ast``.

A name is covered when test code refers to it through an import of the module's package: a
name imported from it, an attribute of a module imported from it, in pytest functions,
unittest classes of any name, helpers and doctests alike; or when a test is named after it; or
when the module's own docstring examples run as doctests (``--doctest-modules``, or a test that
hands the module to ``doctest``). A word in a comment or a string never counts.
"""

from __future__ import annotations

import ast
import re

from bot.core.suite.doctests import docstrings, example_trees
from bot.core.suite.modules import module_name, resolve_relative

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the hooks import this module on every commit
if TYPE_CHECKING:
    from collections.abc import Iterable

    from bot.core.suite.layout import Suite

_DOCTEST_RUNNERS = ("testmod", "DocTestSuite", "run_docstring_examples", "DocTestFinder")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def named_by_tests(idents: Iterable[str], names: Iterable[str]) -> set[str]:
    """Names a test function or class is named after: ``test_take_*``, ``TestTake``, ``TakeTests``.

    A test function counts for the longest name its own name starts with, so ``test_add_all``
    covers ``add_all`` and not also ``add``.
    """
    names = list(names)
    covered: set[str] = set()
    for ident in idents:
        if not ident.startswith("test"):
            if not ident.startswith("Test") and not ident.endswith(("Test", "Tests")):
                continue
            flat = ident.removeprefix("Test").removesuffix("Tests").removesuffix("Test")
            flat = flat.replace("_", "").lower()
            covered.update(n for n in names if flat and n.replace("_", "").lower() == flat)
            continue
        rest = ident.removeprefix("test").removeprefix("_")
        best: tuple[int, bool] | None = None
        owners: list[str] = []
        for n in names:
            for form, exact in ((n, True), (_snake(n), False)):
                if rest == form or rest.startswith(form + "_"):
                    score = (len(form), exact)
                    if best is None or score > best:
                        best, owners = score, [n]
                    elif score == best:
                        owners.append(n)
        covered.update(owners)
    return covered


def _relevant(module: str, top: str) -> bool:
    return module == top or module.startswith(top + ".")


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return []


def _import_module(value: ast.expr) -> str | None:
    """``importlib.import_module("pkg.mod")`` (or ``import_module``) -> ``"pkg.mod"``."""
    if (
        isinstance(value, ast.Call)
        and _dotted(value.func)[-1:] == ["import_module"]
        and value.args
        and isinstance(value.args[0], ast.Constant)
        and isinstance(value.args[0].value, str)
    ):
        return value.args[0].value
    return None


class _TestFile:
    """The imports of one test file that reach the module's package, and what it refers to.

    Each tree is walked once; the nodes the questions below need are kept.
    """

    def __init__(self, trees: list[ast.Module], importer: str, is_package: bool, top: str) -> None:
        self.modules: dict[str, str] = {}  # bound name -> the module (or object) it reaches
        self.froms: dict[str, set[str]] = {}  # bound name -> the names imported under it
        self.star = False
        self.names: list[ast.Name] = []
        self.attributes: list[ast.Attribute] = []
        self.calls: list[ast.Call] = []
        self.idents: list[str] = []  # test functions and classes
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    self.names.append(node)
                elif isinstance(node, ast.Attribute):
                    self.attributes.append(node)
                elif isinstance(node, ast.Call):
                    self.calls.append(node)
                elif isinstance(node, ast.ClassDef) or (
                    isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and node.name.startswith("test")
                ):
                    self.idents.append(node.name)
                elif isinstance(node, ast.Import | ast.ImportFrom | ast.Assign):
                    self._bind(node, importer, is_package, top)

    def _bind(
        self,
        node: ast.Import | ast.ImportFrom | ast.Assign,
        importer: str,
        is_package: bool,
        top: str,
    ) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _relevant(alias.name, top):
                    first = alias.name.split(".")[0]
                    self.modules[alias.asname or first] = alias.name if alias.asname else first
        elif isinstance(node, ast.Assign):
            reached = _import_module(node.value)
            target = node.targets[0]
            if reached and _relevant(reached, top) and isinstance(target, ast.Name):
                self.modules[target.id] = reached
        else:
            source = resolve_relative(importer, node.level, node.module, is_package=is_package)
            if source is None or not _relevant(source, top):
                return
            for alias in node.names:
                if alias.name == "*":
                    self.star = True
                    continue
                bound = alias.asname or alias.name
                self.froms.setdefault(bound, set()).add(alias.name)
                self.modules[bound] = f"{source}.{alias.name}"

    @property
    def imports_package(self) -> bool:
        return bool(self.modules or self.star)

    def references(self, wanted: set[str]) -> set[str]:
        # A name imported from the package is referred to by the import itself.
        found = {name for names in self.froms.values() for name in names if name in wanted}
        for name in self.names:
            originals = self.froms.get(name.id)
            if originals:
                found |= originals & wanted
            elif self.star and name.id in wanted:
                found.add(name.id)
        for attribute in self.attributes:
            if attribute.attr in wanted:
                parts = _dotted(attribute.value)
                if parts and parts[0] in self.modules:
                    found.add(attribute.attr)
        return found | named_by_tests(self.idents, wanted)

    def runs_doctests_of(self, import_name: str) -> bool:
        """The file hands the module (or a package above it) to ``doctest``."""
        for call in self.calls:
            callee = _dotted(call.func)
            if not callee or callee[-1] not in _DOCTEST_RUNNERS:
                continue
            for arg in call.args:
                parts = _dotted(arg)
                if not parts or parts[0] not in self.modules:
                    continue
                reached = ".".join([self.modules[parts[0]], *parts[1:]])
                if import_name == reached or import_name.startswith(reached + "."):
                    return True
        return False


def _trees(tree: ast.Module) -> list[ast.Module]:
    """The file and the examples in its docstrings (doctests share its imports)."""
    trees = [tree]
    for _, doc in docstrings(tree):
        trees += example_trees(doc)
    return trees


def doctest_names(source_tree: ast.Module, wanted: set[str]) -> set[str]:
    """Names the module's own docstring examples use, and the names owning such examples."""
    found: set[str] = set()
    for owner, doc in docstrings(source_tree):
        trees = example_trees(doc)
        if trees and owner in wanted:
            found.add(owner)
        for tree in trees:
            found.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in wanted)
    return found


def _ordered(suite: Suite, first: str | None, stem: str) -> list[str]:
    """The test files, those named like the module first (they usually hold its tests)."""
    files = suite.test_files
    named = [f for f in files if stem in f[f.rfind("/") + 1 :]]
    if first in files:
        named = [first, *(f for f in named if f != first)]
    seen = set(named)
    return named + [f for f in files if f not in seen]


def covered_names(
    suite: Suite,
    module_path: str,
    names: Iterable[str],
    *,
    source_tree: ast.Module | None = None,
    test_path: str | None = None,
) -> set[str]:
    """The subset of ``names`` (public names of ``module_path``) the test suite covers."""
    wanted = set(names)
    if not wanted:
        return set()
    import_name = module_name(module_path, suite.fileset)
    top = import_name.split(".")[0]
    stem = import_name.rsplit(".", 1)[-1]

    found: set[str] = set()
    runs_doctests = suite.config.doctest_modules and suite.collects(module_path)
    files = _ordered(suite, test_path, stem)
    if test_path is not None and test_path not in suite.fileset:
        files.insert(0, test_path)  # a test file written but not yet listed (an unstaged one)
    for path in files:
        if found >= wanted:
            break
        text = suite.read(path)
        if not text or (top not in text and "from ." not in text):
            continue
        # A cheap first look: a file that nowhere contains a name (even inside a test's own
        # name) cannot cover it.
        if not any(name in text for name in wanted - found) and "doctest" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        importer = module_name(path, suite.fileset)
        trees = _trees(tree)
        test_file = _TestFile(trees, importer, path.endswith("/__init__.py"), top)
        if not test_file.imports_package:
            continue
        found |= test_file.references(wanted - found)
        if not runs_doctests:
            runs_doctests = test_file.runs_doctests_of(import_name)
    if runs_doctests and source_tree is not None:
        found |= doctest_names(source_tree, wanted)
    return found & wanted


def covered_in_file(
    tree: ast.Module, import_name: str, names: Iterable[str], *, importer: str = ""
) -> set[str]:
    """The subset of ``names`` one parsed test file covers, by :func:`covered_names`'s rule."""
    wanted = set(names)
    trees = _trees(tree)
    test_file = _TestFile(trees, importer, False, import_name.split(".")[0])
    if not test_file.imports_package:
        return set()
    return test_file.references(wanted) & wanted
