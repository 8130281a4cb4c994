"""Typed reads of one mapping of a configuration document, errors named by dotted key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.spec import ConfigError


class Reader:
    """Typed access to one mapping of the merged document, reporting errors by dotted key."""

    def __init__(self, file: str, prefix: str, data: Any, allowed_keys: tuple[str, ...]) -> None:
        self.file = file
        self.prefix = prefix
        if not isinstance(data, Mapping):
            raise ConfigError(file, prefix or "<top>", f"expected a mapping, got {kind(data)}")
        for key in data:
            if key not in allowed_keys:
                raise ConfigError(file, self.key(str(key)), "unknown key", ", ".join(allowed_keys))
        self.data = data

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, check: Callable[[Any], bool], expected: str, default: Any) -> Any:
        value = self.data.get(name, default)
        if not check(value):
            raise ConfigError(self.file, self.key(name), f"expected {expected}, got {value!r}")
        return value

    def str_or_none(self, name: str) -> str | None:
        value: str | None = self.get(
            name, lambda v: v is None or isinstance(v, str), "a string or null", None
        )
        return value

    def positive_number(self, name: str, default: float) -> float:
        value = self.get(name, is_number, "a positive number", default)
        if value <= 0:
            raise ConfigError(self.file, self.key(name), f"expected a positive number, got {value}")
        return float(value)

    def non_negative_number(self, name: str, default: float) -> float:
        value = self.get(name, is_number, "a number >= 0", default)
        if value < 0:
            raise ConfigError(self.file, self.key(name), f"expected a number >= 0, got {value}")
        return float(value)

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(
            name, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer", default
        )
        if value < 1:
            raise ConfigError(self.file, self.key(name), f"expected an integer >= 1, got {value}")
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value: bool = self.get(name, lambda v: isinstance(v, bool), "true or false", default)
        return value

    def one_of(self, name: str, choices: tuple[str, ...], default: str | None) -> str:
        value = self.data.get(name, default)
        if value not in choices:
            raise ConfigError(
                self.file, self.key(name), f"unknown value {value!r}", ", ".join(choices)
            )
        return str(value)

    def str_list(self, name: str, default: list[str]) -> tuple[str, ...]:
        value = self.get(
            name,
            lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
            "a list of strings",
            default,
        )
        return tuple(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
