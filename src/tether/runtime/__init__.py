"""The runtime: the governed run loop."""

from tether.runtime.inputs import InputLimits
from tether.runtime.loop import PrincipalDirectory, Retriever, RunRequest, Runtime

__all__ = ["InputLimits", "PrincipalDirectory", "Retriever", "RunRequest", "Runtime"]
