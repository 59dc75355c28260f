"""The ``b2bclient`` command: ``demo``, ``report`` and ``validate``.

``b2bclient demo`` generates the synthetic client base into an embedded SQLite database and writes
a self-contained HTML report; ``b2bclient report SOURCE --as-of DATE`` writes the same report on a
client base of your own; ``b2bclient validate SOURCE`` lists every problem of a client base.
``python -m b2bclient`` is the same command. :func:`main` runs it from Python.
"""

from b2bclient.cli._main import main

__all__ = ["main"]
