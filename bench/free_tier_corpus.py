"""The free tier on real PyPI projects: `tierbot run` tests tasks capped at the template tier.

Each project is downloaded once as an sdist at a pinned version (`pip download --no-deps
--no-binary :all:`) into a cache outside the repository, unpacked into a temporary directory,
made a git repository, and given a `.github/tierbot.yml` that caps `tests` tasks at the
template tier. One `tests` task per chosen module goes through `tierbot run --json`; the check
is this script's `--run-new-tests`, which runs only the tests the task added. Per case it prints
the ending, the generated tests passed/failed/skipped when run alone, files written outside the
repository's test layout, and generated tests for names the original suite already covered.

Targets: 0 generated tests failing, 0 files outside the layout, duplicates <= 5 % of the
generated tests, and every case ends done or with a stated reason.

Usage: python bench/free_tier_corpus.py [--cache DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_measure import (  # noqa: E402
    covered_before,
    git,
    is_test_file,
    new_tests,
    show,
    test_layout,
    tested_name,
)

# (pip name, pinned version, modules to write tests for)
CORPUS: list[tuple[str, str, list[str]]] = [
    ("python-slugify", "9.2.0", ["slugify/slugify.py", "slugify/special.py"]),
    (
        "toolz",
        "1.2.0",
        ["toolz/functoolz.py", "toolz/itertoolz.py", "toolz/compatibility.py", "toolz/utils.py"],
    ),
    ("more-itertools", "11.2.1", ["more_itertools/recipes.py", "more_itertools/more.py"]),
    (
        "humanize",
        "4.17.0",
        ["src/humanize/i18n.py", "src/humanize/filesize.py", "src/humanize/number.py"],
    ),
    ("six", "1.17.0", ["six.py"]),
    ("inflection", "0.5.1", ["inflection/__init__.py"]),
    ("tabulate", "0.10.0", ["tabulate/__init__.py"]),
    (
        "python-dateutil",
        "4.0.0",
        ["src/dateutil/easter.py", "src/dateutil/utils.py", "src/dateutil/tz/tz.py"],
    ),
    ("text-unidecode", "1.3", ["src/text_unidecode/__init__.py"]),
    ("idna", "3.20", ["idna/codec.py", "idna/intranges.py", "idna/core.py"]),
    ("colorama", "0.4.6", ["colorama/ansi.py", "colorama/initialise.py", "colorama/win32.py"]),
    ("iso8601", "2.1.0", ["iso8601/iso8601.py"]),
    ("boltons", "26.2.0", ["boltons/strutils.py", "boltons/mathutils.py", "boltons/iterutils.py"]),
    ("funcy", "2.1", ["funcy/strings.py", "funcy/colls.py"]),
    ("sortedcontainers", "2.4.0", ["sortedcontainers/sortedlist.py"]),
    ("cachetools", "8.0.2", ["src/cachetools/keys.py", "src/cachetools/func.py"]),
]
CONFIG = """\
task_types:
  tests: {{start: template, ceiling: template, output: commit, attempts: 1}}
check:
  command: "{python} {script} --run-new-tests main --roots {repo}"
  timeout: 300
"""
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?)")


def sdist(cache: Path, name: str, version: str) -> Path:
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[-_.]+", "[-_.]", name)
    pattern = re.compile(rf"{stem}-{re.escape(version)}\.tar\.gz$", re.I)
    found = [p for p in folder.iterdir() if pattern.match(p.name)]
    if not found:
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, f"{name}=={version}", "-d", str(folder)], check=True)
        found = [p for p in folder.iterdir() if pattern.match(p.name)]
    return found[0]


def test_python(cache: Path) -> str:
    """A virtualenv with pytest and what the corpus's test modules import."""
    venv = cache / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = ["pytest", "hypothesis", "freezegun", "text-unidecode", "wcwidth", "tzdata"]
        packages.append("whatever")  # funcy's tests import it
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return str(python)


def make_project(archive: Path, into: Path, python: str) -> tuple[Path, str]:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (repo,) = [p for p in into.iterdir() if p.is_dir()]
    git(repo, "init", "-q", "-b", "main")
    config = repo / ".github" / "tierbot.yml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(CONFIG.format(python=python, script=Path(__file__).resolve(), repo=repo))
    git(repo, "add", "-A")
    git(repo, "add", "-f", str(config))
    git(repo, "commit", "-q", "-m", "sdist, and a config capping tests tasks at the template tier")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def import_roots(repo: Path) -> str:
    roots = [str(repo / "src")] if (repo / "src").is_dir() else []
    return os.pathsep.join([*roots, str(repo)])


def run_new_tests(
    base: str, checkout: Path, python: str | None = None
) -> tuple[dict[str, int], str]:
    """Run, in the current worktree, only the tests added since ``base`` (the check).

    The package is imported from ``checkout``, the project as unpacked (as if installed in the
    environment), since a worktree lacks git-ignored generated files such as ``_version.py``.
    """
    repo = Path.cwd()
    ids = [f"{p}::{t}" for p, tests in sorted(new_tests(repo, base, "HEAD").items()) for t in tests]
    if not ids:
        return {}, "no new tests"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_ADDOPTS"}}
    env["PYTHONPATH"] = import_roots(checkout)
    command = [python or sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", *ids]
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    counts = {
        kind.rstrip("s") if kind != "passed" else kind: int(n)
        for n, kind in _COUNT.findall(summary)
    }
    if done.returncode not in (0, 5) and not counts.get("failed") and not counts.get("error"):
        counts["error"] = len(ids)  # collection failed: nothing ran
    return counts, done.stdout + done.stderr


def _detail(result: dict[str, object]) -> str:
    """The last attempt's detail: a decline's or refusal's reason."""
    attempts = result.get("attempts") or []
    assert isinstance(attempts, list)
    last = attempts[-1] if attempts else {}
    if result.get("status") == "done" or not last.get("detail"):
        return ""
    if str(last["detail"]) in str(result.get("reason", "")):
        return ""  # the reason already says it (a nothing-to-do ending)
    return f" ({last['detail']})"


def run_case(repo: Path, base: str, module: str, python: str) -> dict[str, object]:
    before = set(git(repo, "branch", "--format=%(refname:short)").split())
    task = f"Add tests for {module}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--json",
            "--type",
            "tests",
            "--repo",
            str(repo),
            task,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"module": module, "ending": f"crash: {done.stderr.strip()[-200:]}"}
    case: dict[str, object] = {
        "module": module,
        "ending": f"{result['status']}: {result['reason']}{_detail(result)}",
    }
    branches = set(git(repo, "branch", "--format=%(refname:short)").split()) - before
    if not branches:
        return case
    (branch,) = branches
    head = git(repo, "rev-parse", branch).strip()
    layout = test_layout(git(repo, "ls-tree", "-r", "--name-only", base).split())
    written = git(repo, "diff", "--name-only", base, head).split()
    outside = [
        p
        for p in written
        if (p.rsplit("/", 1)[0] if "/" in p else "") not in layout
        or (p.rsplit("/", 1)[-1] == "conftest.py" and show(repo, base, p) is None)
    ]
    case["outside"] = outside
    added = new_tests(repo, base, head)
    covered = covered_before(repo, base, module)
    duplicates = 0
    for path, tests in added.items():
        text = show(repo, head, path) or ""
        duplicates += sum(1 for t in tests if "::" not in t and tested_name(text, t) in covered)
    case["generated"] = sum(len(t) for t in added.values())
    case["duplicates"] = duplicates
    counts, output = run_alone(repo, base, head, python)
    case["counts"] = counts
    if counts.get("failed") or counts.get("error"):
        case["log"] = output[-3000:]
    return case


def run_alone(repo: Path, base: str, head: str, python: str) -> tuple[dict[str, int], str]:
    """The new tests of ``head``, run by themselves in a worktree of it."""
    worktree = repo / ".bench-wt"
    git(repo, "worktree", "add", "-q", "--detach", str(worktree), head)
    cwd = Path.cwd()
    try:
        os.chdir(worktree)
        return run_new_tests(base, repo, python)
    finally:
        os.chdir(cwd)
        git(repo, "worktree", "remove", "--force", str(worktree))


def all_modules(repo: Path) -> list[str]:
    """Every module of the project's packages that is neither test code nor private."""
    files = git(repo, "ls-files").split()
    packages = {p.rsplit("/", 1)[0] for p in files if p.endswith("/__init__.py")}
    found = []
    for path in files:
        parts = path.removesuffix(".py").split("/")
        if (
            path.endswith(".py")
            and not is_test_file(path)
            and (len(parts) == 1 or path.rsplit("/", 1)[0] in packages)
            and not any(part.startswith("_") and part != "__init__" for part in parts)
            and parts[-1] not in {"setup", "conftest", "noxfile", "__main__", "conf"}
        ):
            found.append(path)
    return found


def render(cases: list[dict[str, object]]) -> None:
    header = f"{'case':44} {'pass':>4} {'fail':>4} {'skip':>4} {'dup':>4} {'out':>3}  ending"
    print(header)
    totals = {"passed": 0, "failed": 0, "skipped": 0, "generated": 0, "duplicates": 0, "outside": 0}
    for case in cases:
        counts = case.get("counts") or {}
        assert isinstance(counts, dict)
        failed = counts.get("failed", 0) + counts.get("error", 0)
        outside = case.get("outside") or []
        assert isinstance(outside, list)
        ending = str(case["ending"])
        print(
            f"{case['project'] + ' ' + str(case['module']):44.44} {counts.get('passed', 0):4} "
            f"{failed:4} {counts.get('skipped', 0):4} {case.get('duplicates', 0):4} "
            f"{len(outside):3}  {ending}"
        )
        totals["passed"] += counts.get("passed", 0)
        totals["failed"] += failed
        totals["skipped"] += counts.get("skipped", 0)
        totals["generated"] += int(str(case.get("generated", 0)))
        totals["duplicates"] += int(str(case.get("duplicates", 0)))
        totals["outside"] += len(outside)
    share = totals["duplicates"] / totals["generated"] if totals["generated"] else 0.0
    ended = all(
        str(c["ending"]).startswith(("done", "needs-human: ", "nothing-to-do: ")) for c in cases
    )
    print(
        f"\n{len(cases)} cases, {totals['generated']} generated tests: {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['skipped']} skipped; {totals['outside']} files "
        f"outside the layout; duplicates {totals['duplicates']} ({share:.1%})"
    )
    print(
        "targets: 0 failing, 0 outside, duplicates <= 5 %, every case done or a stated reason: "
        + (
            "met"
            if not totals["failed"] and not totals["outside"] and share <= 0.05 and ended
            else "NOT met"
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tierbot-bench")
    parser.add_argument("--only", nargs="*", default=None, help="pip names to run")
    parser.add_argument("--run-new-tests", metavar="BASE", help=argparse.SUPPRESS)
    parser.add_argument("--roots", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="print the logs of failures")
    parser.add_argument(
        "--all-modules",
        action="store_true",
        help="a task for every public module, not the pinned few",
    )
    args = parser.parse_args(argv)
    if args.run_new_tests:
        counts, output = run_new_tests(args.run_new_tests, args.roots or Path.cwd())
        print(output)
        return 1 if counts.get("failed") or counts.get("error") else 0
    python = test_python(args.cache)
    cases: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="tierbot-corpus-") as tmp:
        for name, version, modules in CORPUS:
            if args.only and name not in args.only:
                continue
            repo, base = make_project(sdist(args.cache, name, version), Path(tmp) / name, python)
            for module in all_modules(repo) if args.all_modules else modules:
                case = run_case(repo, base, module, python)
                case["project"] = name
                cases.append(case)
                if args.verbose and case.get("log"):
                    print(f"--- {name} {module}\n{case['log']}", file=sys.stderr)
    render(cases)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
