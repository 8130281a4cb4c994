"""Secrets planted in an environment, a check or CI log and an issue body, in every format the
scrubbing must catch, and the strings that must then appear nowhere the bot writes."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

# Values only the environment knows: nothing but the exact-value redaction can find them.
ENV = {
    "OPENAI_API_KEY": "plain-openai-key-4b7e9d1c",
    "TIERBOT_WEBHOOK_SECRET": "webhook-secret-93c1f0a7",
    "GITHUB_TOKEN": "gh-env-token-0a9f8e7d6c",
    "DATABASE_URL": "postgresql://app:db-pass-5e2b8d41@db.internal:5432/app",
}
DB_PASSWORD = "db-pass-5e2b8d41"
# Values nobody knows: the patterns must find them by their shape or their name.
JSON_KEY = "json-quoted-7f3a9c2e41"
URL_PASSWORD = "url-pass-c0ffee1234"
GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
GH_PAT = "github_pat_11AAAAAAA0" + "abcdefghij" * 5
SK_KEY = "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm"
BEARER = "bearer-value-6d5c4b3a21"
ASSIGNED = "assigned-secret-9a8b7c6d"
MARKER = "PLANTED-LOG-REACHED-THE-PROMPT"


@functools.cache
def private_key_pem(seed: int = 0) -> str:
    """An RSA private key in PKCS#1 PEM (``seed`` only tells keys apart; each is random)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def pem_body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def log_text(known: Mapping[str, str]) -> str:
    """A check log leaking secrets in each format; ``known`` are the process's own values."""
    with_end = private_key_pem(1)
    without_end = private_key_pem(2).split("-----END")[0]
    lines = [
        f"{MARKER}: the deploy step printed its configuration",
        # 1. JSON-quoted keys
        json.dumps({"api_key": JSON_KEY, "region": "eu"}),
        # 2. bare known values
        *[f"value: {value}" for value in known.values()],
        # 3. URL credentials
        f"fatal: could not read https://deploy:{URL_PASSWORD}@git.example.com/app.git",
        # 4. a private key with its END line, 5. one cut off before it
        with_end.rstrip(),
        without_end.rstrip(),
        # 6. GitHub tokens, 7. an sk- key, 8. a Bearer header, 9. assignments
        f"using {GH_TOKEN} and {GH_PAT}",
        f"OPENAI={SK_KEY}",
        f"> Authorization: Bearer {BEARER}",
        f"DB_PASSWORD={ASSIGNED}",
        "E   AssertionError: the planted log ends here",
    ]
    return "\n".join(lines) + "\n"


def issue_text(known: Mapping[str, str]) -> str:
    """An issue body that pastes secrets: the process's own values and token shapes."""
    pasted = "\n".join(f"    {value}" for value in known.values())
    return (
        "Add mul(a, b) to calc.py\n\nI ran it with these settings, in case they matter:\n\n"
        f"{pasted}\n    token {GH_TOKEN}\n    key {SK_KEY}\n"
        f"    Authorization: Bearer {BEARER}\n"
    )


def needles(known: Mapping[str, str]) -> list[str]:
    """Every string that must not appear where the bot writes (each key line counts)."""
    values = [v for v in known.values() if "\n" not in v]
    keys = [v for v in known.values() if "\n" in v] + [private_key_pem(1), private_key_pem(2)]
    found = [DB_PASSWORD, JSON_KEY, URL_PASSWORD, GH_TOKEN, GH_PAT, SK_KEY, BEARER, ASSIGNED]
    found += [v for v in values if "://" not in v]
    for pem in keys:
        found += pem_body_lines(pem)[:-1]  # the last line may be a few characters long
    return found


def leaks(text: str, known: Mapping[str, str]) -> list[str]:
    """The needles found in ``text`` (shortened, so a failure does not print them whole)."""
    return [f"{n[:12]}..." for n in needles(known) if n in text]
