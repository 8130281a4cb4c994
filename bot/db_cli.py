"""``tierbot db``: migrate the ledger and queue schema, or say which revision it is at."""

from __future__ import annotations

from pathlib import Path

import click


def _url(env_file: Path | None) -> str:
    import os

    from bot.access import AccessError
    from bot.settings import EnvFileError, Settings, environ_with_file

    try:
        environ, _ = environ_with_file(os.environ, env_file)
        return Settings.from_env(environ).server_db_url()
    except (EnvFileError, AccessError) as exc:
        raise click.ClickException(str(exc)) from None


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


_env_file = click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read TIERBOT_* settings (TIERBOT_DB_URL) from this file.",
)


@click.group()
def db() -> None:
    """The database schema (TIERBOT_DB_URL): migrations of the ledger and the queue."""


@db.command()
@_env_file
def upgrade(env_file: Path | None) -> None:
    """Migrate the database to this tierbot's schema; every row is kept."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import migrations

    url = _url(env_file)
    try:
        before, after = migrations.upgrade(url)
    except SQLAlchemyError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"cannot upgrade {_where(url)}: {first}") from None
    if before == after:
        click.echo(f"{_where(url)}: already at revision {after}")
    else:
        click.echo(f"{_where(url)}: upgraded from {before or 'an empty database'} to {after}")


@db.command()
@_env_file
def current(env_file: Path | None) -> None:
    """Print the schema revision of the database and the one this tierbot needs."""
    from bot import migrations

    url = _url(env_file)
    found = migrations.state(url)
    now = found.current or "empty"
    verdict = "up to date" if found.usable else f"behind: run `{migrations.UPGRADE_COMMAND}`"
    click.echo(f"{_where(url)}: revision {now}, this tierbot needs {found.head} ({verdict})")
    if not found.usable:
        raise SystemExit(1)


def require_schema(url: str) -> None:
    """Stop ``serve`` or ``worker`` before it starts on a schema older than this tierbot."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import migrations

    try:
        migrations.require_current(url)
    except migrations.SchemaBehind as exc:
        raise click.ClickException(f"{_where(url)}: {exc}") from None
    except SQLAlchemyError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"cannot open {_where(url)}: {first}") from None


def require_tables(url: str) -> None:
    """Stop a command that only reads (``tierbot jobs``) on a database tierbot has not made:
    a mistyped TIERBOT_DB_URL would otherwise show an empty queue (and make a SQLite file)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot import migrations

    parsed = make_url(url)
    file = parsed.database or ""
    sqlite = parsed.get_backend_name() == "sqlite" and file not in ("", ":memory:")
    if sqlite and not Path(file).is_file():
        raise click.ClickException(f"cannot open {_where(url)}: there is no such file")
    try:
        found = migrations.state(url)
    except SQLAlchemyError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"cannot open {_where(url)}: {first}") from None
    if found.current is None:
        raise click.ClickException(
            f"{_where(url)}: no tierbot tables in this database (is TIERBOT_DB_URL right?)"
        )
