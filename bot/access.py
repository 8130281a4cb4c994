"""Which key variables and model hosts a repository config may name: the operator's allowlist.

A repository's ``.github/tierbot.yml`` is written by whoever can push to it, and ``tierbot
run`` may run in a clone of someone else's repository, so neither may choose which of the
process's variables is sent as a model key, nor where prompts and keys go. The operator does,
through two settings of the server's or the user's environment (never of the repository):

- ``TIERBOT_ALLOWED_KEY_ENVS``: variable names added to the providers' usual key variables.
  tierbot's own ``TIERBOT_*`` settings are never allowed, whatever the list says.
- ``TIERBOT_ALLOWED_API_BASES``: origins (``https://llm.example.com:8443``) added to the
  providers' default endpoints (no ``api_base``) and loopback (a local Ollama or llama.cpp).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

KEY_ENVS_SETTING = "TIERBOT_ALLOWED_KEY_ENVS"
API_BASES_SETTING = "TIERBOT_ALLOWED_API_BASES"
OWN_PREFIX = "TIERBOT_"
DEFAULT_KEY_ENVS = frozenset(
    {
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "MISTRAL_API_KEY",
        "DEEPSEEK_API_KEY",
        "GROQ_API_KEY",
        "OPENROUTER_API_KEY",
        "AZURE_API_KEY",
        "XAI_API_KEY",
        "TOGETHERAI_API_KEY",
        "FIREWORKS_AI_API_KEY",
        "COHERE_API_KEY",
        "CEREBRAS_API_KEY",
        "PERPLEXITYAI_API_KEY",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Deliberately narrower than RFC 3986: no user info, no percent-escapes, no query, no
# backslash, so that every HTTP client reads the same host out of it as this check does.
_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<path>/[A-Za-z0-9._~/-]*)?",
    re.IGNORECASE,
)
Origin = tuple[str, str, int]  # (scheme, lower-case host, port)


class AccessError(ValueError):
    """An operator allowlist setting is malformed; the message names the setting."""


def parse_origin(url: str) -> Origin | None:
    """The (scheme, host, port) of a plain http(s) URL, or None for anything else."""
    match = _URL.fullmatch(url.strip())
    if match is None:
        return None
    scheme = match["scheme"].lower()
    port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        return None
    return scheme, match["host"].strip("[]").lower(), port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ModelAccess:
    """The key variables and model hosts a repository config may name."""

    key_envs: frozenset[str] = DEFAULT_KEY_ENVS
    api_bases: frozenset[Origin] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ModelAccess:
        """The defaults plus what the operator's two settings add; raises ``AccessError``."""
        names = _items(environ.get(KEY_ENVS_SETTING, ""))
        for name in names:
            if not _NAME.fullmatch(name):
                raise AccessError(f"{KEY_ENVS_SETTING}: {name!r} is not a variable name")
            if name.upper().startswith(OWN_PREFIX):
                raise AccessError(
                    f"{KEY_ENVS_SETTING}: {name} is one of tierbot's own settings; they are "
                    "never sent to a model"
                )
        origins = set()
        for base in _items(environ.get(API_BASES_SETTING, "")):
            origin = parse_origin(base)
            if origin is None:
                raise AccessError(
                    f"{API_BASES_SETTING}: {base!r} is not an http(s) URL such as "
                    "https://llm.example.com or http://10.0.0.5:8000"
                )
            origins.add(origin)
        return cls(DEFAULT_KEY_ENVS | frozenset(names), frozenset(origins))

    def key_env_problem(self, name: str) -> str | None:
        """Why a repository config may not name ``name`` as its key variable (None: it may)."""
        if name.upper().startswith(OWN_PREFIX):
            return (
                f"{name} is one of tierbot's own settings and is never sent to a model; name a "
                f"provider's key variable (the operator allows others with {KEY_ENVS_SETTING})"
            )
        if name not in self.key_envs:
            return (
                f"{name} is not a key variable the operator allows; the operator allows it by "
                f"adding it to {KEY_ENVS_SETTING} in the environment of tierbot (the server's "
                "or the user's, never the repository)"
            )
        return None

    def api_base_problem(self, url: str) -> str | None:
        """Why a repository config may not send prompts and keys to ``url`` (None: it may)."""
        origin = parse_origin(url)
        if origin is None:
            return (
                f"{url!r} is not a plain http(s) URL (no user info, query or escapes), "
                "such as http://127.0.0.1:11434"
            )
        if is_loopback(origin[1]) or origin in self.api_bases:
            return None
        return (
            f"{url} is not a model host the operator allows; the operator allows it by adding "
            f"{origin[0]}://{_host(origin)} to {API_BASES_SETTING} in the environment of "
            "tierbot (the server's or the user's, never the repository)"
        )

    def allowed_key_envs(self) -> str:
        return ", ".join(sorted(self.key_envs))

    def allowed_api_bases(self) -> str:
        listed = sorted(f"{scheme}://{_host((scheme, h, p))}" for scheme, h, p in self.api_bases)
        return ", ".join(
            ["null (the provider's endpoint)", "loopback (127.0.0.1, localhost)", *listed]
        )

    def keys(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The allowed key variables that are set: all a models adapter may ever read."""
        return {name: environ[name] for name in sorted(self.key_envs) if environ.get(name)}


# Nothing but the providers' usual key variables, their default endpoints and loopback.
DEFAULT_ACCESS = ModelAccess()


def _host(origin: Origin) -> str:
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return shown if _DEFAULT_PORTS[scheme] == port else f"{shown}:{port}"


def _items(value: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", value) if item]
