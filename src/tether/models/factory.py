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
from collections.abc import Callable, Mapping
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
    return model_from_settings(
        {"adapter": scheme, "name": rest, "parameters": _parameters(scheme, env)}, env
    )


def model_from_settings(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ModelAdapter:
    """Build the adapter a release's model settings name (`model_settings`' form): its
    adapter, name and output parameters from `settings`, its key and timeout from `environ`.
    CONFIG_INVALID for settings this version cannot build."""
    env = os.environ if environ is None else environ
    adapter, name = str(settings.get("adapter") or ""), str(settings.get("name") or "")
    parameters = settings.get("parameters") or {}
    if not isinstance(parameters, Mapping) or not name:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"model settings {dict(settings)} name no model"
        )
    if adapter == "openai":
        temperature = parameters.get("temperature", OPENAI_TEMPERATURE)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"model temperature {temperature!r}")
        base_url = str(parameters.get("base_url") or DEFAULT_OPENAI_BASE_URL)
        configured = _parameters(adapter, env)["base_url"]
        if base_url != configured:  # this process's key goes only where this process sends it
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"the model settings name the endpoint {base_url!r}, and this process is "
                f"configured for {configured!r}: its API key is never sent to another endpoint",
            )
        return OpenAIModel(
            name,
            base_url=base_url,
            api_key=_first(env, "TETHER_OPENAI_API_KEY", "OPENAI_API_KEY"),
            timeout_s=_timeout(env),
            temperature=float(temperature),
        )
    if adapter == "scripted":
        return ScriptedModel(load_script(Path(name).expanduser()))
    raise TetherError(
        ErrorCode.CONFIG_INVALID, f"unknown model scheme {adapter!r} in {adapter}:{name}; {_FORMS}"
    )


def model_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a release records of the configured model: its adapter, its name and the parameters
    that shape its output (never a key). Without TETHER_MODEL each request names its model."""
    env = os.environ if environ is None else environ
    scheme, _, rest = env.get("TETHER_MODEL", "").strip().partition(":")
    adapter, name = scheme.strip().lower(), rest.strip()
    return {"adapter": adapter, "name": name, "parameters": _parameters(adapter, env)}


def _parameters(adapter: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The output-shaping parameters `env` gives a model of `adapter`."""
    if adapter != "openai":
        return {}
    base_url = _first(env, "TETHER_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    return {"base_url": base_url or DEFAULT_OPENAI_BASE_URL, "temperature": OPENAI_TEMPERATURE}


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


def release_model(
    settings: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Callable[[], ModelAdapter] | None:
    """What gives the model a release names (`settings`) when it is not the one this process
    configures: built once, now (CONFIG_INVALID if it cannot be), and shared by every run as
    the process's own model is (adapters are stateless across runs); None when the release
    names none (each request names its model) or the process's own."""
    if settings is None or not settings.get("adapter") or settings == model_settings(environ):
        return None
    built = model_from_settings(settings, dict(os.environ if environ is None else environ))
    return lambda: built
