"""Tests for bot.core.edits: parsing replies into edits, tolerated slips, rejections, syntax."""

from __future__ import annotations

import pytest

from bot.core.edits import EditError, check_syntax, parse_edits
from bot.core.types import EditSet, FileEdit

FENCE = "```"
SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"

APP = "def greet():\n    return 'hi'\n\n\nclass A:\n    def run(self):\n        return 1\n"


def reply(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def sr(search: list[str], replace: list[str]) -> list[str]:
    return [SEARCH, *search, DIVIDER, *replace, REPLACE]


WHOLE = [FENCE + "python", "x = 1", FENCE]

# (reply, existing files, expected [(path, content)])
PARSES = {
    # --- whole-file blocks and the path-line variants small models produce
    "whole-canonical": (reply("### a.py", *WHOLE), {}, [("a.py", "x = 1\n")]),
    "whole-h2": (reply("## a.py", *WHOLE), {}, [("a.py", "x = 1\n")]),
    "whole-h1-file-label": (reply("# File: a.py", *WHOLE), {}, [("a.py", "x = 1\n")]),
    "whole-h3-file-label": (reply("### File: src/a.py", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-bare-path": (reply("src/a.py", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-bare-path-colon": (reply("src/a.py:", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-bold-path": (reply("**src/a.py**", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-backtick-path": (reply("`src/a.py`", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-file-label": (reply("File: src/a.py", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-bold-label-backtick-path": (
        reply("**File:** `src/a.py`", *WHOLE),
        {},
        [("src/a.py", "x = 1\n")],
    ),
    "whole-bullet-bold-path": (reply("1. **src/a.py**", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-dash-backtick-path": (reply("- `src/a.py`", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-label-extensionless": (reply("File: bin/tool", *WHOLE), {}, [("bin/tool", "x = 1\n")]),
    "whole-known-extensionless-name": (
        reply("### Makefile", FENCE, "all:", "\techo hi", FENCE),
        {},
        [("Makefile", "all:\n\techo hi\n")],
    ),
    "whole-dotfile": (
        reply("### .gitignore", FENCE, "*.pyc", FENCE),
        {},
        [(".gitignore", "*.pyc\n")],
    ),
    "whole-path-after-language": (
        reply(FENCE + "python src/a.py", "x = 1", FENCE),
        {},
        [("src/a.py", "x = 1\n")],
    ),
    "whole-path-as-info": (
        reply(FENCE + "src/a.py", "x = 1", FENCE),
        {},
        [("src/a.py", "x = 1\n")],
    ),
    "whole-leading-dot-slash": (reply("### ./src/a.py", *WHOLE), {}, [("src/a.py", "x = 1\n")]),
    "whole-leading-dot-slash-info": (
        reply(FENCE + "python ./a.py", "x = 1", FENCE),
        {},
        [("a.py", "x = 1\n")],
    ),
    "whole-no-language": (reply("### a.txt", FENCE, "hello", FENCE), {}, [("a.txt", "hello\n")]),
    "whole-prose-between-path-and-fence": (
        reply("### a.py", "", "Here is the complete file:", "", *WHOLE),
        {},
        [("a.py", "x = 1\n")],
    ),
    "whole-prose-before-and-after": (
        reply("Sure! I'll add it.", "", "### a.py", *WHOLE, "", "Let me know if that helps."),
        {},
        [("a.py", "x = 1\n")],
    ),
    "whole-crlf": (reply("### a.py", *WHOLE).replace("\n", "\r\n"), {}, [("a.py", "x = 1\n")]),
    "whole-missing-final-newline-added": (
        "### a.py\n```python\nx = 1\ny = 2\n```",
        {},
        [("a.py", "x = 1\ny = 2\n")],
    ),
    "whole-empty-content": (
        reply("### pkg/__init__.py", FENCE, FENCE),
        {},
        [("pkg/__init__.py", "")],
    ),
    "whole-four-backticks-keep-inner-fence": (
        reply("### README.md", "````markdown", "# T", FENCE + "sh", "make", FENCE, "end", "````"),
        {},
        [("README.md", "# T\n```sh\nmake\n```\nend\n")],
    ),
    "whole-three-backticks-nested-labelled-fence": (
        reply(
            "### README.md", FENCE + "markdown", "# T", FENCE + "sh", "make", FENCE, "end", FENCE
        ),
        {},
        [("README.md", "# T\n```sh\nmake\n```\nend\n")],
    ),
    "whole-indented-fence-in-list": (
        reply("1. `a.py`", "   ```python", "   def f():", "       pass", "   ```"),
        {},
        [("a.py", "def f():\n    pass\n")],
    ),
    "whole-several-files-first-seen-order": (
        reply("### b.py", *WHOLE, "### a.py", FENCE, "y = 2", FENCE),
        {},
        [("b.py", "x = 1\n"), ("a.py", "y = 2\n")],
    ),
    "whole-same-content-twice-is-one-edit": (
        reply("### a.py", *WHOLE, "### ./a.py", *WHOLE),
        {},
        [("a.py", "x = 1\n")],
    ),
    "whole-does-not-read": (reply("### a.py", *WHOLE), {"a.py": "old\n"}, [("a.py", "x = 1\n")]),
    # --- SEARCH/REPLACE blocks
    "sr-canonical": (
        reply("### app.py", *sr(["    return 'hi'"], ["    return 'hello'"])),
        {"app.py": APP},
        [("app.py", APP.replace("'hi'", "'hello'"))],
    ),
    "sr-inside-fence": (
        reply("### app.py", FENCE + "python", *sr(["    return 'hi'"], ["    return 'yo'"]), FENCE),
        {"app.py": APP},
        [("app.py", APP.replace("'hi'", "'yo'"))],
    ),
    "sr-path-inside-fence": (
        reply(FENCE + "python", "app.py", *sr(["    return 'hi'"], ["    return 'yo'"]), FENCE),
        {"app.py": APP},
        [("app.py", APP.replace("'hi'", "'yo'"))],
    ),
    "sr-two-paths-inside-one-fence": (
        reply(
            FENCE,
            "a.txt",
            *sr(["a"], ["A"]),
            "b.txt",
            *sr(["b"], ["B"]),
            FENCE,
        ),
        {"a.txt": "a\n", "b.txt": "b\n"},
        [("a.txt", "A\n"), ("b.txt", "B\n")],
    ),
    "sr-four-backtick-fence-closed-by-three": (
        reply("### a.txt", "````", *sr(["a"], ["A"]), FENCE),
        {"a.txt": "a\n"},
        [("a.txt", "A\n")],
    ),
    "sr-several-blocks-apply-in-order": (
        reply("### a.txt", *sr(["one"], ["two"]), "", *sr(["two"], ["three"])),
        {"a.txt": "one\n"},
        [("a.txt", "three\n")],
    ),
    "sr-several-blocks-in-separate-fences": (
        reply("### a.txt", FENCE, *sr(["a"], ["A"]), FENCE, FENCE, *sr(["b"], ["B"]), FENCE),
        {"a.txt": "a\nb\n"},
        [("a.txt", "A\nB\n")],
    ),
    "sr-new-path-line-switches-file": (
        reply("### a.txt", *sr(["a"], ["A"]), "", "### b.txt", *sr(["b"], ["B"])),
        {"a.txt": "a\n", "b.txt": "b\n"},
        [("a.txt", "A\n"), ("b.txt", "B\n")],
    ),
    "sr-marker-lengths-5-and-9": (
        reply("### a.txt", "<<<<< SEARCH", "a", "=====", "A", ">>>>>>>>> REPLACE"),
        {"a.txt": "a\n"},
        [("a.txt", "A\n")],
    ),
    "sr-exact-divider-preferred-over-heading-underline": (
        reply("### README.rst", *sr(["Title", "====="], ["Name", "====="])),
        {"README.rst": "Title\n=====\n\ntext\n"},
        [("README.rst", "Name\n=====\n\ntext\n")],
    ),
    "sr-empty-search-creates-missing-file": (
        reply("### new.py", *sr([], ["x = 1"])),
        {},
        [("new.py", "x = 1\n")],
    ),
    "sr-create-then-edit-same-new-file": (
        reply("### new.py", *sr([], ["x = 1"]), *sr(["x = 1"], ["x = 2"])),
        {},
        [("new.py", "x = 2\n")],
    ),
    "sr-empty-replace-deletes-lines": (
        reply("### a.txt", *sr(["b"], [])),
        {"a.txt": "a\nb\nc\n"},
        [("a.txt", "a\nc\n")],
    ),
    "sr-trailing-whitespace-tolerated": (
        reply("### a.txt", *sr(["a  ", "b"], ["A"])),
        {"a.txt": "a\nb \nc\n"},
        [("a.txt", "A\nc\n")],
    ),
    "sr-under-indented-search-reindents-replace": (
        reply(
            "### app.py",
            *sr(["def run(self):", "    return 1"], ["def run(self):", "    return 2"]),
        ),
        {"app.py": APP},
        [("app.py", APP.replace("return 1", "return 2"))],
    ),
    "sr-over-indented-search-dedents-replace": (
        reply("### app.py", *sr(["        def greet():"], ["        def greet(name):"])),
        {"app.py": APP},
        [("app.py", APP.replace("greet()", "greet(name)"))],
    ),
    "sr-indented-fence-in-list": (
        reply(
            "- `app.py`",
            "  ```",
            "  " + SEARCH,
            "      return 1",
            "  =======",
            "      return 3",
            "  " + REPLACE,
            "  ```",
        ),
        {"app.py": APP},
        [("app.py", APP.replace("return 1", "return 3"))],
    ),
    "sr-crlf-reply": (
        reply("### a.txt", *sr(["a"], ["A"])).replace("\n", "\r\n"),
        {"a.txt": "a\nb\n"},
        [("a.txt", "A\nb\n")],
    ),
    "sr-crlf-file-keeps-crlf": (
        reply("### a.txt", *sr(["b"], ["B"])),
        {"a.txt": "a\r\nb\r\n"},
        [("a.txt", "a\r\nB\r\n")],
    ),
    "sr-file-without-final-newline-keeps-it": (
        reply("### a.txt", *sr(["a"], ["A"])),
        {"a.txt": "a\nb"},
        [("a.txt", "A\nb")],
    ),
    "sr-leading-dot-slash": (
        reply("### ./a.txt", *sr(["a"], ["A"])),
        {"a.txt": "a\n"},
        [("a.txt", "A\n")],
    ),
    "mixed-whole-and-sr-different-files": (
        reply("### a.txt", *sr(["a"], ["A"]), "### b.py", *WHOLE),
        {"a.txt": "a\n"},
        [("a.txt", "A\n"), ("b.py", "x = 1\n")],
    ),
}


@pytest.mark.parametrize(("text", "files", "expected"), PARSES.values(), ids=PARSES.keys())
def test_parse_edits(text: str, files: dict[str, str], expected: list[tuple[str, str]]) -> None:
    result = parse_edits(text, files.get)
    assert result == EditSet(tuple(FileEdit(path, content) for path, content in expected))


# (reply, existing files, fragments the error message must contain)
REJECTS = {
    "no-blocks-prose-only": (reply("I could not find anything to change."), {}, ["no edit blocks"]),
    "no-blocks-empty-reply": ("", {}, ["no edit blocks"]),
    "fence-without-path": (
        reply("Here you go:", *WHOLE),
        {},
        ["line 2", "fence has no file path"],
    ),
    "fence-heading-is-not-a-path": (reply("### Changes", *WHOLE), {}, ["no file path"]),
    "fence-path-used-once": (
        reply("### a.py", *WHOLE, "Run it with:", FENCE + "sh", "python a.py", FENCE),
        {},
        ["line 6", "no file path"],
    ),
    "fence-unterminated": (
        reply("### a.py", FENCE + "python", "x = 1"),
        {},
        ["a.py", "line 2", "never closed"],
    ),
    "fence-unterminated-with-sr": (
        reply("### a.txt", FENCE, *sr(["a"], ["A"])),
        {"a.txt": "a\n"},
        ["line 2", "never closed"],
    ),
    "sr-unterminated": (
        reply("### a.txt", SEARCH, "a", DIVIDER, "A"),
        {"a.txt": "a\n"},
        ["a.txt", "line 2", "unterminated", "REPLACE"],
    ),
    "sr-next-search-before-replace": (
        reply("### a.txt", SEARCH, "a", DIVIDER, "A", SEARCH, "b", DIVIDER, "B", REPLACE),
        {"a.txt": "a\nb\n"},
        ["line 2", "another '<<<<<<< SEARCH' (reply line 6)"],
    ),
    "sr-missing-divider": (
        reply("### a.txt", SEARCH, "a", REPLACE),
        {"a.txt": "a\n"},
        ["a.txt", "line 2", "no '======='"],
    ),
    "sr-replace-without-search": (
        reply("### a.txt", "a", DIVIDER, "A", REPLACE),
        {"a.txt": "a\n"},
        ["line 5", "without a '<<<<<<< SEARCH'"],
    ),
    "sr-without-path": (reply(*sr(["a"], ["A"])), {}, ["line 1", "no file path"]),
    "sr-text-inside-fence-between-blocks": (
        reply("### a.txt", FENCE, *sr(["a"], ["A"]), "and also", *sr(["b"], ["B"]), FENCE),
        {"a.txt": "a\nb\n"},
        ["line 8", "unexpected text", "'and also'"],
    ),
    "sr-search-not-found-quotes-first-line": (
        reply("### app.py", *sr(["", "    return 'bye'", "x"], ["y"])),
        {"app.py": APP},
        ["app.py", "block at reply line 2", "not found", "\"    return 'bye'\""],
    ),
    "sr-search-ambiguous": (
        reply("### a.txt", *sr(["x"], ["y"])),
        {"a.txt": "x\na\nx\n"},
        ["a.txt", "block at reply line 2", "ambiguous", "matches 2 places"],
    ),
    "sr-search-ambiguous-ignoring-trailing-space": (
        reply("### a.txt", *sr(["x"], ["y"])),
        {"a.txt": "x \na\nx\t\n"},
        ["matches 2 places"],
    ),
    "sr-search-ambiguous-ignoring-indentation": (
        reply("### app.py", *sr(["return 1"], ["return 2"])),
        {"app.py": "def f():\n    return 1\n\ndef g():\n    return 1\n"},
        ["matches 2 places"],
    ),
    "sr-search-overlapping-matches-all-counted": (
        reply("### a.txt", *sr(["x", "x"], ["y"])),
        {"a.txt": "x\nx\nx\nx\n"},
        ["matches 3 places"],
    ),
    "sr-nonempty-search-on-missing-file": (
        reply("### gone.py", *sr(["x = 1"], ["x = 2"])),
        {},
        ["gone.py", "does not exist", "leave SEARCH empty"],
    ),
    "sr-empty-search-on-existing-file": (
        reply("### a.txt", *sr([], ["A"])),
        {"a.txt": "a\n"},
        ["a.txt", "SEARCH is empty but the file exists"],
    ),
    "path-absolute": (reply("### /etc/passwd", FENCE, "x", FENCE), {}, ["/etc/passwd", "absolute"]),
    "path-windows-drive": (reply("### C:/x.py", *WHOLE), {}, ["C:/x.py", "absolute"]),
    "path-dotdot": (reply("### src/../../x.py", *WHOLE), {}, ["src/../../x.py", "'..'"]),
    "path-backslash": (reply("### src\\x.py", *WHOLE), {}, ["src\\x.py", "backslash"]),
    "path-into-dot-git": (
        reply("### .git/hooks/pre-commit", *WHOLE),
        {},
        [".git/", "never written"],
    ),
    "path-into-nested-dot-git": (reply("### sub/.GIT/config", *WHOLE), {}, ["never written"]),
    "path-absolute-in-fence-info": (
        reply(FENCE + "python /tmp/x.py", "x = 1", FENCE),
        {},
        ["absolute"],
    ),
    "path-absolute-sr": (reply("### /tmp/x.txt", *sr([], ["x"])), {}, ["line 2", "absolute"]),
    "whole-two-different-contents": (
        reply("### a.py", *WHOLE, "### a.py", FENCE, "x = 2", FENCE),
        {},
        ["a.py", "two different whole-file contents", "reply lines 2 and 6"],
    ),
    "whole-and-sr-for-one-path": (
        reply("### a.txt", FENCE, "b", FENCE, "### a.txt", *sr(["b"], ["c"])),
        {"a.txt": "a\n"},
        [
            "a.txt",
            "whole-file block (reply line 2)",
            "SEARCH/REPLACE blocks (reply line 6)",
            "not both",
        ],
    ),
}


@pytest.mark.parametrize(("text", "files", "fragments"), REJECTS.values(), ids=REJECTS.keys())
def test_parse_edits_rejects(text: str, files: dict[str, str], fragments: list[str]) -> None:
    with pytest.raises(EditError) as caught:
        parse_edits(text, files.get)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_parse_edits_reports_every_broken_file_at_once() -> None:
    text = reply(
        "### a.txt",
        *sr(["nope"], ["x"]),
        "### /abs.txt",
        FENCE,
        "x",
        FENCE,
        "### c.txt",
        *sr(["c"], ["C"]),
    )
    with pytest.raises(EditError) as caught:
        parse_edits(text, {"a.txt": "a\n", "c.txt": "c\n"}.get)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert "a.txt" in lines[0] and "not found" in lines[0]
    assert "/abs.txt" in lines[1] and "absolute" in lines[1]


def test_parse_edits_reads_only_search_replace_paths() -> None:
    asked: list[str] = []

    def read(path: str) -> str | None:
        asked.append(path)
        return "a\n"

    parse_edits(reply("### w.py", *WHOLE, "### s.txt", *sr(["a"], ["b"])), read)
    assert asked == ["s.txt"]


def test_edit_error_is_a_value_error() -> None:
    assert issubclass(EditError, ValueError)


# (path, content, expected message prefixes, one per broken file)
SYNTAX = {
    "py-valid": ("a.py", "def f():\n    return 1\n", []),
    "py-syntax-error-line": ("a.py", "x = 1\ndef f(:\n", ["a.py:2: "]),
    "py-compile-error-return-outside-function": (
        "a.py",
        "x = 1\nreturn x\n",
        ["a.py:2: 'return' outside function"],
    ),
    "py-warning-is-not-an-error": ("a.py", 'import re\nP = re.compile("\\d+")\n', []),
    "py-null-byte": ("a.py", "x = 1\x00\n", ["a.py:1: "]),
    "pyi-checked": ("a.pyi", "def f(:\n", ["a.pyi:1: "]),
    "json-valid": ("a.json", '{"a": [1, 2]}\n', []),
    "json-error-line": ("conf/a.json", '{\n  "a": 1,\n}\n', ["conf/a.json:3: "]),
    "json-empty-is-invalid": ("a.json", "", ["a.json:1: Expecting value"]),
    "yaml-valid": ("a.yaml", "a: [1, 2]\nb: {c: d}\n", []),
    "yml-valid-multi-document": ("k8s.yml", "a: 1\n---\nb: 2\n", []),
    "yml-valid-application-tag": ("cf.yml", "Value: !Ref Bucket\n", []),
    "yml-error-line": ("ci.yml", "a: 1\nb: [1, 2\nc: 3\n", ["ci.yml:"]),
    "yml-bad-indent-line": ("a.yml", "a:\n  b: 1\n c: 2\n", ["a.yml:3: "]),
    "yml-uppercase-suffix": ("A.YML", "a: [\n", ["A.YML:"]),
    "toml-valid": ("pyproject.toml", '[project]\nname = "x"\n', []),
    "toml-error-line": (
        "pyproject.toml",
        "[project]\nname = \n",
        ["pyproject.toml:2: Invalid value"],
    ),
    "toml-error-end-of-document": ("a.toml", "a = 1\nb = [", ["a.toml:2: "]),
    "unchecked-suffix": ("notes.txt", "def f(:\n{", []),
    "unchecked-no-suffix": ("Makefile", "def f(:\n", []),
}


@pytest.mark.parametrize(("path", "content", "prefixes"), SYNTAX.values(), ids=SYNTAX.keys())
def test_check_syntax(path: str, content: str, prefixes: list[str]) -> None:
    problems = check_syntax(EditSet((FileEdit(path, content),)))
    assert len(problems) == len(prefixes), problems
    for problem, prefix in zip(problems, prefixes, strict=True):
        assert problem.startswith(prefix), problem


def test_check_syntax_one_message_per_broken_file_skipping_deletions() -> None:
    edits = EditSet(
        (
            FileEdit("ok.py", "x = 1\n"),
            FileEdit("bad.py", "def (\n"),
            FileEdit("gone.py", None),
            FileEdit("bad.json", "{"),
        )
    )
    problems = check_syntax(edits)
    assert [p.split(":")[0] for p in problems] == ["bad.py", "bad.json"]


def test_yaml_error_message_names_line_of_problem() -> None:
    [problem] = check_syntax(EditSet((FileEdit("ci.yml", "a: 1\nb: [1, 2\nc: 3\n"),)))
    path, line, message = problem.split(":", 2)
    assert path == "ci.yml"
    assert int(line) >= 2
    assert message.strip()
