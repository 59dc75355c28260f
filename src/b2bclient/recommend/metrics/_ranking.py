"""Ranking metrics of top-k recommendation lists: precision, recall, MAP, NDCG, coverage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.recommend._common import check_k

__all__ = [
    "coverage",
    "map_at_k",
    "ndcg_at_k",
    "pair_recall_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
]

_ITEM_COLUMNS = ("product_id", "partner_id", "item_id")


def _item_column(recommended: pd.DataFrame, relevant: pd.DataFrame | None, item: str | None) -> str:
    frames = [recommended] if relevant is None else [recommended, relevant]
    if item is not None:
        for frame in frames:
            if item not in frame.columns:
                raise InvalidParameterError(
                    f"The item column {item!r} is missing from a frame with columns "
                    f"{list(frame.columns)}."
                )
        return item
    for name in _ITEM_COLUMNS:
        if all(name in frame.columns for frame in frames):
            return name
    raise InvalidParameterError(
        "The recommendations and the relevant items must share an item column, one of "
        f"{list(_ITEM_COLUMNS)}, or name it with item=. Got columns {list(recommended.columns)}"
        + ("" if relevant is None else f" and {list(relevant.columns)}")
        + " instead."
    )


def _check_frame(frame: Any, name: str, columns: Iterable[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a DataFrame. Got {type(frame).__name__} instead."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidParameterError(
            f"The {name!r} frame lacks the columns {missing}; it has {list(frame.columns)}."
        )
    return frame


def _per_organisation(
    recommended: pd.DataFrame, relevant: pd.DataFrame, k: int, item: str | None
) -> pd.DataFrame:
    """Return per organisation with a relevant item: hits, relevant count, AP and NDCG at k."""
    k = check_k(k, "the ranking metric")
    _check_frame(recommended, "recommended", ("organisation_id", "rank"))
    _check_frame(relevant, "relevant", ("organisation_id",))
    col = _item_column(recommended, relevant, item)
    rel = relevant[["organisation_id", col]].drop_duplicates()
    n_rel = rel.groupby("organisation_id", sort=True).size().rename("n_relevant")
    rec = recommended.loc[recommended["rank"] <= k, ["organisation_id", "rank", col]]
    hits = rec.merge(rel, on=["organisation_id", col], how="inner")
    hits = hits.sort_values(["organisation_id", "rank"], kind="stable")
    hits["cum"] = hits.groupby("organisation_id").cumcount() + 1
    hits["prec"] = hits["cum"] / hits["rank"]
    hits["gain"] = 1.0 / np.log2(hits["rank"].to_numpy(dtype=np.float64) + 1.0)
    per = hits.groupby("organisation_id").agg(
        hits=("rank", "size"), ap=("prec", "sum"), dcg=("gain", "sum")
    )
    out = pd.DataFrame(index=n_rel.index)
    out["n_relevant"] = n_rel
    out = out.join(per).fillna({"hits": 0, "ap": 0.0, "dcg": 0.0})
    ideal_n = np.minimum(out["n_relevant"].to_numpy(), k)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[ideal_n - 1]
    out["ap"] = out["ap"] / ideal_n
    out["ndcg"] = out["dcg"] / ideal
    out["precision"] = out["hits"] / k
    out["recall"] = out["hits"] / out["n_relevant"]
    return out


def precision_at_k(
    recommended: pd.DataFrame, relevant: pd.DataFrame, k: int = 10, *, item: str | None = None
) -> float:
    """Return the mean share of the top `k` recommendations that are relevant.

    Averaged over the organisations that have at least one relevant item; an organisation
    without recommendations counts as 0.

    Parameters
    ----------
    recommended : pandas.DataFrame
        Columns ``organisation_id``, ``rank`` (1 = best) and the item column.
    relevant : pandas.DataFrame
        Columns ``organisation_id`` and the item column: what each organisation went on to buy
        (or link with).
    k : int, default=10
        Length of the list.
    item : str, optional
        The item column; by default ``product_id``, ``partner_id`` or ``item_id``, whichever both
        frames have.

    Returns
    -------
    float

    Raises
    ------
    InvalidParameterError
        For a `k` below 1 or frames without the needed columns.

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "A", "B"], "rank": [1, 2, 1],
    ...                     "product_id": ["p", "q", "p"]})
    >>> rel = pd.DataFrame({"organisation_id": ["A", "B"], "product_id": ["q", "r"]})
    >>> precision_at_k(rec, rel, k=2)
    0.25
    """
    per = _per_organisation(recommended, relevant, k, item)
    return float(per["precision"].mean()) if len(per) else float("nan")


def recall_at_k(
    recommended: pd.DataFrame, relevant: pd.DataFrame, k: int = 10, *, item: str | None = None
) -> float:
    """Return the mean share of an organisation's relevant items found in its top `k`.

    Parameters and averaging as in :func:`precision_at_k`.

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "A", "B"], "rank": [1, 2, 1],
    ...                     "product_id": ["p", "q", "p"]})
    >>> rel = pd.DataFrame({"organisation_id": ["A", "A", "B"], "product_id": ["q", "z", "p"]})
    >>> recall_at_k(rec, rel, k=2)
    0.75
    """
    per = _per_organisation(recommended, relevant, k, item)
    return float(per["recall"].mean()) if len(per) else float("nan")


def map_at_k(
    recommended: pd.DataFrame, relevant: pd.DataFrame, k: int = 10, *, item: str | None = None
) -> float:
    """Return the mean average precision at `k`.

    An organisation's average precision is the sum of the precision at the rank of each hit in
    its top `k`, divided by ``min(number of relevant items, k)``. Averaging as in
    :func:`precision_at_k`.

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "A"], "rank": [1, 2],
    ...                     "product_id": ["p", "q"]})
    >>> rel = pd.DataFrame({"organisation_id": ["A"], "product_id": ["q"]})
    >>> map_at_k(rec, rel, k=2)
    0.5
    """
    per = _per_organisation(recommended, relevant, k, item)
    return float(per["ap"].mean()) if len(per) else float("nan")


def ndcg_at_k(
    recommended: pd.DataFrame, relevant: pd.DataFrame, k: int = 10, *, item: str | None = None
) -> float:
    """Return the mean normalised discounted cumulative gain at `k` (binary relevance).

    A hit at rank r gains ``1 / log2(r + 1)``; the sum is divided by that of a perfect list.
    Averaging as in :func:`precision_at_k`.

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "A"], "rank": [1, 2],
    ...                     "product_id": ["p", "q"]})
    >>> rel = pd.DataFrame({"organisation_id": ["A"], "product_id": ["q"]})
    >>> round(ndcg_at_k(rec, rel, k=2), 4)
    0.6309
    """
    per = _per_organisation(recommended, relevant, k, item)
    return float(per["ndcg"].mean()) if len(per) else float("nan")


def coverage(
    recommended: pd.DataFrame, catalogue: Iterable[Any], k: int = 10, *, item: str | None = None
) -> float:
    """Return the share of the catalogue that appears in at least one top-`k` list.

    Parameters
    ----------
    recommended : pandas.DataFrame
        Columns ``rank`` and the item column.
    catalogue : iterable
        Every item that could be recommended (product ids, or organisation ids for partners).
    k : int, default=10
        Length of the lists.
    item : str, optional
        The item column, found as in :func:`precision_at_k` when omitted.

    Returns
    -------
    float

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "B"], "rank": [1, 1],
    ...                     "product_id": ["p", "p"]})
    >>> coverage(rec, ["p", "q", "r", "s"])
    0.25
    """
    k = check_k(k, "coverage")
    _check_frame(recommended, "recommended", ("rank",))
    col = _item_column(recommended, None, item)
    items = pd.Index(list(catalogue)).unique()
    if not len(items):
        raise InvalidParameterError("The 'catalogue' parameter of coverage must not be empty.")
    shown = pd.Index(recommended.loc[recommended["rank"] <= k, col].unique())
    return float(shown.isin(items).sum() / len(items))


def pair_recall_at_k(matches: pd.DataFrame, pairs: pd.DataFrame, k: int = 10) -> float:
    """Return the share of pairs found when either side lists the other in its top `k`.

    Parameters
    ----------
    matches : pandas.DataFrame
        Columns ``organisation_id``, ``rank`` and ``partner_id`` (as from
        :meth:`PartnerMatcher.match`).
    pairs : pandas.DataFrame
        The pairs to find: columns ``organisation_id`` and ``partner_id`` (unordered).
    k : int, default=10
        Length of the lists.

    Returns
    -------
    float

    Examples
    --------
    >>> m = pd.DataFrame({"organisation_id": ["A", "C"], "rank": [1, 1],
    ...                   "partner_id": ["B", "A"]})
    >>> pairs = pd.DataFrame({"organisation_id": ["B", "D", "A"], "partner_id": ["A", "E", "C"]})
    >>> round(pair_recall_at_k(m, pairs), 4)
    0.6667
    """
    k = check_k(k, "pair_recall_at_k")
    _check_frame(matches, "matches", ("organisation_id", "rank", "partner_id"))
    _check_frame(pairs, "pairs", ("organisation_id", "partner_id"))
    if not len(pairs):
        return float("nan")
    top = matches.loc[matches["rank"] <= k]
    listed = pd.MultiIndex.from_arrays(
        [top["organisation_id"].to_numpy(dtype=object), top["partner_id"].to_numpy(dtype=object)]
    )
    a = pairs["organisation_id"].to_numpy(dtype=object)
    b = pairs["partner_id"].to_numpy(dtype=object)
    forward = pd.MultiIndex.from_arrays([a, b]).isin(listed)
    backward = pd.MultiIndex.from_arrays([b, a]).isin(listed)
    return float(np.mean(forward | backward))


def ranking_metrics(
    recommended: pd.DataFrame,
    relevant: pd.DataFrame,
    k: int = 10,
    *,
    catalogue: Iterable[Any] | None = None,
    item: str | None = None,
) -> pd.Series:
    """Return precision, recall, MAP and NDCG at `k` (and coverage with a catalogue) at once.

    Returns
    -------
    pandas.Series
        ``precision@k``, ``recall@k``, ``map@k``, ``ndcg@k``, ``coverage`` (NaN without a
        catalogue) and ``organisations`` (how many have a relevant item).

    Examples
    --------
    >>> rec = pd.DataFrame({"organisation_id": ["A", "A"], "rank": [1, 2],
    ...                     "product_id": ["p", "q"]})
    >>> rel = pd.DataFrame({"organisation_id": ["A"], "product_id": ["q"]})
    >>> float(ranking_metrics(rec, rel, k=2, catalogue=["p", "q", "r", "s"])["map@2"])
    0.5
    """
    per = _per_organisation(recommended, relevant, k, item)
    cov = float("nan") if catalogue is None else coverage(recommended, catalogue, k, item=item)
    return pd.Series(
        {
            f"precision@{k}": float(per["precision"].mean()) if len(per) else float("nan"),
            f"recall@{k}": float(per["recall"].mean()) if len(per) else float("nan"),
            f"map@{k}": float(per["ap"].mean()) if len(per) else float("nan"),
            f"ndcg@{k}": float(per["ndcg"].mean()) if len(per) else float("nan"),
            "coverage": cov,
            "organisations": float(len(per)),
        }
    )
