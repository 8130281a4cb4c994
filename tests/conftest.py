"""Shared fixtures, and the environment litellm must see before anything imports it."""

from __future__ import annotations

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
