"""The runtime: the governed run loop."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.runtime.inputs import InputLimits
    from tether.runtime.loop import Runtime
    from tether.runtime.seams import PrincipalDirectory, Retriever, RunRequest

__all__ = ["InputLimits", "PrincipalDirectory", "Retriever", "RunRequest", "Runtime"]

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "InputLimits": "tether.runtime.inputs",
        "PrincipalDirectory": "tether.runtime.seams",
        "Retriever": "tether.runtime.seams",
        "RunRequest": "tether.runtime.seams",
        "Runtime": "tether.runtime.loop",
    },
)
