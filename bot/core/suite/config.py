"""The repository's pytest configuration, as far as where tests live and what runs matter."""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the hooks import this module on every commit
if TYPE_CHECKING:
    from collections.abc import Callable

    Read = Callable[[str], str | None]

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
# pytest's own order: the first file that configures pytest wins.
_INI_FILES = (("pytest.ini", "pytest"), (".pytest.ini", "pytest"))
_LATER_INI_FILES = (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
_DOCTEST_MODULES = re.compile(r"--doctest-modules\b")


class PytestConfig:
    """``testpaths``, ``python_files``, ``pythonpath`` and whether doctests of modules run."""

    __slots__ = ("doctest_modules", "path", "python_files", "pythonpath", "testpaths")

    def __init__(
        self,
        path: str | None = None,
        *,
        testpaths: tuple[str, ...] = (),
        python_files: tuple[str, ...] = DEFAULT_PYTHON_FILES,
        pythonpath: tuple[str, ...] = (),
        doctest_modules: bool = False,
    ) -> None:
        self.path = path  # the file that configures pytest; None: no configuration
        self.testpaths = testpaths
        self.python_files = python_files
        self.pythonpath = pythonpath
        self.doctest_modules = doctest_modules


def _words(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int | float))
    return ()


def _from_options(path: str, options: dict[str, object], extra_doctests: bool) -> PytestConfig:
    testpaths = tuple(p.rstrip("/") for p in _words(options.get("testpaths")))
    addopts = " ".join(_words(options.get("addopts")))
    return PytestConfig(
        path,
        testpaths=tuple(p for p in testpaths if p not in {"", "."}) if testpaths else (),
        python_files=_words(options.get("python_files")) or DEFAULT_PYTHON_FILES,
        pythonpath=_words(options.get("pythonpath")),
        doctest_modules=extra_doctests or bool(_DOCTEST_MODULES.search(addopts)),
    )


def _ini_section(text: str, section: str) -> dict[str, object] | None:
    if f"[{section}]" not in text:
        return None
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section(section):
        return None
    return dict(parser.items(section))


def _toml_section(text: str) -> dict[str, object] | None:
    if "[tool.pytest" not in text:
        return None
    import tomllib

    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return None
    pytest = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest, dict):
        return None
    # pytest 9 reads [tool.pytest] itself; older versions read [tool.pytest.ini_options].
    options = pytest.get("ini_options")
    return options if isinstance(options, dict) else pytest


def pytest_config(read: Read) -> PytestConfig:
    """The configuration pytest would use at the repository root (not a subdirectory's)."""
    tox = read("tox.ini") or ""
    # tox commands such as `pytest --doctest-modules` run the doctests as well.
    extra = bool(_DOCTEST_MODULES.search(tox))
    for path, section in _INI_FILES:
        text = read(path)
        if text is not None:
            return _from_options(path, _ini_section(text, section) or {}, extra)
    pyproject = read("pyproject.toml")
    if pyproject is not None:
        options = _toml_section(pyproject)
        if options is not None:
            return _from_options("pyproject.toml", options, extra)
    for path, section in _LATER_INI_FILES:
        text = tox if path == "tox.ini" else read(path)
        options = _ini_section(text, section) if text else None
        if options is not None:
            return _from_options(path, options, extra)
    return PytestConfig(doctest_modules=extra)
