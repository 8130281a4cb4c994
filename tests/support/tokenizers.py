"""Real tokenizers for tests, loaded from the files litellm ships (no download, no litellm import).

litellm bundles tiktoken's cl100k/o200k/p50k encodings (named by the SHA-1 of their URL, which
is how tiktoken's cache finds them) and the Hugging Face tokenizer files of Claude and
DeepSeek. Each counter returns the number of tokens of a text, without special tokens.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

TIKTOKEN_ENCODINGS = ("cl100k_base", "o200k_base", "p50k_base")
HF_FILES = ("anthropic_tokenizer.json", "deepseek_tokenizer.json")


def _bundled_dir() -> Path:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations, "litellm is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


@functools.cache
def counters() -> dict[str, Callable[[str], int]]:
    """Name -> token counter, for every bundled tokenizer."""
    import tiktoken
    from tokenizers import Tokenizer

    found: dict[str, Callable[[str], int]] = {}
    folder = _bundled_dir()
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    try:
        for name in TIKTOKEN_ENCODINGS:
            encoding = tiktoken.get_encoding(name)
            found[name] = functools.partial(_tiktoken_count, encoding)
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
    for file in HF_FILES:
        tokenizer = Tokenizer.from_file(str(folder / file))
        found[file.removesuffix("_tokenizer.json")] = functools.partial(_hf_count, tokenizer)
    return found


def _tiktoken_count(encoding: object, text: str) -> int:
    return len(encoding.encode(text, disallowed_special=()))  # type: ignore[attr-defined]


def _hf_count(tokenizer: object, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)  # type: ignore[attr-defined]
