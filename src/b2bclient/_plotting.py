"""Lazy access to matplotlib, the optional dependency of every plot (the ``plot`` extra).

matplotlib is imported only when a plot is drawn, so importing :mod:`b2bclient.churn` or
:mod:`b2bclient.btyd` never imports it.
"""

from __future__ import annotations

from typing import Any

from b2bclient._optional import import_optional

__all__ = ["axes", "pyplot"]


def pyplot() -> Any:
    """Return :mod:`matplotlib.pyplot`, imported on first use.

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed; the message names the ``plot`` extra.
    """
    return import_optional("matplotlib.pyplot", extra="plot", purpose="Plotting")


def axes(ax: Any) -> Any:
    """Return `ax`, or the axes of a new figure when `ax` is None.

    Raises
    ------
    MissingDependencyError
        If a new figure is needed and matplotlib is not installed.
    """
    if ax is not None:
        return ax
    _, new_ax = pyplot().subplots()
    return new_ax
