"""The HTTP API and the server-rendered dashboard."""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.server.app import create_app

__all__ = ["create_app"]

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "create_app": "tether.server.app",
    },
)
