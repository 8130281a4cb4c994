"""Shared fixtures, and the environment litellm must see before anything imports it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.support.model_server import ScriptedModelServer

# litellm fetches its model cost map from GitHub at import unless told to use its bundled copy;
# this machine (and CI) has no internet, so the fetch would only add a timeout to every run.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def model_server() -> Iterator[ScriptedModelServer]:
    """A started scripted OpenAI-compatible server on loopback; stopped after the test."""
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Commands run in-process (``serve``, ``worker``) configure the root logger for a process;
    the next test must not inherit it (litellm writes its INFO lines to stdout under it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
