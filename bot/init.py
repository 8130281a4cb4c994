"""``tierbot init``'s command line. The flow (``bot/manifest_flow.py``) loads only when the
command runs, so ``tierbot --help`` does not pay for its imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command("init")
@click.option("--webhook-url", required=True, help="Where GitHub delivers: https://HOST/webhook.")
@click.option("--name", default="tierbot", show_default=True, help="The App's name on GitHub.")
@click.option("--org", help="Create the App under this organisation instead of your account.")
@click.option("--homepage", help="The App's homepage (default: the webhook URL's host).")
@click.option(
    "--github-url",
    help="GitHub's web address: https://github.com, or https://HOST for Enterprise Server.",
)
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Local page port; 0: free.")
@click.option(
    "--dir",
    "directory",
    default=Path(".tierbot"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where app.env and private-key.pem are written.",
)
@click.option("--force", is_flag=True, help="Replace credentials already in --dir.")
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, help="Seconds to wait.")
@click.option("--no-browser", is_flag=True, help="Print the page's address; open no browser.")
def init(no_browser: bool, **kwargs: Any) -> None:
    """Create tierbot's GitHub App from a manifest and write what `tierbot serve` needs."""
    import webbrowser

    from bot.manifest_flow import EXIT_DONE, InitOptions, run_init

    given = {name: value for name, value in kwargs.items() if value is not None}
    outcome = run_init(
        InitOptions(**given),
        echo=click.echo,
        open_browser=None if no_browser else webbrowser.open,
    )
    for line in outcome.lines:
        failed = outcome.code != EXIT_DONE
        click.echo(f"tierbot: error: {line}" if failed else line, err=failed)
    raise SystemExit(outcome.code)
