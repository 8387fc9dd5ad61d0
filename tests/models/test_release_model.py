"""The model a pinned release names: built once and shared by its runs (never once per run,
each with its own HTTP client), and never pointed at an endpoint this process is not
configured for, where this process's API key and its customers' messages would go."""

from __future__ import annotations

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.models.factory import model_from_settings, release_model

ENV = {"TETHER_OPENAI_API_KEY": "sk-test", "TETHER_OPENAI_BASE_URL": "https://llm.internal/v1"}


def _openai(base_url: str, name: str = "gpt-4o-mini") -> dict[str, object]:
    return {"adapter": "openai", "name": name, "parameters": {"base_url": base_url}}


def test_a_release_model_is_built_once_and_shared_by_its_runs() -> None:
    give = release_model(_openai("https://llm.internal/v1"), ENV)
    assert give is not None
    first, second = give(), give()
    assert first is second and first.name == "openai:gpt-4o-mini"


@pytest.mark.parametrize(
    "elsewhere",
    ["http://localhost:8080/v1", "https://llm.internal/v1/", "https://attacker.example/v1"],
)
def test_a_release_never_sends_the_key_to_another_endpoint(elsewhere: str) -> None:
    with pytest.raises(TetherError) as refused:
        release_model(_openai(elsewhere), ENV)
    assert refused.value.code is ErrorCode.CONFIG_INVALID
    assert "never sent to another endpoint" in refused.value.message


def test_the_configured_endpoint_is_the_default_when_none_is_set() -> None:
    env = {"TETHER_OPENAI_API_KEY": "sk-test"}
    assert (
        model_from_settings(_openai("https://api.openai.com/v1"), env).name == "openai:gpt-4o-mini"
    )
    with pytest.raises(TetherError):
        model_from_settings(_openai("https://llm.internal/v1"), env)
