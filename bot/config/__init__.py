"""Repository configuration: packaged defaults merged with ``.github/tierbot.yml``, validated.

The values live in ``bot.spec``; they are re-exported here for callers that load and use a
configuration in one place.
"""

from bot import REPO_CONFIG_PATH
from bot.config.load import load_config, load_repo_config, merge, packaged_defaults
from bot.config.validate import TOP_KEYS, validate
from bot.spec import (
    DEFAULT_REVIEW_SKIP,
    DEFAULT_STUB_MARKER,
    DEFAULTS_NAME,
    FORMATTERS,
    HOOK_NAMES,
    SEVERITIES,
    BudgetSpec,
    CheckSpec,
    ConfigError,
    DebugSpec,
    HooksSpec,
    PathPolicy,
    PlanSpec,
    Price,
    RepoConfig,
    ReviewSpec,
    RoutingSpec,
    TaskTypeSpec,
    TierSpec,
)

__all__ = [
    "DEFAULTS_NAME",
    "DEFAULT_REVIEW_SKIP",
    "DEFAULT_STUB_MARKER",
    "FORMATTERS",
    "HOOK_NAMES",
    "REPO_CONFIG_PATH",
    "SEVERITIES",
    "TOP_KEYS",
    "BudgetSpec",
    "CheckSpec",
    "ConfigError",
    "DebugSpec",
    "HooksSpec",
    "PathPolicy",
    "PlanSpec",
    "Price",
    "RepoConfig",
    "ReviewSpec",
    "RoutingSpec",
    "TaskTypeSpec",
    "TierSpec",
    "load_config",
    "load_repo_config",
    "merge",
    "packaged_defaults",
    "validate",
]
