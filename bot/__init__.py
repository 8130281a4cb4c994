"""tierbot: route coding tasks by complexity up the ladder template, intern, junior, senior."""

__version__ = "0.1.0"

# Where a repository keeps its tierbot configuration, relative to its root.
REPO_CONFIG_PATH = ".github/tierbot.yml"
