"""GitHub App credentials: the App's JWT and its installation tokens, cached per installation.

``GitHubApp`` turns an App id and private key into installation tokens: an RS256 JWT signed by
PyGithub's ``github.Auth.AppAuth`` is exchanged at ``POST /app/installations/{id}/access_tokens``
and the token is cached per installation until ``refresh_margin_s`` before it expires (GitHub's
tokens live an hour). The exchange itself is a plain ``requests`` call rather than PyGithub's
``GithubIntegration.get_access_token``: PyGithub logs every response body at DEBUG on
``github.Requester``, and this body is the token.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from github import Auth

from bot.adapters.github.retry import (
    Failure,
    HttpFailure,
    RetryPolicy,
    classify_requests_error,
    run_with_retries,
)
from bot.core.logs import Redactor
from bot.ports.github import GitHubError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "tierbot"
_T = TypeVar("_T")


class GitHubConfigError(ValueError):
    """The App's settings are missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class InstallationToken:
    value: str = ""
    expires_at: float = 0.0  # epoch seconds

    def __repr__(self) -> str:  # never print the token, even in a traceback's locals
        return f"InstallationToken(expires_at={self.expires_at})"


def _parse_expiry(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class GitHubApp:
    """A GitHub App: its JWT, and installation tokens cached per installation (thread-safe).

    The constructor does no I/O; the key is first used by the first request.
    """

    def __init__(
        self,
        app_id: int,
        private_key_pem: str | bytes,
        *,
        api_url: str = DEFAULT_API_URL,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        refresh_margin_s: float = 300.0,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.app_id = int(app_id)
        key = private_key_pem.decode() if isinstance(private_key_pem, bytes) else private_key_pem
        # The process's redactor (built at the edge) learns the key's lines and every token
        # minted here, so no log line, comment or ledger row can carry them.
        self.redact = redactor if redactor is not None else Redactor()
        self.redact.add(key)
        self._auth = Auth.AppAuth(self.app_id, key)
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self.sleep = sleep
        self.refresh_margin_s = refresh_margin_s
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.calls: Counter[str] = Counter()  # requests made with the App's JWT, by operation
        self._tokens: dict[int, InstallationToken] = {}
        self._installations: dict[str, int] = {}
        self._bot_login: str | None = None
        self._lock = threading.Lock()
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"GitHubApp(app_id={self.app_id}, api_url={self.api_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> GitHubApp:
        """Build from ``TIERBOT_APP_ID``, ``TIERBOT_PRIVATE_KEY`` or ``TIERBOT_PRIVATE_KEY_PATH``
        and ``TIERBOT_GITHUB_API_URL`` (default api.github.com; ``http(s)://host/api/v3`` for
        GitHub Enterprise Server and the emulator)."""
        raw_id = (env.get("TIERBOT_APP_ID") or "").strip()
        if not raw_id:
            raise GitHubConfigError("TIERBOT_APP_ID is not set: the GitHub App's numeric id")
        if not raw_id.isdigit():
            raise GitHubConfigError(
                f"TIERBOT_APP_ID must be the GitHub App's numeric id, not {raw_id[:40]!r}"
            )
        key = read_private_key(env)
        api_url = (env.get("TIERBOT_GITHUB_API_URL") or "").strip() or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise GitHubConfigError(
                f"TIERBOT_GITHUB_API_URL must be an http(s) URL, not {api_url[:80]!r}"
            )
        return cls(int(raw_id), key, api_url=api_url, **kwargs)

    # -- HTTP with the App's JWT --------------------------------------------------------------

    def _http(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = requests.Session()
                # No ~/.netrc: the only credential sent is the one set per request.
                self._session.trust_env = False
            return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _jwt(self) -> str:
        try:
            return str(self._auth.create_jwt())
        except (ValueError, TypeError, jwt.PyJWTError):
            # PyJWT/cryptography say why the key is unusable; their words may quote it.
            raise GitHubConfigError(
                f"the private key of GitHub App {self.app_id} cannot sign a JWT "
                "(it must be the App's unencrypted RSA key in PEM form)"
            ) from None

    def _jwt_request(
        self, operation: str, method: str, path: str, counter: Counter[str] | None = None
    ) -> Any:
        def attempt() -> Any:
            with self._lock:
                self.calls[operation] += 1
                if counter is not None:
                    counter[operation] += 1
            response = self._http().request(
                method,
                f"{self.api_url}{path}",
                headers={
                    "Authorization": f"Bearer {self._jwt()}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                    "User-Agent": USER_AGENT,
                },
                timeout=self.timeout,
                allow_redirects=False,
            )
            if response.status_code >= 300:
                raise HttpFailure(Failure.from_response(response))
            return response.json()

        try:
            return run_with_retries(
                operation,
                attempt,
                classify=classify_requests_error,
                policy=self.retry,
                sleep=self.sleep,
                clock=self.clock,
                redact=self.redact,
            )
        except GitHubError as exc:
            if exc.status == 401:
                raise GitHubError(
                    operation,
                    exc.status,
                    f"{exc.detail} (the App's JWT was refused: check TIERBOT_APP_ID and the "
                    "private key)",
                ) from None
            raise

    def installation_token(
        self, installation_id: int, *, counter: Counter[str] | None = None
    ) -> str:
        """A token for the installation, minted only when none is cached or it nears expiry.

        ``counter`` (a forge's ``calls``) gets ``installation_token`` += 1 per request made.
        """
        with self._lock:
            cached = self._tokens.get(installation_id)
        if cached is not None and cached.expires_at - self.refresh_margin_s > self.clock():
            return cached.value
        data = self._jwt_request(
            "installation_token",
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            counter,
        )
        token = InstallationToken(str(data["token"]), _parse_expiry(str(data["expires_at"])))
        self.redact.add_minted(token.value)
        with self._lock:
            self._tokens[installation_id] = token
        return token.value

    def invalidate(self, installation_id: int) -> None:
        """Forget the cached token (GitHub refused it): the next use mints a new one."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def installation_id(self, full_name: str) -> int:
        """The installation that covers ``owner/repo`` (``GET /repos/{o}/{r}/installation``)."""
        key = full_name.lower()
        with self._lock:
            known = self._installations.get(key)
        if known is not None:
            return known
        data = self._jwt_request("installation", "GET", f"/repos/{full_name}/installation")
        with self._lock:
            self._installations[key] = int(data["id"])
        return int(data["id"])

    def bot_login(self, *, counter: Counter[str] | None = None) -> str:
        """The App's bot account, ``<slug>[bot]`` (``GET /app``, once)."""
        with self._lock:
            if self._bot_login is not None:
                return self._bot_login
        data = self._jwt_request("app", "GET", "/app", counter)
        login = f"{data['slug']}[bot]"
        with self._lock:
            self._bot_login = login
        return login


def read_private_key(env: Mapping[str, str]) -> str:
    """The PEM from ``TIERBOT_PRIVATE_KEY`` (``\\n`` escapes allowed) or the file at
    ``TIERBOT_PRIVATE_KEY_PATH``. Errors name the variable, never the key."""
    inline = env.get("TIERBOT_PRIVATE_KEY") or ""
    path = (env.get("TIERBOT_PRIVATE_KEY_PATH") or "").strip()
    if inline.strip():
        source = "TIERBOT_PRIVATE_KEY"
        # Many secret stores flatten newlines to "\n"; a PEM has none of its own.
        key = inline.replace("\\n", "\n") if "\n" not in inline.strip() else inline
    elif path:
        source = f"TIERBOT_PRIVATE_KEY_PATH ({path})"
        try:
            key = Path(path).expanduser().read_text("utf-8")
        except OSError as exc:
            raise GitHubConfigError(
                f"{source} cannot be read: {exc.strerror or type(exc).__name__}"
            ) from None
        except UnicodeDecodeError:
            raise GitHubConfigError(f"{source} is not a text PEM file") from None
    else:
        raise GitHubConfigError(
            "no GitHub App private key: set TIERBOT_PRIVATE_KEY (the PEM text) or "
            "TIERBOT_PRIVATE_KEY_PATH (a file holding it)"
        )
    key = key.strip() + "\n"
    try:
        serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        # The library's words may quote the input; say only which variable is wrong.
        raise GitHubConfigError(f"{source} does not hold an unencrypted PEM private key") from None
    return key
