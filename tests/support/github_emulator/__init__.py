"""A GitHub stand-in on loopback for tierbot's tests: REST, App auth, git over HTTP, CI, webhooks.

Start one with the ``github_emulator`` fixture (``fixtures.py``, a pytest plugin) or by hand
with ``python -m tests.support.github_emulator --port 8766``.
"""

from .emulator import DEFAULT_SECRET, GitHubEmulator
from .faults import rate_limited, secondary_rate_limited, server_error, slow
from .webhooks import Delivery, signature_256

__all__ = [
    "DEFAULT_SECRET",
    "Delivery",
    "GitHubEmulator",
    "rate_limited",
    "secondary_rate_limited",
    "server_error",
    "signature_256",
    "slow",
]
