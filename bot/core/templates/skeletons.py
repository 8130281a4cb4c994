"""Tests for a module's public names: a new test file, or additions to an old one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.suite.coverage import covered_in_file
from bot.core.templates.examples import example_lines
from bot.core.templates.interface import Refs, interface_lines, is_pinned, suffix
from bot.core.templates.model import PublicName, parse
from bot.core.templates.module_facts import ModuleFacts
from bot.core.templates.request import LINE_LENGTH
from bot.core.templates.testfile import TestFileFacts, test_file_facts

_BEHAVIOUR_KINDS = frozenset({"function", "class"})
_HELPERS = ("dataclasses", "importlib", "inspect", "pytest", "typing")
HEADER = (
    '"""Tests for ``{module}``, written by tierbot\'s template tier.\n\n'
    "The ``*_signature``, ``*_interface``, ``*_value`` and ``*_type`` tests pin the interface\n"
    "as it is today; ``*_examples`` tests run the examples of its docstrings; skipped tests\n"
    'mark what still needs real tests.\n"""\n'
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _free_name(preferred: str, taken: set[str] | frozenset[str]) -> str:
    if preferred not in taken:
        return preferred
    candidate = f"{preferred}_module"
    number = 2
    while candidate in taken:
        candidate = f"{preferred}_module{number}"
        number += 1
    return candidate


def _wrap_call(prefix: str, argument: str, suffix_: str = ")") -> list[str]:
    line = f"{prefix}{argument}{suffix_}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [prefix, f"    {argument}", suffix_]


def _placeholder(name: str, refs: Refs, reason: str, todo: str) -> str:
    decorator = _wrap_call(f"@{refs.pytest}.mark.skip(", f'reason="{reason}"')
    body = _wrap_call(f"    {refs.pytest}.fail(", f'"{todo}"')
    return "\n".join([*decorator, f"def {name}() -> None:", *body])


def _test(name: str, lines: Sequence[str]) -> str:
    return "\n".join([f"def {name}() -> None:", *lines])


def _test_blocks(item: PublicName, stem: str, refs: Refs, examples: list[str] | None) -> list[str]:
    name = f"test_{stem}_{suffix(item)}"
    if is_pinned(item, refs):
        blocks = [_test(name, interface_lines(item, refs))]
    elif item.kind == "constant":
        reason = f"the value of {item.name} is computed when the module is imported"
        blocks = [_placeholder(name, refs, reason, f"write a test of what {item.name} holds")]
    else:
        reason = f"what {item.name} is cannot be read from the source"
        blocks = [_placeholder(name, refs, reason, f"write a test of {item.name}")]
    if item.kind in _BEHAVIOUR_KINDS:
        label = f"{item.name}()" if item.kind == "function" else item.name
        if examples:
            blocks.append(_test(f"test_{stem}_examples", examples))
        else:
            reason = f"behaviour of {label} not specified yet"
            todo = f"write a test of what {label} does"
            blocks.append(_placeholder(f"test_{stem}_behaviour", refs, reason, todo))
    return blocks


def _suffixes(item: PublicName) -> tuple[str, ...]:
    return (suffix(item), "examples", "behaviour")


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


def _examples(
    source: str | None, missing: Sequence[PublicName], refs: Refs
) -> dict[str, list[str]]:
    if source is None:
        return {}
    try:
        tree = parse(source)
    except SyntaxError:
        return {}
    owners = {n.name for n in missing if n.kind in _BEHAVIOUR_KINDS}
    return example_lines(tree, ModuleFacts(tree), owners, refs)


def skeleton_tests(
    import_name: str,
    names: Sequence[PublicName],
    existing: str | None,
    *,
    source: str | None = None,
    covered: Iterable[str] = (),
    is_package: bool = False,
) -> str | None:
    """The full new text of the test file for ``import_name``, or ``None`` if nothing is missing.

    Each public name the tests do not cover yet (``covered``, and what ``existing`` covers)
    gets a test asserting its interface as it stands and, for functions and classes, a test of
    the examples in their docstrings (``source`` is the module's) or a skipped placeholder.
    With ``existing``, its text is kept line for line and its line endings too; imports the
    new tests need go after its imports, the tests at the end.
    """
    crlf = existing is not None and "\r\n" in existing
    if existing is not None:
        existing = existing.replace("\r\n", "\n")
    facts = test_file_facts(existing) if existing is not None else None
    done = set(covered)
    if facts is not None and facts.tree is not None:
        done |= covered_in_file(facts.tree, import_name, [n.name for n in names])
    elif facts is not None:
        done |= {n.name for n in names if n.name in facts.bindings}
    missing = [n for n in dict((n.name, n) for n in names).values() if n.name not in done]
    if not missing:
        return None
    text = _render(import_name, missing, existing, facts, source, is_package)
    return text.replace("\n", "\r\n") if crlf else text


def _render(
    import_name: str,
    missing: Sequence[PublicName],
    existing: str | None,
    facts: TestFileFacts | None,
    source: str | None,
    is_package: bool,
) -> str:
    bindings = set(facts.bindings) if facts else set()
    known = facts.imports if facts else {}
    dotted_name = "." in import_name
    last = import_name.rsplit(".", 1)[-1]
    module_alias = known.get(import_name) or _free_name(
        f"{last}_module" if last in _HELPERS else last, bindings
    )
    bindings.add(module_alias)
    helpers = {h: known.get(h) or _free_name(h, bindings) for h in _HELPERS}
    bindings.update(helpers.values())
    refs = Refs(module_alias, import_name, is_package, **helpers)
    taken = set(bindings) | (set(facts.idents) if facts else set())
    examples = _examples(source, missing, refs)
    blocks = [
        block
        for item in missing
        for block in _test_blocks(item, _stem(item, taken), refs, examples.get(item.name))
    ]
    body = "\n\n\n".join(blocks)
    binding = ""
    if import_name not in known and dotted_name:
        # By its own path: `from pkg import mod` would find whatever pkg binds as `mod`.
        binding = f'{module_alias} = {helpers["importlib"]}.import_module("{import_name}")'
    new_imports = _new_imports(
        import_name, module_alias, dotted_name, known, helpers, binding + body
    )
    if existing is None or facts is None:
        return _new_file(import_name, new_imports, binding, body)
    return _extended(existing, facts, [line for _, line in new_imports], binding, body)


def _new_file(
    import_name: str, new_imports: Sequence[tuple[int, str]], binding: str, body: str
) -> str:
    sections = [
        "\n".join(line for section, line in new_imports if section == number) for number in range(3)
    ]
    imports = "\n\n".join(s for s in sections if s)
    # isort wants one blank line between the imports and code, two before a def.
    head = f"{HEADER.format(module=import_name)}\n{imports}\n"
    if binding:
        head += f"\n{binding}\n"
    return f"{head}\n\n{body}\n"


def _extended(
    existing: str, facts: TestFileFacts, import_lines: list[str], binding: str, body: str
) -> str:
    """``existing`` line for line, the imports after its imports, the new tests at the end."""
    if binding:
        body = f"{binding}\n\n\n{body}"
    lines = existing.rstrip("\n").split("\n")
    if import_lines and facts.tree is not None:
        at = facts.insert_after
        if facts.after_import:
            lines[at:at] = import_lines
        elif at > 0:
            lines[at:at] = ["", *import_lines]
        else:
            lines[0:0] = [*import_lines, ""]
    elif import_lines:
        body = "\n".join(import_lines) + "\n\n\n" + body
    return "\n".join(lines) + "\n\n\n" + body + "\n"


def _new_imports(
    import_name: str,
    module_alias: str,
    dotted_name: bool,
    known: dict[str, str],
    helpers: dict[str, str],
    body: str,
) -> list[tuple[int, str]]:
    """(section, line) for the imports the new text uses: stdlib, third party, first party."""
    found: list[tuple[int, str]] = []
    if not dotted_name and import_name not in known:
        alias = "" if module_alias == import_name else f" as {module_alias}"
        found.append((2, f"import {import_name}{alias}"))
    for helper, bound in helpers.items():
        if helper not in known and re.search(rf"\b{re.escape(bound)}\.", body):
            alias = "" if bound == helper else f" as {bound}"
            found.append((1 if helper == "pytest" else 0, f"import {helper}{alias}"))
    return sorted(found)
