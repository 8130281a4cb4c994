"""tierbot: route coding tasks by complexity up the ladder template, intern, junior, senior."""

__version__ = "0.1.0"

# Where a repository keeps its tierbot configuration, relative to its root.
REPO_CONFIG_PATH = ".github/tierbot.yml"
# Set on `tierbot run`'s own commits: tierbot's pre-commit hooks let them through (their work
# is the task's to do, not the hook's), while every other hook of the repository still runs.
RUN_COMMIT_ENV = "TIERBOT_RUN_COMMIT"
