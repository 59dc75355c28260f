"""Imports of optional dependencies: on first use, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from b2bclient._exceptions import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise an error naming the extra that provides it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"matplotlib.pyplot"``.
    extra : str
        The b2bclient extra that installs it, e.g. ``"plot"``.
    purpose : str
        What needs it, to start the message, e.g. ``"Plotting"``.

    Returns
    -------
    module

    Raises
    ------
    MissingDependencyError
        If the import fails.

    Examples
    --------
    >>> import_optional("json", extra="none", purpose="Reading").__name__
    'json'
    >>> import_optional("no_such_module", extra="plot", purpose="Plotting")
    Traceback (most recent call last):
    ...
    b2bclient._exceptions.MissingDependencyError: Plotting needs no_such_module, which is not installed: pip install b2bclient[plot]
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: "
            f"pip install b2bclient[{extra}]"
        ) from exc
