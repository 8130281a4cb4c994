"""Run the GitHub emulator by hand: ``python -m tests.support.github_emulator --port 8766``.

It prints the App id, where the App's private key was written, and the API and git URLs, then
serves until interrupted. Point tierbot at it with ``TIERBOT_GITHUB_API_URL``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from .emulator import DEFAULT_SECRET, GitHubEmulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.github_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--webhook-url", help="where deliveries go, e.g. the bot's /webhook")
    parser.add_argument("--webhook-secret", default=DEFAULT_SECRET)
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        help="OWNER/NAME to create (repeatable); default octo/demo",
    )
    parser.add_argument("--token-lifetime", type=float, default=3600.0)
    args = parser.parse_args(argv)

    emulator = GitHubEmulator(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        token_lifetime=args.token_lifetime,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        assert emulator.root is not None
        key_path = emulator.root / "app-private-key.pem"
        key_path.write_bytes(emulator.private_key_pem)
        print(f"API:         {emulator.api_url}")
        print(f"App id:      {emulator.app_id}")
        print(f"Private key: {key_path}")
        print(f"Webhooks:    {args.webhook_url or '(none)'} secret={args.webhook_secret!r}")
        for name in args.repo or ["octo/demo"]:
            emulator.create_repo(name)
            inst = emulator.installation_for(name)
            print(f"Repository:  {emulator.git_url(name)} (installation {inst.id})")
        print("Deliveries:  GET /_emulator/deliveries  -- Ctrl-C stops", flush=True)
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
