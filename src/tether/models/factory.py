"""Pick the model adapter from a spec string or the environment (`TETHER_MODEL`).

openai:<model>     any OpenAI-compatible chat-completions endpoint
                   TETHER_OPENAI_BASE_URL or OPENAI_BASE_URL (default https://api.openai.com/v1)
                   TETHER_OPENAI_API_KEY or OPENAI_API_KEY (optional: local servers need none)
                   TETHER_MODEL_TIMEOUT seconds per request (default 60)
scripted:<path>    deterministic turns from a YAML or JSON script
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.models.base import ModelAdapter
from tether.models.openai import OpenAIModel
from tether.models.scripted import ScriptedModel, load_script

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0
OPENAI_TEMPERATURE = 0.0  # deterministic as far as the endpoint allows

_FORMS = (
    "set TETHER_MODEL to 'openai:<model>' for an OpenAI-compatible endpoint "
    "(base URL from TETHER_OPENAI_BASE_URL, key from TETHER_OPENAI_API_KEY) "
    "or to 'scripted:<path>' for turns from a YAML/JSON script"
)


def model_from_env(
    spec: str | None = None, environ: Mapping[str, str] | None = None
) -> ModelAdapter:
    """Build the adapter named by `spec`, or by TETHER_MODEL when `spec` is None."""
    env = os.environ if environ is None else environ
    text = (env.get("TETHER_MODEL", "") if spec is None else spec).strip()
    if not text:
        raise TetherError(ErrorCode.MODEL_NOT_CONFIGURED, f"no model is configured: {_FORMS}")
    scheme, sep, rest = text.partition(":")
    scheme, rest = scheme.strip().lower(), rest.strip()
    if not sep or not rest:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"model spec {text!r} is not of the form scheme:value; {_FORMS}",
        )
    if scheme == "openai":
        return OpenAIModel(
            rest,
            base_url=_first(env, "TETHER_OPENAI_BASE_URL", "OPENAI_BASE_URL")
            or DEFAULT_OPENAI_BASE_URL,
            api_key=_first(env, "TETHER_OPENAI_API_KEY", "OPENAI_API_KEY"),
            timeout_s=_timeout(env),
            temperature=OPENAI_TEMPERATURE,
        )
    if scheme == "scripted":
        return ScriptedModel(load_script(Path(rest).expanduser()))
    raise TetherError(
        ErrorCode.CONFIG_INVALID, f"unknown model scheme {scheme!r} in {text!r}; {_FORMS}"
    )


def model_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a release records of the configured model: its adapter, its name and the parameters
    that shape its output (never a key). Without TETHER_MODEL each request names its model."""
    env = os.environ if environ is None else environ
    scheme, _, rest = env.get("TETHER_MODEL", "").strip().partition(":")
    adapter, name = scheme.strip().lower(), rest.strip()
    parameters: dict[str, Any] = {}
    if adapter == "openai":
        base_url = _first(env, "TETHER_OPENAI_BASE_URL", "OPENAI_BASE_URL")
        parameters = {
            "base_url": base_url or DEFAULT_OPENAI_BASE_URL,
            "temperature": OPENAI_TEMPERATURE,
        }
    return {"adapter": adapter, "name": name, "parameters": parameters}


def _first(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` set to a non-blank value (a blank variable counts as unset)."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _timeout(env: Mapping[str, str]) -> float:
    raw = _first(env, "TETHER_MODEL_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"TETHER_MODEL_TIMEOUT must be a positive number of seconds, got {raw!r}",
        )
    return value
