"""The ``connectdesk`` command: dev, api, worker, migrate, seed."""

from cli.main import app

__all__ = ["app"]
