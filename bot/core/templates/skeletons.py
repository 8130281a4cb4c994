"""Skeleton tests for a module's public names: a new test file, or additions to an old one."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.templates.names import FunctionNode, PublicName, assigned_names, parse
from bot.core.templates.request import LINE_LENGTH

_PLACEHOLDER_KINDS = frozenset({"function", "class"})


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


@dataclass(frozen=True)
class _TestFileFacts:
    """What an existing test file already has, so additions neither repeat nor clash."""

    bindings: frozenset[str]  # names bound at module level
    imports: dict[str, str]  # dotted module -> the expression that reaches it
    idents: tuple[str, ...]  # test function and test class names
    references: frozenset[str]  # names and attributes used inside the tests
    insert_after: int  # new imports go after this line (1-based; 0: top of file)
    after_import: bool  # the line before the insertion point is an import
    parsed: bool


def _facts(existing: str) -> _TestFileFacts:
    try:
        tree = parse(existing)
    except SyntaxError:
        # Unparseable: treat every word as taken and append, never rewrite.
        words = frozenset(re.findall(r"[A-Za-z_]\w*", existing))
        found = re.findall(r"^\s*(?:async\s+)?def\s+(test\w*)|^class\s+(Test\w*)", existing, re.M)
        names = tuple(function or cls for function, cls in found)
        return _TestFileFacts(words, {}, names, words, 0, False, False)
    bindings: set[str] = set()
    imports: dict[str, str] = {}
    idents: list[str] = []
    tests: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.name] = alias.asname
                    bindings.add(alias.asname)
                else:
                    parts = alias.name.split(".")
                    for i in range(1, len(parts) + 1):
                        imports.setdefault(".".join(parts[:i]), ".".join(parts[:i]))
                    bindings.add(parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound = alias.asname or alias.name
                imports[f"{node.module}.{alias.name}"] = bound
                bindings.add(bound)
        elif isinstance(node, FunctionNode | ast.ClassDef):
            bindings.add(node.name)
            if isinstance(node, FunctionNode) and node.name.startswith("test"):
                idents.append(node.name)
                tests.append(node)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                idents.append(node.name)
                for item in node.body:
                    if isinstance(item, FunctionNode) and item.name.startswith("test"):
                        idents.append(item.name)
                        tests.append(item)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                bindings.update(assigned_names(target))
    references: set[str] = set()
    for test in tests:
        for sub in ast.walk(test):
            if isinstance(sub, ast.Name):
                references.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                references.add(sub.attr)
            elif (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and sub.value.isidentifier()
            ):
                references.add(sub.value)  # getattr(module, "name") and friends
    insert_after, after_import = 0, False
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        insert_after = body[0].end_lineno or 0
        body = body[1:]
    for node in body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        insert_after, after_import = node.end_lineno or 0, True
    if insert_after == 0:
        lines = existing.split("\n")
        while insert_after < len(lines) and lines[insert_after].startswith("#"):
            insert_after += 1
    return _TestFileFacts(
        frozenset(bindings),
        imports,
        tuple(idents),
        frozenset(references),
        insert_after,
        after_import,
        True,
    )


def _covered(names: Sequence[PublicName], facts: _TestFileFacts) -> set[str]:
    """Names the existing tests already cover: referenced in a test, or named by one."""
    covered = {n.name for n in names if n.name in facts.references}
    for ident in facts.idents:
        if ident.startswith("Test"):
            flat = ident[4:].replace("_", "").lower()
            covered.update(n.name for n in names if n.name.replace("_", "").lower() == flat)
            continue
        rest = ident.removeprefix("test").removeprefix("_")
        best: tuple[int, bool] | None = None
        owners: list[str] = []
        for n in names:
            for form, exact in ((n.name, True), (_snake(n.name), False)):
                if rest == form or rest.startswith(form + "_"):
                    score = (len(form), exact)
                    if best is None or score > best:
                        best, owners = score, [n.name]
                    elif score == best:
                        owners.append(n.name)
        covered.update(owners)
    return covered


def _free_name(preferred: str, taken: set[str] | frozenset[str]) -> str:
    if preferred not in taken:
        return preferred
    candidate = f"{preferred}_module"
    number = 2
    while candidate in taken:
        candidate = f"{preferred}_module{number}"
        number += 1
    return candidate


def _list_assert(indent: str, head: str, items: Sequence[str]) -> list[str]:
    quoted = [f'"{item}"' for item in items]
    line = f"{indent}{head}[{', '.join(quoted)}]"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"{indent}{head}[", *(f"{indent}    {q}," for q in quoted), f"{indent}]"]


def _signature_assert(indent: str, target: str, params: Sequence[str], inspect: str) -> list[str]:
    return _list_assert(
        indent, f"assert list({inspect}.signature({target}).parameters) == ", params
    )


@dataclass(frozen=True)
class _Refs:
    module: str
    inspect: str
    pytest: str


def _interface_lines(item: PublicName, refs: _Refs) -> list[str]:
    """The assertions about ``item`` as it is today; every test asserts at least one thing."""
    target = f"{refs.module}.{item.name}"
    pad = "    "
    lines: list[str] = []
    if item.kind == "function":
        if item.is_async:
            lines.append(f"{pad}assert {refs.inspect}.iscoroutinefunction({target})")
        else:
            lines.append(f"{pad}assert callable({target})")
        if item.params is not None:
            lines += _signature_assert(pad, target, item.params, refs.inspect)
    elif item.kind == "class":
        lines.append(f"{pad}assert {refs.inspect}.isclass({target})")
        if item.params is not None:
            lines += _signature_assert(pad, target, item.params, refs.inspect)
        for member in item.methods:
            lines += _member_lines(member, target, refs)
    elif item.kind == "constant" and item.value_type == "None":
        lines.append(f"{pad}assert {target} is None")
    elif item.kind == "constant" and item.value_type:
        lines.append(f"{pad}assert isinstance({target}, {item.value_type})")
    else:
        lines.append(f'{pad}assert hasattr({refs.module}, "{item.name}")')
    return lines


def _member_lines(member: PublicName, owner: str, refs: _Refs) -> list[str]:
    pad = "    "
    target = f"{owner}.{member.name}"
    if member.kind == "property":
        return [
            f'{pad}assert isinstance({refs.inspect}.getattr_static({owner}, "{member.name}"), '
            "property)"
        ]
    if member.kind in {"method", "classmethod", "staticmethod"} and member.params is not None:
        lines = _signature_assert(pad, target, member.params, refs.inspect)
        if member.is_async:
            lines.append(f"{pad}assert {refs.inspect}.iscoroutinefunction({target})")
        return lines
    return [f'{pad}assert hasattr({owner}, "{member.name}")']


def _wrap_call(prefix: str, argument: str, suffix: str = ")") -> list[str]:
    line = f"{prefix}{argument}{suffix}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [prefix, f"    {argument}", suffix]


def _test_blocks(item: PublicName, stem: str, refs: _Refs) -> list[str]:
    suffix = {"function": "signature", "class": "interface"}.get(item.kind, "exists")
    if item.kind == "constant" and item.value_type:
        suffix = "type"
    blocks = ["\n".join([f"def test_{stem}_{suffix}() -> None:", *_interface_lines(item, refs)])]
    if item.kind in _PLACEHOLDER_KINDS:
        label = f"{item.name}()" if item.kind == "function" else item.name
        decorator = _wrap_call(
            f"@{refs.pytest}.mark.skip(", f'reason="behaviour of {label} not specified yet"'
        )
        body = _wrap_call(f"    {refs.pytest}.fail(", f'"write a test of what {label} does"')
        blocks.append("\n".join([*decorator, f"def test_{stem}_behaviour() -> None:", *body]))
    return blocks


def _suffixes(item: PublicName) -> tuple[str, ...]:
    if item.kind in _PLACEHOLDER_KINDS:
        return ("signature" if item.kind == "function" else "interface", "behaviour")
    return ("type", "exists")


def _stem(item: PublicName, taken: set[str]) -> str:
    base = _snake(item.name)
    candidates = [base, f"{base}_{item.kind}"]
    number = 2
    while True:
        for candidate in candidates:
            if not any(f"test_{candidate}_{s}" in taken for s in _suffixes(item)):
                taken.update(f"test_{candidate}_{s}" for s in _suffixes(item))
                return candidate
        candidates = [f"{base}_{item.kind}{number}"]
        number += 1


def _module_import(import_name: str, alias: str) -> str:
    package, _, last = import_name.rpartition(".")
    if package:
        return f"from {package} import {last}" + ("" if alias == last else f" as {alias}")
    return f"import {import_name}" + ("" if alias == import_name else f" as {alias}")


def skeleton_tests(
    import_name: str, names: Sequence[PublicName], existing: str | None
) -> str | None:
    """The full new text of the test file for ``import_name``, or ``None`` if nothing is missing.

    Each public name gets one test asserting its interface as it stands (parameter names,
    methods, a constant's type) and, for functions and classes, a skipped placeholder for the
    behaviour. With ``existing``, only names its tests do not mention yet are added: the old
    text is kept line for line, imports the new tests need go after its imports, the tests at
    the end.
    """
    facts = _facts(existing) if existing is not None else None
    covered = _covered(names, facts) if facts is not None else set()
    missing = [n for n in dict((n.name, n) for n in names).values() if n.name not in covered]
    if not missing:
        return None

    bindings = set(facts.bindings) if facts else set()
    known = facts.imports if facts else {}
    new_imports: list[tuple[int, str]] = []  # (section, line): stdlib, third party, first party

    def reach(module: str, section: int, preferred: str) -> str:
        if module in known:
            return known[module]
        alias = _free_name(preferred, bindings)
        bindings.add(alias)
        new_imports.append((section, _module_import(module, alias)))
        return alias

    last = import_name.rsplit(".", 1)[-1]
    module_alias = reach(
        import_name, 2, f"{last}_module" if last in {"inspect", "pytest"} else last
    )
    # Decide the helper names before rendering, but import them only if the tests use them.
    inspect_ref = known.get("inspect") or _free_name("inspect", bindings)
    pytest_ref = known.get("pytest") or _free_name("pytest", bindings)
    refs = _Refs(module_alias, inspect_ref, pytest_ref)
    taken = set(bindings) | (set(facts.idents) if facts else set())
    blocks = [block for item in missing for block in _test_blocks(item, _stem(item, taken), refs)]
    text = "\n\n\n".join(blocks)
    if "inspect" not in known and re.search(rf"\b{re.escape(inspect_ref)}\.", text):
        new_imports.append(
            (0, "import inspect" + ("" if inspect_ref == "inspect" else f" as {inspect_ref}"))
        )
    if "pytest" not in known and re.search(rf"\b{re.escape(pytest_ref)}\.", text):
        new_imports.append(
            (1, "import pytest" + ("" if pytest_ref == "pytest" else f" as {pytest_ref}"))
        )
    new_imports.sort()

    if existing is None or facts is None:
        header = (
            f'"""Skeleton tests for ``{import_name}``, written by tierbot\'s template tier.\n\n'
            "Each ``*_signature``, ``*_interface``, ``*_type`` or ``*_exists`` test pins the\n"
            "interface as it is today; the skipped ``*_behaviour`` tests mark behaviour that\n"
            'still needs real tests.\n"""\n'
        )
        sections = [
            "\n".join(line for section, line in new_imports if section == number)
            for number in range(3)
        ]
        imports = "\n\n".join(s for s in sections if s)
        return f"{header}\n{imports}\n\n\n{text}\n"

    import_lines = [line for _, line in new_imports]
    lines = existing.rstrip("\n").split("\n")
    if import_lines and facts.parsed:
        at = facts.insert_after
        if facts.after_import:
            lines[at:at] = import_lines
        elif at > 0:
            lines[at:at] = ["", *import_lines]
        else:
            lines[0:0] = [*import_lines, ""]
    elif import_lines:
        blocks_prefix = "\n".join(import_lines)
        text = f"{blocks_prefix}\n\n\n{text}"
    return "\n".join(lines) + "\n\n\n" + text + "\n"
