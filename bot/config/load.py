"""Loading the configuration: packaged defaults merged with ``.github/tierbot.yml``."""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot import REPO_CONFIG_PATH
from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.config.reader import kind
from bot.config.validate import TOP_KEYS, validate
from bot.spec import DEFAULTS_NAME, ConfigError, RepoConfig


def _load_yaml(text: str, file: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise ConfigError(file, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


def packaged_defaults() -> dict[str, Any]:
    text = importlib.resources.files("bot").joinpath("defaults.yml").read_text("utf-8")
    data = _load_yaml(text, DEFAULTS_NAME)
    assert isinstance(data, dict)
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; lists and scalars in ``override`` replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(
    text: str | None, *, file: str = REPO_CONFIG_PATH, access: ModelAccess = DEFAULT_ACCESS
) -> RepoConfig:
    """Merge a repository config document (or none) over the packaged defaults and validate
    it against the operator's ``access`` allowlist (by default the providers' usual keys)."""
    defaults = packaged_defaults()
    if text is None or not text.strip():
        return validate(defaults, DEFAULTS_NAME if text is None else file, access)
    override = _load_yaml(text, file)
    if override is None:
        override = {}
    if not isinstance(override, Mapping):
        raise ConfigError(file, "<top>", f"expected a mapping, got {kind(override)}")
    for key in override:
        if key not in TOP_KEYS:
            raise ConfigError(file, str(key), "unknown key", ", ".join(TOP_KEYS))
    return validate(merge(defaults, override), file, access)


def load_repo_config(repo_root: Path, *, access: ModelAccess = DEFAULT_ACCESS) -> RepoConfig:
    """Read ``.github/tierbot.yml`` under ``repo_root`` if present (never through a link)."""
    from bot.adapters.pathguard import PathGuard, UnsafePath

    try:
        text = PathGuard(repo_root).read_bytes(REPO_CONFIG_PATH).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return load_config(None, access=access)
    except UnsafePath as exc:
        raise ConfigError(REPO_CONFIG_PATH, "<file>", f"cannot be read: {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(REPO_CONFIG_PATH, "<file>", f"cannot be read: {exc}") from None
    return load_config(text, file=REPO_CONFIG_PATH, access=access)
