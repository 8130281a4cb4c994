"""The ``stub`` generator: a new module of placeholder definitions from the task's signatures."""

from __future__ import annotations

import ast
import keyword
import re

from bot.core.templates.layout import Repo, module_name
from bot.core.templates.names import FunctionNode
from bot.core.templates.render import code, docstring
from bot.core.templates.request import LINE_LENGTH, Declined
from bot.core.templates.signatures import Sig, StubError, stub_signatures
from bot.core.templates.stub_imports import runtime_unknowns, stub_imports
from bot.core.templates.text import path_mentions, sentence, split_blocks
from bot.core.types import EditSet, FileEdit


def _name_sentence(name: str, owner: str | None = None) -> str:
    if name == "__init__" and owner:
        return f"Create a {_words(owner).lower()}."
    if name.startswith("__") and name.endswith("__"):
        return f"Implement ``{name}``."
    return sentence(_words(name))


def _words(name: str) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", name) if w]
    out = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    if out:
        out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out) or name


_CREATE = re.compile(
    r"\b(?:create|add|write|make|generate|scaffold|stub(?:\s+out)?|new)\b", re.IGNORECASE
)


def _stub_target(text: str, repo: Repo) -> str:
    prose = "\n".join(line for b in split_blocks(text) if not b.fenced for line in b.lines)
    mentions = path_mentions(prose) or path_mentions(text)
    if not mentions:
        raise StubError(
            "the task names no target path; say where the module goes, "
            "e.g. 'Create src/pkg/util.py with ...'"
        )
    created = [
        m
        for m in mentions
        if re.search(_CREATE.pattern + r"[^.\n]{0,40}?" + re.escape(m), prose, re.IGNORECASE)
    ]
    if created:
        target = created[0]
    elif len(mentions) == 1:
        target = mentions[0]
    else:
        new = [m for m in mentions if not repo.exists(m)]
        if len(new) > 1:
            raise StubError(
                f"several new module paths are named ({', '.join(new)}); "
                "name one target per stub task"
            )
        target = new[0] if new else mentions[0]
    stem = target.rsplit("/", 1)[-1].removesuffix(".py")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise StubError(f"{target} is not a valid Python module name")
    if repo.exists(target):
        raise StubError(f"{target} already exists; the stub generator only creates new modules")
    return target


def _module_summary(text: str, target: str, import_name: str) -> str:
    for block in split_blocks(text):
        if block.fenced:
            continue
        for line in block.lines:
            index = line.find(target)
            if index < 0:
                continue
            rest = line[index + len(target) :].lstrip("`")
            rest = re.split(r"`(?:async\s+)?(?:def|class)\s", rest)[0]
            rest = re.sub(
                r"^[\s,:]*(?:with|that|for|to|containing|providing|which|holding)?\b", "", rest
            )
            rest = rest.strip().rstrip(":")
            if len(rest.split()) >= 2:
                return sentence(rest)
    return f"The ``{import_name}`` module (stubs to be implemented)."


def _argument(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
    text = prefix + arg.arg
    if arg.annotation is not None:
        text += f": {code(arg.annotation)}"
    if default is not None:
        text += (" = " if arg.annotation is not None else "=") + code(default)
    return text


def _arguments(args: ast.arguments) -> list[str]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    out: list[str] = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        out.append(_argument(arg, default))
        if index == len(args.posonlyargs) - 1:
            out.append("/")
    if args.vararg:
        out.append(_argument(args.vararg, None, "*"))
    elif args.kwonlyargs:
        out.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(_argument(arg, kw_default))
    if args.kwarg:
        out.append(_argument(args.kwarg, None, "**"))
    return out


def _def_lines(sig: Sig, indent: str, owner: str | None) -> list[str]:
    node = sig.node
    assert isinstance(node, FunctionNode)
    lines = [f"{indent}@{code(d)}" for d in node.decorator_list]
    keyword_ = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {code(node.returns)}" if node.returns else ""
    params = _arguments(node.args)
    one = f"{indent}{keyword_} {node.name}({', '.join(params)}){returns}:"
    if len(one) <= LINE_LENGTH:
        lines.append(one)
    else:
        lines.append(f"{indent}{keyword_} {node.name}(")
        lines += [f"{indent}    {p}," for p in params]
        lines.append(f"{indent}){returns}:")
    doc = sig.description or _name_sentence(node.name, owner)
    lines += docstring(doc, indent + "    ")
    lines.append(f"{indent}    raise NotImplementedError")
    return lines


def _class_lines(sig: Sig) -> list[str]:
    node = sig.node
    assert isinstance(node, ast.ClassDef)
    lines = [f"@{code(d)}" for d in node.decorator_list]
    bases = [code(b) for b in node.bases]
    bases += [f"{k.arg}={code(k.value)}" if k.arg else f"**{code(k.value)}" for k in node.keywords]
    lines.append(f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:")
    lines += docstring(sig.description or sentence(_words(node.name)), "    ")
    if sig.fields:
        lines.append("")
        for f in sig.fields:
            if isinstance(f, ast.Assign):
                lines.append(f"    {code(f.targets[0])} = {code(f.value)}")
                continue
            value = f" = {code(f.value)}" if f.value is not None else ""
            lines.append(f"    {code(f.target)}: {code(f.annotation)}{value}")
    for method in sig.methods:
        lines.append("")
        lines += _def_lines(method, "    ", node.name)
    return lines


def _new_package_inits(target: str, repo: Repo) -> list[FileEdit]:
    """``__init__.py`` files for new directories under a regular package."""
    parts = target.split("/")[:-1]
    edits: list[FileEdit] = []
    created: set[str] = set()
    for depth in range(1, len(parts) + 1):
        directory = "/".join(parts[:depth])
        parent = "/".join(parts[: depth - 1])
        if any(f.startswith(directory + "/") for f in repo.files):
            continue
        parent_init = f"{parent}/__init__.py" if parent else "__init__.py"
        if parent and (repo.exists(parent_init) or parent_init in created):
            init = f"{directory}/__init__.py"
            created.add(init)
            edits.append(
                FileEdit(init, f'"""{sentence(_words(parts[depth - 1]) + " package")}"""\n')
            )
    return edits


def generate_stub(repo: Repo, text: str) -> EditSet | Declined:
    """A new module holding the task's signatures, each body ``raise NotImplementedError``."""
    try:
        target = _stub_target(text, repo)
        items = stub_signatures(text)
    except StubError as exc:
        return Declined(str(exc))
    if not items:
        return Declined(
            "the task gives no signature to stub; write them as `def name(arg: type) -> type:` "
            "or `class Name:` lines, ideally in a code fence"
        )
    unknown = runtime_unknowns(items)
    if unknown:
        where, name = unknown[0]
        return Declined(
            f"{where} needs {name} when the module is imported, but the task does not define it "
            "and it is not a known standard-library name"
        )
    import_name = module_name(target, repo.fileset | {target})
    imports = stub_imports(items)
    blocks = [
        "\n".join(
            _class_lines(item)
            if isinstance(item.node, ast.ClassDef)
            else _def_lines(item, "", None)
        )
        for item in items
    ]
    head = "\n".join(docstring(_module_summary(text, target, import_name), ""))
    head += "\n\nfrom __future__ import annotations\n"
    if imports:
        head += "\n" + "\n".join(imports) + "\n"
    source = head + "\n\n" + "\n\n\n".join(blocks) + "\n"
    try:
        compile(source, target, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # a safety net: every piece was checked on its own
        return Declined(f"the generated stub for {target} does not compile: {exc}")
    edits = [FileEdit(target, source), *_new_package_inits(target, repo)]
    return EditSet(tuple(sorted(edits, key=lambda e: e.path)))
