"""Organisation defaults for the repository config: ``_extends`` and the org's ``.github`` repo.

As in Probot's config: a repository's ``.github/tierbot.yml`` may say ``_extends: .github``
(the owner's ``.github`` repository), ``_extends: other-repo``, ``_extends: owner/repo`` or
``_extends: owner/repo:path/to/file.yml``; the file it names is merged under the repository's.
A repository without a file gets the one in its owner's ``.github`` repository, when there is
one. The packaged defaults stay the bottom layer, the merge rules are the config loader's, and
every error names the file it came from (``owner/.github:.github/tierbot.yml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.config import ConfigError, RepoConfig, load_config, merge

EXTENDS = "_extends"
ORG_REPO = ".github"
# (repository, path, ref) -> the file's text, or None when absent; ref "" = default branch
Fetch = Callable[[str, str, str], str | None]
_TARGET = re.compile(
    r"^(?:(?P<owner>[A-Za-z0-9_.-]{1,100})/)?(?P<repo>[A-Za-z0-9_.-]{1,100})(?::(?P<path>[^\s:]+))?$"
)


def load_extended(
    fetch: Fetch,
    repo: str,
    ref: str,
    path: str,
    *,
    access: ModelAccess = DEFAULT_ACCESS,
) -> RepoConfig:
    """The config of ``repo``: its file at ``ref`` over what it extends (or, with no file,
    the owner's ``.github`` repository's), over the packaged defaults."""
    owner = repo.split("/", 1)[0]
    text = fetch(repo, path, ref)
    if text is None:
        org = f"{owner}/{ORG_REPO}"
        if org.lower() == repo.lower():
            return load_config(None, access=access)
        org_text = fetch(org, path, "")
        if org_text is None:
            return load_config(None, access=access)
        return _layer(org_text, f"{org}:{path}", access)[1]
    data = _mapping(text, path)
    target = data.pop(EXTENDS, None)
    if target is None:
        return load_config(text, file=path, access=access)
    base_repo, base_path = _target(target, owner, path, file=path)
    base_name = f"{base_repo}:{base_path}"
    base_text = fetch(base_repo, base_path, "")
    if base_text is None:
        raise ConfigError(
            path,
            EXTENDS,
            f"names {base_name}, which does not exist or cannot be read with this token",
        )
    base, _ = _layer(base_text, base_name, access)
    return _validate(merge(base, data), path, access)


def _layer(text: str, name: str, access: ModelAccess) -> tuple[dict[str, Any], RepoConfig]:
    """An extended file's own keys, validated alone so its errors name it."""
    data = _mapping(text, name)
    if EXTENDS in data:
        raise ConfigError(name, EXTENDS, "an extended file may not extend another (one level)")
    return data, load_config(text, file=name, access=access)


def _validate(data: Mapping[str, Any], name: str, access: ModelAccess) -> RepoConfig:
    import yaml

    return load_config(yaml.safe_dump(dict(data), sort_keys=False), file=name, access=access)


def _mapping(text: str, name: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        load_config(text, file=name)  # raises the loader's error, naming the line
        raise
    if data is None:
        return {}
    if not isinstance(data, dict):
        load_config(text, file=name)  # "expected a mapping", as the loader words it
        raise ConfigError(name, "<top>", "expected a mapping")
    return data


def _target(value: Any, owner: str, default_path: str, *, file: str) -> tuple[str, str]:
    match = _TARGET.match(value) if isinstance(value, str) else None
    if match is None or ".." in str(value):
        raise ConfigError(
            file,
            EXTENDS,
            f"expected 'repo', 'owner/repo' or 'owner/repo:path', got {str(value)[:80]!r}",
        )
    base_owner = match.group("owner") or owner
    return f"{base_owner}/{match.group('repo')}", match.group("path") or default_path
