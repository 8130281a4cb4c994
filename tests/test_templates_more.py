"""The docs and boilerplate generators, and config files a path policy protects (suggestions)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from bot.core.escalation import BudgetView, Ladder, StepKind, next_step
from bot.core.templates import Proposal, TemplateRequest, generate
from bot.core.types import AttemptRecord, Outcome
from tests.support.templates import declined, edits_of, nothing_to_do, request, write

SHOP = {
    "shop/__init__.py": '"""A tiny shop."""\n',
    "shop/cart.py": '"""A shopping cart."""\n\n\n'
    "class Cart(dict):\n"
    '    """Items and their prices."""\n\n'
    "    def add(self, name: str, price: float = 1.0) -> None:\n"
    '        """Put ``name`` in the cart."""\n\n'
    "    def _secret(self):\n        pass\n\n\n"
    "def total(cart: Cart, *, tax: float = 0.0) -> float:\n"
    '    """The sum of the prices.\n\n    >>> total(Cart())\n    0.0\n    """\n'
    "    return 0.0\n\n\n"
    "def undocumented(x):\n    return x\n",
    "shop/cli.py": "def main(argv=None):\n    return 0\n",
}


def test_docs_writes_an_api_reference_from_docstrings():
    page = edits_of(generate(request("docs", "API reference for shop/cart.py", SHOP)))[
        "docs/api/shop.cart.md"
    ]
    assert page.startswith("# `shop.cart`\n\nA shopping cart.\n")
    assert "### class `Cart(dict)`\n\nItems and their prices." in page
    assert "#### `add(name: str, price: float=1.0) -> None`\n\nPut ``name`` in the cart." in page
    assert "### `total(cart: Cart, *, tax: float=0.0) -> float`" in page
    assert ">>> total(Cart())" in page  # the docstring is copied whole
    assert "### `undocumented(x)`" in page  # listed with its signature, nothing invented
    assert "_secret" not in page


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Write a getting started section in the README", "writes API references"),
        ("API reference please", "names no Python module"),
    ],
)
def test_docs_declines_prose_and_unnamed_modules(text, reason):
    assert reason in declined(generate(request("docs", text, SHOP)))


def test_docs_for_a_missing_module_is_nothing_to_do():
    assert "shop/gone.py" in nothing_to_do(
        generate(request("docs", "API reference for shop/gone.py", SHOP))
    )


def test_boilerplate_py_typed_and_main(tmp_path):
    files = edits_of(generate(request("boilerplate", "Add py.typed and a __main__.py", SHOP)))
    assert files["shop/py.typed"] == ""
    main = files["shop/__main__.py"]
    assert "from shop.cli import main" in main and "raise SystemExit(main())" in main
    ast.parse(main)
    write(tmp_path, {**SHOP, **files})
    ran = subprocess.run([sys.executable, "-m", "shop"], cwd=tmp_path, check=False)
    assert ran.returncode == 0


def test_boilerplate_main_without_an_entry_point_declines():
    repo = {k: v for k, v in SHOP.items() if k != "shop/cli.py"}
    assert "has no main()" in declined(
        generate(request("boilerplate", "Make shop runnable with python -m", repo))
    )


def test_boilerplate_new_package_in_the_src_layout():
    repo = {"src/pkg/__init__.py": "", "src/pkg/core.py": "X = 1\n"}
    files = edits_of(generate(request("boilerplate", "Create a new package `pkg.plugins`", repo)))
    assert files == {"src/pkg/plugins/__init__.py": '"""The pkg.plugins package."""\n'}
    assert "already exists" in nothing_to_do(
        generate(request("boilerplate", "Add the package pkg", repo))
    )
    assert "does not exist" in declined(
        generate(request("boilerplate", "Add a package other.sub", repo))
    )


def test_boilerplate_that_needs_thought_declines_and_done_is_nothing_to_do():
    assert "needs a model tier" in declined(
        generate(request("boilerplate", "Register every handler in the router", SHOP))
    )
    done = {**SHOP, "shop/py.typed": ""}
    assert "shop/py.typed" in nothing_to_do(generate(request("boilerplate", "Add py.typed", done)))


def protected_request(text: str, repo: dict[str, str]) -> TemplateRequest:
    return TemplateRequest(
        "config", text, tuple(repo), repo.get, lambda p: p.startswith(".github/workflows/")
    )


def test_a_protected_workflow_is_suggested_not_committed():
    result = generate(protected_request("Add a pytest config and a CI workflow", SHOP))
    assert isinstance(result, Proposal)
    assert result.paths == ("pytest.ini",)
    assert [s.path for s in result.suggestions] == [".github/workflows/ci.yml"]
    note = result.note()
    assert note.startswith("Suggested, not committed:\n\n- .github/workflows/ci.yml: protected")
    assert "### .github/workflows/ci.yml\n```\n" in note and "actions/checkout" in note


def test_a_task_for_only_a_protected_workflow_is_nothing_to_do_with_the_file():
    reason = nothing_to_do(generate(protected_request("Add a CI workflow", SHOP)))
    assert reason.startswith(".github/workflows/ci.yml: protected by paths.protected")
    assert "actions/checkout" in reason
    # Allowed by the config (no protecting glob): committed like any other file.
    assert ".github/workflows/ci.yml" in edits_of(
        generate(request("config", "Add a CI workflow", SHOP))
    )


@pytest.mark.parametrize("outcome", [Outcome.POLICY, Outcome.INVALID_EDIT, Outcome.CHECK_FAILED])
def test_a_deterministic_tier_is_never_retried_identically(outcome):
    ladder = Ladder(("template", "intern"), "template", "intern", 2, fixed=("template",))
    step = next_step(
        ladder,
        [AttemptRecord("template", outcome)],
        outcome,
        BudgetView(1.0, {"template": 0.0, "intern": 0.0}),
    )
    assert (step.kind, step.tier, step.retry) == (StepKind.CALL, "intern", False)
    # A model tier still gets its retry with the error.
    model = Ladder(("intern", "junior"), "intern", "junior", 2)
    again = next_step(
        model, [AttemptRecord("intern", outcome)], outcome, BudgetView(1.0, {"intern": 0.0})
    )
    assert (again.tier, again.retry) == ("intern", True)
