"""The HTTP API and the server-rendered dashboard."""

from tether.server.app import create_app

__all__ = ["create_app"]
