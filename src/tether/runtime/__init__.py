"""The runtime: the governed run loop."""

from tether.runtime.inputs import InputLimits
from tether.runtime.loop import Runtime
from tether.runtime.seams import PrincipalDirectory, Retriever, RunRequest

__all__ = ["InputLimits", "PrincipalDirectory", "Retriever", "RunRequest", "Runtime"]
