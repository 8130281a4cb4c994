"""Python source bytes to text, honouring PEP 263 coding declarations."""

from __future__ import annotations

import codecs
import re

# PEP 263: a comment on line 1 or 2 naming the encoding; line 2 counts only after a comment
# or blank line 1.
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK_OR_COMMENT = re.compile(r"^[ \t\f]*(?:[#\r\n]|$)")


class SourceEncodingError(ValueError):
    """The bytes are not text in the encoding Python would read them with; str() says why."""


def declared_encoding(text: str) -> str | None:
    """The encoding a PEP 263 line of ``text`` declares, as written; None if there is none."""
    for number, line in enumerate(text.split("\n", 2)[:2]):
        match = _CODING.match(line)
        if match:
            return match.group(1)
        if number == 0 and not _BLANK_OR_COMMENT.match(line):
            break
    return None


def is_utf8_name(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def non_utf8_declaration(text: str) -> str | None:
    """The declared encoding of ``text`` when it is not UTF-8 (``"latin-1"``), else None."""
    declared = declared_encoding(text)
    return declared if declared is not None and not is_utf8_name(declared) else None


def decode_source(data: bytes) -> str:
    """The text Python reads from ``data``: UTF-8 (with or without BOM) or the declared encoding.

    Raises :class:`SourceEncodingError` when neither applies, as Python's own import would.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise SourceEncodingError("is not UTF-8 although it starts with a UTF-8 BOM") from None
    head = data[:400].decode("latin-1")  # the declaration itself is ASCII
    declared = declared_encoding(head)
    if declared is not None and not is_utf8_name(declared):
        try:
            return data.decode(declared)
        except LookupError:
            raise SourceEncodingError(f"declares an unknown encoding ({declared})") from None
        except UnicodeDecodeError:
            raise SourceEncodingError(
                f"is not UTF-8 (declared {declared}) and does not decode as {declared}"
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceEncodingError("is not UTF-8 and declares no other encoding") from None
