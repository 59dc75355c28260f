"""Whitespace by segment (matplotlib, extra ``plot``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes

__all__ = ["plot_whitespace"]


def plot_whitespace(model: Any, segments: pd.Series, *, ax: Any = None) -> Any:
    """Draw, per segment, the spend and the whitespace of a fitted WalletModel as stacked bars.

    Parameters
    ----------
    model : WalletModel
        Fitted.
    segments : pandas.Series
        Segment labels (size bands, industries, a segmentation) indexed by ``organisation_id``;
        organisations without a label are grouped as ``"unknown"``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.potential import WalletModel
    >>> base = make_client_base(150, seed=2)
    >>> m = WalletModel().fit(base, as_of="2025-01-01")
    >>> bands = base.organisations.set_index("organisation_id")["size_band"]
    >>> plot_whitespace(m, bands).get_ylabel()
    'yearly revenue'
    """
    if not hasattr(model, "whitespace_"):
        raise InvalidParameterError("plot_whitespace needs a fitted WalletModel.")
    if not isinstance(segments, pd.Series):
        raise InvalidParameterError(
            "The 'segments' parameter of plot_whitespace must be a Series of labels indexed by "
            f"organisation_id. Got {type(segments).__name__}."
        )
    label = segments.astype(object).reindex(model.whitespace_.index).fillna("unknown")
    spend = model.spend_.groupby(label.to_numpy()).sum()
    space = model.whitespace_.groupby(label.to_numpy()).sum()
    order = space.sort_values(ascending=False).index
    ax = axes(ax)
    names = [str(s) for s in order]
    ax.bar(names, spend.reindex(order), label="spend (last year)")
    ax.bar(names, space.reindex(order), bottom=spend.reindex(order), label="whitespace")
    ax.set_ylabel("yearly revenue")
    ax.set_title("Spend and whitespace by segment")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(loc="best")
    return ax
