"""Organisation defaults: ``_extends`` and the owner's ``.github`` repository, merged under the
repository's file; every error names the file it came from."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from bot.config_extends import load_extended

PATH = ".github/tierbot.yml"
ORG = "budget:\n  per_task_usd: 0.5\ncheck:\n  command: make test\n"


def fetcher(files: dict[tuple[str, str], str]):
    asked: list[tuple[str, str, str]] = []

    def fetch(repo: str, path: str, ref: str) -> str | None:
        asked.append((repo, path, ref))
        return files.get((repo, path))

    return fetch, asked


def test_a_repository_without_a_file_gets_its_owners_github_repository_file() -> None:
    fetch, asked = fetcher({("octo/.github", PATH): ORG})
    config = load_extended(fetch, "octo/shop", "main", PATH)
    assert config.budget.per_task_usd == 0.5 and config.check.command == "make test"
    assert asked == [("octo/shop", PATH, "main"), ("octo/.github", PATH, "")]


def test_without_any_file_the_packaged_defaults_apply() -> None:
    fetch, _ = fetcher({})
    assert load_extended(fetch, "octo/shop", "main", PATH) == load_config(None)


def test_a_repository_file_without_extends_stands_alone() -> None:
    fetch, asked = fetcher(
        {("octo/shop", PATH): "check:\n  command: tox\n", ("octo/.github", PATH): ORG}
    )
    config = load_extended(fetch, "octo/shop", "main", PATH)
    assert config.check.command == "tox" and config.budget.per_task_usd != 0.5
    assert len(asked) == 1


@pytest.mark.parametrize(
    ("target", "where"),
    [
        (".github", ("octo/.github", PATH)),
        ("settings", ("octo/settings", PATH)),
        ("acme/settings", ("acme/settings", PATH)),
        ("acme/settings:bots/tierbot.yml", ("acme/settings", "bots/tierbot.yml")),
    ],
)
def test_extends_merges_the_named_file_under_the_repositorys(
    target: str, where: tuple[str, str]
) -> None:
    repo_file = f"_extends: {target}\ncheck:\n  command: tox\n"
    fetch, _ = fetcher({("octo/shop", PATH): repo_file, where: ORG})
    config = load_extended(fetch, "octo/shop", "main", PATH)
    assert config.check.command == "tox"  # the repository's own key wins
    assert config.budget.per_task_usd == 0.5  # the rest comes from the extended file


def test_a_broken_org_file_is_named_in_the_error() -> None:
    fetch, _ = fetcher({("octo/.github", PATH): "budget:\n  per_task_usd: lots\n"})
    with pytest.raises(ConfigError) as caught:
        load_extended(fetch, "octo/shop", "main", PATH)
    assert caught.value.file == f"octo/.github:{PATH}"


@pytest.mark.parametrize(
    ("files", "file", "problem"),
    [
        ({("octo/shop", PATH): "_extends: nowhere\n"}, PATH, "does not exist"),
        ({("octo/shop", PATH): "_extends: ../x\n"}, PATH, "expected 'repo'"),
        ({("octo/shop", PATH): "_extends: [1]\n"}, PATH, "expected 'repo'"),
        (
            {("octo/shop", PATH): "_extends: .github\n", ("octo/.github", PATH): "_extends: x\n"},
            f"octo/.github:{PATH}",
            "one level",
        ),
        (
            {("octo/shop", PATH): "_extends: .github\n", ("octo/.github", PATH): "[1"},
            f"octo/.github:{PATH}",
            "YAML",
        ),
        (
            {("octo/shop", PATH): "_extends: .github\nbogus: 1\n", ("octo/.github", PATH): ORG},
            PATH,
            "unknown key",
        ),
    ],
)
def test_bad_extends_are_errors_naming_their_file(
    files: dict[tuple[str, str], str], file: str, problem: str
) -> None:
    fetch, _ = fetcher(files)
    with pytest.raises(ConfigError) as caught:
        load_extended(fetch, "octo/shop", "main", PATH)
    assert caught.value.file == file
    assert problem in str(caught.value)
