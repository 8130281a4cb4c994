"""tierbot: route coding tasks by complexity up the ladder template, intern, junior, senior."""

__version__ = "0.1.0"
