"""``tierbot-stubs``: finding marked stubs, the template tier's fills, the model tier over real
HTTP (scripted server), an unreachable model, budgets, strictness and the ledger."""

from __future__ import annotations

import ast
import socket
import textwrap
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.config import load_config
from bot.hooks import stubs_hook
from bot.hooks.common import Repo
from bot.hooks.model_fill import body_from_reply
from bot.hooks.stub_fills import placeholder_body
from bot.hooks.stubs import Fill, apply, find_stubs, new_def_lines
from tests.support.model_server import ScriptedModelServer, http_error, reply
from tests.support.repos import git, make_repo, tier_config

MARKER = "# tierbot: stub"


def fill_with_template(source: str, marker: str = MARKER) -> str:
    """What the template tier makes of ``source`` (no model tier configured)."""
    tree = ast.parse(source)
    fills = []
    for stub in find_stubs(source, tree, marker):
        if stub.placeholder:
            continue
        if stub.implementation is not None:
            fills.append(Fill(stub, stub.implementation, remove_marker=True))
        else:
            fills.append(Fill(stub, placeholder_body(stub), remove_marker=False))
    return apply(source, fills)


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


TEMPLATE_FILLS = [
    (
        "function gets a docstring and a placeholder; the marker stays",
        """
        # tierbot: stub
        def parse_price(text: str) -> float:
            ...
        """,
        """
        # tierbot: stub
        def parse_price(text: str) -> float:
            \"\"\"Parse price.\"\"\"
            raise NotImplementedError
        """,
    ),
    (
        "pass body, hint becomes the docstring",
        """
        # tierbot: stub - add up the prices of all items
        def total(items):
            pass
        """,
        """
        # tierbot: stub - add up the prices of all items
        def total(items):
            \"\"\"Add up the prices of all items.\"\"\"
            raise NotImplementedError
        """,
    ),
    (
        "one-line def is split",
        """
        # tierbot: stub
        async def fetch(url: str) -> bytes: ...
        """,
        """
        # tierbot: stub
        async def fetch(url: str) -> bytes:
            \"\"\"Fetch.\"\"\"
            raise NotImplementedError
        """,
    ),
    (
        "an existing docstring is kept",
        """
        # tierbot: stub
        def clear(self):
            \"\"\"Empty the cart, keep the owner.\"\"\"
            ...
        """,
        """
        # tierbot: stub
        def clear(self):
            \"\"\"Empty the cart, keep the owner.\"\"\"
            raise NotImplementedError
        """,
    ),
    (
        "__init__ stores its parameters, a property reads its private attribute",
        """
        class Cart:
            # tierbot: stub
            def __init__(self, owner: str, *items: str, **tags: str) -> None:
                ...

            # tierbot: stub
            @property
            def owner(self) -> str: ...

            # tierbot: stub
            @owner.setter
            def owner(self, value: str) -> None:
                pass
        """,
        """
        class Cart:
            def __init__(self, owner: str, *items: str, **tags: str) -> None:
                self._owner = owner
                self.items = items
                self.tags = tags

            @property
            def owner(self) -> str:
                return self._owner

            @owner.setter
            def owner(self, value: str) -> None:
                self._owner = value
        """,
    ),
    (
        "__init__ of a subclass is a placeholder: super().__init__ needs unknown arguments",
        """
        class Special(Base):
            # tierbot: stub
            def __init__(self, x):
                ...
        """,
        """
        class Special(Base):
            # tierbot: stub
            def __init__(self, x):
                \"\"\"Create a special.\"\"\"
                raise NotImplementedError
        """,
    ),
    (
        "marker above the decorators; dunder methods get a neutral docstring",
        """
        class Money:
            # tierbot: stub
            @staticmethod
            def __repr__() -> str:
                ...
        """,
        """
        class Money:
            # tierbot: stub
            @staticmethod
            def __repr__() -> str:
                \"\"\"Implement ``__repr__``.\"\"\"
                raise NotImplementedError
        """,
    ),
    (
        "defs under if blocks are found",
        """
        import sys

        if sys.version_info >= (3, 11):
            # tierbot: stub
            def new_way() -> None:
                ...
        """,
        """
        import sys

        if sys.version_info >= (3, 11):
            # tierbot: stub
            def new_way() -> None:
                \"\"\"New way.\"\"\"
                raise NotImplementedError
        """,
    ),
]


@pytest.mark.parametrize(
    ("before", "after"), [t[1:] for t in TEMPLATE_FILLS], ids=[t[0] for t in TEMPLATE_FILLS]
)
def test_template_tier_fills(before, after):
    filled = fill_with_template(src(before))
    assert filled == src(after)
    compile(filled, "x.py", "exec")
    # A second run finds nothing left for the template tier.
    assert fill_with_template(filled) == filled


NOT_STUBS = [
    ("no marker", "def f():\n    ...\n"),
    ("marker not right above", "# tierbot: stub\n\ndef f():\n    ...\n"),
    ("a longer word is not the marker", "# tierbot: stubborn\ndef f():\n    ...\n"),
    ("marked def with a real body", "# tierbot: stub\ndef f():\n    return 1\n"),
    ("two statements", "# tierbot: stub\ndef f():\n    x = 1\n    ...\n"),
]


@pytest.mark.parametrize("source", [n[1] for n in NOT_STUBS], ids=[n[0] for n in NOT_STUBS])
def test_what_is_not_a_stub(source):
    assert find_stubs(source, ast.parse(source), MARKER) == []


def test_a_configured_marker_and_placeholders_are_recognised():
    source = src(
        """
        # TODO(bot)
        def a(): ...

        # TODO(bot)
        def b():
            raise NotImplementedError("later")
        """
    )
    stubs = find_stubs(source, ast.parse(source), "# TODO(bot)")
    assert [(s.qualname, s.placeholder) for s in stubs] == [("a", False), ("b", True)]


def test_docstrings_from_hints_stay_inside_the_literal():
    source = '# tierbot: stub - say """hi""" and \\ bye"\ndef f(): ...\n'
    filled = fill_with_template(source)
    namespace: dict[str, object] = {}
    exec(compile(filled, "x.py", "exec"), namespace)
    function = namespace["f"]
    assert callable(function)
    assert function.__doc__ == 'Say """hi""" and \\ bye".'


def test_new_def_lines_follow_the_edits():
    source = src(
        """
        class A:
            # tierbot: stub
            def __init__(self, a):
                ...

            # tierbot: stub
            def run(self): ...
        """
    )
    tree = ast.parse(source)
    stubs = find_stubs(source, tree, MARKER)
    fills = [
        Fill(stubs[0], stubs[0].implementation or (), remove_marker=True),
        Fill(stubs[1], placeholder_body(stubs[1]), remove_marker=False),
    ]
    filled = apply(source, fills).split("\n")
    for fill, line in new_def_lines(fills):
        assert f"def {fill.stub.name}(" in filled[line - 1]


REPLIES = [
    (
        "whole def in a fence",
        "Here you go:\n```python\ndef total(items):\n    return sum(i.price for i in items)\n```",
        ("return sum(i.price for i in items)",),
    ),
    (
        "nested blocks keep their layout",
        "```py\ndef total(items):\n    s = 0\n    for i in items:\n        s += i\n"
        "    return s\n```",
        ("s = 0", "for i in items:", "    s += i", "return s"),
    ),
    (
        "a method inside a class in the reply",
        "```python\nclass Cart:\n    def total(items):\n        return 0\n```",
        ("return 0",),
    ),
    ("no fence at all", "def total(items):\n    return 1\n", ("return 1",)),
    ("bad syntax", "```python\ndef total(items:\n    return\n```", "does not parse"),
    ("wrong function", "```python\ndef other():\n    return 1\n```", "no def total"),
    ("still a stub", "```python\ndef total(items):\n    ...\n```", "still a stub"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [r[1:] for r in REPLIES], ids=[r[0] for r in REPLIES]
)
def test_body_from_reply(text, expected):
    source = "# tierbot: stub\ndef total(items):\n    ...\n"
    [stub] = find_stubs(source, ast.parse(source), MARKER)
    body = body_from_reply(text, stub)
    if isinstance(expected, tuple):
        assert body == expected
    else:
        assert isinstance(body, str) and expected in body


# --------------------------------------------------------------------------- the hook in a repo

SHOP = src(
    """
    \"\"\"A shop.\"\"\"


    class Cart:
        # tierbot: stub
        def __init__(self, owner: str) -> None:
            ...

        # tierbot: stub - add up the prices
        def total(self) -> float:
            ...


    def untouched() -> int:
        return 1
    """
)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop", {"shop.py": SHOP, "README.md": "shop\n"})


def run_hook(root: Path, files: list[str], **kwargs: object) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = stubs_hook.run(files, repo=Repo(root), out=lines.append, **kwargs)  # type: ignore[arg-type]
    return code, lines


def test_hook_fills_writes_lists_and_second_run_is_a_noop(shop: Path):
    code, lines = run_hook(shop, ["shop.py", "README.md"])
    assert code == 1
    assert "tierbot-stubs: filled shop.py:5 Cart.__init__ (template)" in lines
    assert any("Cart.total (template: placeholder" in line for line in lines)
    text = (shop / "shop.py").read_text()
    assert "self.owner = owner" in text
    assert '"""Add up the prices."""' in text
    assert "def untouched() -> int:\n    return 1\n" in text
    assert run_hook(shop, ["shop.py"]) == (0, [])


def test_hook_records_each_stub_in_the_ledger_as_free_template_work(shop: Path):
    run_hook(shop, ["shop.py"])
    with SqlLedger(f"sqlite:///{shop / '.git' / 'tierbot' / 'ledger.sqlite3'}") as ledger:
        rows = ledger.report_rows(repo=str(shop))
    assert [(t.type, t.start_tier, t.status, t.cost_usd) for t in rows.tasks] == [
        ("stub", "template", "done", 0.0),
        ("stub", "template", "done", 0.0),
    ]
    assert [(s.task_type, s.tier, s.calls, s.known_cost_usd) for s in rows.spend] == [
        ("stub", "template", 2, 0.0)
    ]


def test_crlf_files_stay_crlf(tmp_path: Path):
    root = make_repo(tmp_path / "crlf", {"README.md": "x\n"})
    (root / "w.py").write_bytes(b"# tierbot: stub\r\ndef f():\r\n    ...\r\n")
    git(root, "add", "w.py")
    assert run_hook(root, ["w.py"])[0] == 1
    data = (root / "w.py").read_bytes()
    assert b"raise NotImplementedError\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_config(url: str, *, extra: str = "") -> str:
    return tier_config(url, extra=f"hooks:\n  model_tier: junior\n  timeout: 20\n{extra}")


@pytest.mark.slow
def test_model_tier_fills_what_the_template_tier_cannot_over_real_http(
    shop: Path, model_server: ScriptedModelServer
):
    (shop / ".github").mkdir()
    (shop / ".github" / "tierbot.yml").write_text(model_config(model_server.url))
    model_server.script(
        "junior-model",
        [
            reply(
                "```python\ndef total(self) -> float:\n"
                '    """Add up the prices."""\n    return float(len(self.owner))\n```'
            )
        ],
    )
    code, lines = run_hook(shop, ["shop.py"], env={})
    assert code == 1
    assert "tierbot-stubs: filled shop.py:5 Cart.__init__ (template)" in lines
    assert any("Cart.total (junior: openai/junior-model, $" in line for line in lines)
    text = (shop / "shop.py").read_text()
    assert "return float(len(self.owner))" in text
    assert MARKER not in text  # real code now: both markers are gone
    namespace: dict[str, object] = {}
    exec(compile(text, "shop.py", "exec"), namespace)
    [request] = model_server.requests_for("junior-model")
    prompt = request.messages[-1]["content"]
    assert "Cart.total" in prompt and "add up the prices" in prompt
    with SqlLedger(f"sqlite:///{shop / '.git' / 'tierbot' / 'ledger.sqlite3'}") as ledger:
        rows = ledger.report_rows(repo=str(shop))
    spend = {(s.task_type, s.tier): s for s in rows.spend}
    assert spend["stub", "junior"].calls == 1
    assert spend["stub", "junior"].known_cost_usd > 0
    assert spend["stub", "template"].known_cost_usd == 0
    assert run_hook(shop, ["shop.py"], env={}) == (0, [])


@pytest.mark.slow
@pytest.mark.parametrize(("strict", "expected"), [(False, 0), (True, 1)])
def test_unreachable_model_is_one_line_and_blocks_only_when_strict(
    tmp_path: Path, strict: bool, expected: int
):
    source = "# tierbot: stub\ndef total(items):\n    ...\n"
    root = make_repo(tmp_path / "offline", {"calc.py": source})
    closed = f"http://127.0.0.1:{free_port()}"
    extra = "  strict: true\n" if strict else ""
    (root / ".github").mkdir()
    (root / ".github" / "tierbot.yml").write_text(model_config(closed, extra=extra))
    code, lines = run_hook(root, ["calc.py"], env={})
    assert code == expected
    assert len(lines) == 1
    assert lines[0].startswith("tierbot-stubs: model tier junior (openai/junior-model) unreachable")
    assert lines[0].endswith("1 stub(s) left as they are")
    assert (root / "calc.py").read_text() == source


@pytest.mark.slow
def test_model_garbage_leaves_the_stub_and_says_why(tmp_path: Path, model_server):
    source = "# tierbot: stub\ndef total(items):\n    ...\n"
    root = make_repo(tmp_path / "garbage", {"calc.py": source, ".github/tierbot.yml": ""})
    (root / ".github" / "tierbot.yml").write_text(model_config(model_server.url))
    model_server.script("junior-model", [reply("```python\ndef total(items:\n```")])
    code, lines = run_hook(root, ["calc.py"], env={})
    assert code == 0
    assert "junior's reply was not used: the reply does not parse" in lines[-1]
    assert (root / "calc.py").read_text() == source


@pytest.mark.slow
def test_auth_failure_counts_as_unreachable(tmp_path: Path, model_server):
    source = "# tierbot: stub\ndef total(items):\n    ...\n"
    root = make_repo(tmp_path / "auth", {"calc.py": source})
    (root / ".github").mkdir()
    (root / ".github" / "tierbot.yml").write_text(model_config(model_server.url))
    model_server.script("junior-model", [http_error(401, "bad key")])
    code, lines = run_hook(root, ["calc.py"], env={})
    assert code == 0
    assert "unreachable (auth:" in lines[0]


def test_budget_refuses_the_call_before_it_is_made(tmp_path: Path, model_server):
    source = "# tierbot: stub\ndef total(items):\n    ...\n"
    root = make_repo(tmp_path / "budget", {"calc.py": source})
    (root / ".github").mkdir()
    (root / ".github" / "tierbot.yml").write_text(
        model_config(model_server.url, extra="  budget_usd: 0.0000001\n  strict: true\n")
    )
    code, lines = run_hook(root, ["calc.py"], env={})
    assert code == 1  # strict: a stub the model could not write fails the hook
    assert "more than the $0.0000 left of hooks.budget_usd" in lines[0]
    assert model_server.requests == []
    with SqlLedger(f"sqlite:///{root / '.git' / 'tierbot' / 'ledger.sqlite3'}") as ledger:
        rows = ledger.report_rows(repo=str(root))
    assert [(s.tier, s.refused_calls) for s in rows.spend] == [("junior", 1)]


def test_placeholders_wait_for_a_model_tier(tmp_path: Path):
    source = '# tierbot: stub\ndef total(items):\n    """Sum."""\n    raise NotImplementedError\n'
    root = make_repo(tmp_path / "placeholder", {"calc.py": source})
    assert run_hook(root, ["calc.py"]) == (0, [])
    config = load_config("hooks: {model_tier: junior}")
    assert config.hooks.model_tier == "junior"
