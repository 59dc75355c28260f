"""The ``b2bclient`` command: ``b2bclient demo`` and ``b2bclient report``."""

from b2bclient.cli._main import main

__all__ = ["main"]
