"""Plots of a segmentation: sizes, profile heatmap, 2-D embedding (the ``plot`` extra)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes, pyplot

__all__ = ["plot_segment_embedding", "plot_segment_profiles", "plot_segment_sizes"]


def _check(segmenter: Any, owner: str) -> Any:
    from b2bclient.segment._segmenter import Segmenter

    if not isinstance(segmenter, Segmenter):
        raise InvalidParameterError(
            f"The 'segmenter' parameter of {owner} must be a fitted Segmenter. Got "
            f"{type(segmenter).__name__} instead."
        )
    segmenter._check_fitted()
    return segmenter


def plot_segment_sizes(segmenter: Any, X: Any, *, ax: Any = None) -> Any:
    """Draw each segment's share of the organisations and of the revenue, as horizontal bars.

    Parameters
    ----------
    segmenter : Segmenter
        A fitted Segmenter.
    X : pandas.DataFrame
        The features of the organisations (the same columns as in fit).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed (``pip install b2bclient[plot]``).
    """
    seg = _check(segmenter, "plot_segment_sizes")
    table = seg.profile(X)
    ax = axes(ax)
    y = np.arange(len(table))
    height = 0.4
    ax.barh(y - height / 2, table["share"], height, label="organisations")
    if "revenue_share" in table.columns:
        ax.barh(y + height / 2, table["revenue_share"], height, label="revenue")
    ax.set_yticks(y)
    ax.set_yticklabels(
        [f"{s}: {label}" for s, label in zip(table.index, table["label"], strict=True)]
    )
    ax.invert_yaxis()
    ax.set_xlabel("share")
    ax.legend(loc="lower right")
    ax.set_title("Segment sizes")
    return ax


def plot_segment_profiles(segmenter: Any, X: Any, *, n_features: int = 12, ax: Any = None) -> Any:
    """Draw a heatmap of standardised differences: the features that set segments apart.

    Rows are the `n_features` features with the largest absolute difference in any segment,
    columns the segments; red is above the other organisations, blue below (in standard
    deviations, money and counts on a log scale).

    Parameters
    ----------
    segmenter : Segmenter
        A fitted Segmenter.
    X : pandas.DataFrame
        The features of the organisations (the same columns as in fit).
    n_features : int, default=12
        Number of features shown.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    seg = _check(segmenter, "plot_segment_profiles")
    if (
        isinstance(n_features, bool)
        or not isinstance(n_features, (int, np.integer))
        or n_features < 1
    ):
        raise InvalidParameterError(
            f"The 'n_features' parameter of plot_segment_profiles must be a positive integer. "
            f"Got {n_features!r} instead."
        )
    from b2bclient.segment._profile import plain_names

    diff: pd.DataFrame = seg.differences(X)
    chosen = diff.abs().max(axis=1).sort_values(ascending=False).index[: int(n_features)]
    shown = diff.loc[chosen]
    names = plain_names(list(shown.index))
    ax = axes(ax)
    limit = max(1.0, float(np.abs(shown.to_numpy()).max()))
    image = ax.imshow(shown.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(np.arange(shown.shape[1]))
    ax.set_xticklabels([str(c) for c in shown.columns])
    ax.set_yticks(np.arange(shown.shape[0]))
    ax.set_yticklabels([_short(names[c]) for c in shown.index])
    ax.set_xlabel("segment")
    ax.figure.colorbar(image, ax=ax, label="standardised difference")
    ax.set_title("What sets each segment apart")
    return ax


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_segment_embedding(
    segmenter: Any, X: Any, *, sample: int = 5_000, random_state: int = 0, ax: Any = None
) -> Any:
    """Draw the organisations in two dimensions (principal components), coloured by segment.

    The coordinates are the first two principal components of the matrix the Segmenter clusters
    (the shrunk profile, or the preprocessed features).

    Parameters
    ----------
    segmenter : Segmenter
        A fitted Segmenter.
    X : pandas.DataFrame or array-like
        The features of the organisations (the same columns as in fit).
    sample : int, default=5000
        At most this many organisations are drawn (a random sample), to keep the plot readable.
    random_state : int, default=0
        Seed of the sample.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    seg = _check(segmenter, "plot_segment_embedding")
    from sklearn.decomposition import PCA

    design = seg._design(X, "plot_segment_embedding")
    labels = seg.predict(X)
    data = design.shrunk
    rng = np.random.default_rng(random_state)
    idx = np.arange(data.shape[0])
    if data.shape[0] > sample:
        idx = np.sort(rng.choice(data.shape[0], size=sample, replace=False))
    n_components = min(2, data.shape[1])
    xy = PCA(n_components=n_components, random_state=random_state).fit_transform(data[idx])
    if n_components == 1:
        xy = np.column_stack([xy[:, 0], np.zeros(len(idx))])
    ax = axes(ax)
    cmap = pyplot().get_cmap("tab10")
    for s in np.unique(labels[idx]):
        members = labels[idx] == s
        ax.scatter(
            xy[members, 0],
            xy[members, 1],
            s=6,
            alpha=0.6,
            color="lightgrey" if s < 0 else cmap(int(s) % 10),
            label="unassigned" if s < 0 else f"segment {s}",
        )
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.legend(markerscale=3, fontsize="small")
    ax.set_title("Organisations by segment")
    return ax
