"""Model adapters: the seam between the runtime and any LLM."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
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

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "ModelAdapter": "tether.models.base",
        "ModelRequest": "tether.models.base",
        "OpenAIModel": "tether.models.openai",
        "ScriptTurn": "tether.models.scripted",
        "ScriptedModel": "tether.models.scripted",
        "extract_citations": "tether.models.base",
        "load_script": "tether.models.scripted",
        "model_from_env": "tether.models.factory",
        "parse_script": "tether.models.scripted",
    },
)
