"""Hand an installation token to one git process without a URL, a config file or argv holding it.

git asks the program named by ``GIT_ASKPASS`` for a user name and a password. Ours is a static
shell script that answers ``x-access-token`` (the user name GitHub expects with an App token)
and the value of an environment variable that only that git process is given. The script holds
no secret. Credential helpers are switched off for the same process, so git never stores the
token in a keychain or ``~/.git-credentials``; ``GIT_TERMINAL_PROMPT=0`` makes a refused token
fail at once instead of prompting on a terminal.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USERNAME = "x-access-token"
TOKEN_VARIABLE = "TIERBOT_GIT_TOKEN"
_SCRIPT = f"""#!/bin/sh
case "$1" in
  Username*|username*) echo {USERNAME} ;;
  *) printf '%s\\n' "${TOKEN_VARIABLE}" ;;
esac
"""


@contextmanager
def askpass_env(token: str) -> Iterator[dict[str, str]]:
    """Environment additions for one git command authenticated with ``token``."""
    with tempfile.TemporaryDirectory(prefix="tierbot-askpass-") as tmp:
        script = Path(tmp) / "askpass"
        script.write_text(_SCRIPT, "utf-8")
        script.chmod(0o700)
        yield {
            "GIT_ASKPASS": str(script),
            "GIT_TERMINAL_PROMPT": "0",
            TOKEN_VARIABLE: token,
            # An empty credential.helper clears the configured list: nothing stores the token.
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
            # Keep Authorization headers out of GIT_TRACE / GIT_CURL_VERBOSE output if enabled.
            "GIT_TRACE_REDACT": "1",
        }
