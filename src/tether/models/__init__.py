"""Model adapters: the seam between the runtime and any LLM."""

from tether.models.base import ModelAdapter, ModelRequest, extract_citations
from tether.models.factory import model_from_env
from tether.models.openai import OpenAIModel
from tether.models.scripted import ScriptedModel, ScriptTurn, load_script, parse_script

__all__ = [
    "ModelAdapter",
    "ModelRequest",
    "OpenAIModel",
    "ScriptTurn",
    "ScriptedModel",
    "extract_citations",
    "load_script",
    "model_from_env",
    "parse_script",
]
