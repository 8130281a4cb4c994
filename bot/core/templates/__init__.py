"""The free ``template`` tier: deterministic tests, stubs, config, API references, boilerplate.

Everything here is pure. The repository is seen only through the path list and the ``read``
callable of a :class:`TemplateRequest`, and the same request always yields the same bytes, so a
template attempt costs nothing and can be repeated. A generator either returns whole-file edits
or :class:`Declined` with a reason a person can act on; declining is cheap and lets the ladder
hand the task to a model tier.

The task text is untrusted: it only selects among fixed generators, names files that must
already be listed, and contributes signatures that are checked before they are copied (no calls
or unknown names that would run when the new module is imported).

One generator per task type: :mod:`.tests` (with :mod:`.skeletons`, the test text itself,
:mod:`.interface` and :mod:`.examples`, what the tests assert, and :mod:`.testfile`, an existing
test file), :mod:`.stubs` (with :mod:`.signatures`, which reads and checks the task's
signatures, and :mod:`.stub_imports`), :mod:`.config_files`, :mod:`.docs` (an API reference from
docstrings) and :mod:`.boilerplate` (``py.typed``, ``__main__.py``, new packages). They share
:mod:`.request`, :mod:`.layout` (the files as generators see them), :mod:`.text` (the task
text), :mod:`.render` (source as a formatter leaves it) and :mod:`.names` (a module's public
names, read with ``ast`` by :mod:`.model`, :mod:`.classes` and :mod:`.module_facts`). Where
tests go and what the repository's tests already cover is :mod:`bot.core.suite`, shared with the
hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.core.templates.layout import Repo, module_import_name, test_path_for
from bot.core.templates.names import FunctionNode, NameKind, PublicName, public_names
from bot.core.templates.request import (
    LINE_LENGTH,
    Declined,
    NothingToDo,
    Proposal,
    Suggestion,
    TemplateRequest,
)
from bot.core.templates.skeletons import skeleton_tests

if TYPE_CHECKING:
    from bot.core.types import EditSet

__all__ = [
    "LINE_LENGTH",
    "Declined",
    "FunctionNode",
    "NameKind",
    "NothingToDo",
    "Proposal",
    "PublicName",
    "Suggestion",
    "TemplateRequest",
    "generate",
    "module_import_name",
    "public_names",
    "skeleton_tests",
    "test_path_for",
]


def generate(request: TemplateRequest) -> EditSet | Declined | NothingToDo:
    """Run the generator for ``request.task_type``; never raises on bad task text."""
    # Imported here: the hooks import this package for its readers (public names, skeleton
    # tests, test paths) and should not pay for the generators they never run.
    from bot.core.templates.boilerplate import generate_boilerplate
    from bot.core.templates.config_files import generate_config
    from bot.core.templates.docs import generate_docs
    from bot.core.templates.stubs import generate_stub
    from bot.core.templates.tests import generate_tests
    from bot.core.templates.text import clean_text

    generators: dict[str, Callable[[Repo, str], EditSet | Declined | NothingToDo]] = {
        "tests": generate_tests,
        "stub": generate_stub,
        "config": generate_config,
        "docs": generate_docs,
        "boilerplate": generate_boilerplate,
    }
    generator = generators.get(request.task_type)
    if generator is None:
        return Declined(f"the template tier has no generator for {request.task_type} tasks")
    try:
        return generator(Repo.of(request), clean_text(request.text))
    except RecursionError:
        # Pathologically nested input; reading it is a job for a person, not a template.
        return Declined("the task text or a named file is nested too deeply to read")
