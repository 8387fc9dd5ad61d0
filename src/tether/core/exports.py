"""A package's public names, each imported from its module when first used.

A package that re-exports its modules' names in `__init__` makes importing any one of its
modules import them all: `from tether.sdk.loader import resolve_domain` loaded the runtime,
the verifier and the approvals with it. A package lists its names instead:

    __getattr__ = lazy_exports(__name__, {"Desk": "tether.sdk.desk", ...})

and imports them under `TYPE_CHECKING` for type checkers; `from tether.sdk import Desk`
works as before, and loads `tether.sdk.desk` at that moment.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package` for `names` (public name -> module holding it):
    the name's value, kept in the package once loaded; AttributeError for any other name."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
