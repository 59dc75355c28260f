"""evaluate_temporal: fit before a cut-off, score what happened in the following horizon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.features._build import prepare
from b2bclient.recommend._common import check_k
from b2bclient.recommend._logs import PurchaseLog
from b2bclient.recommend._pairdata import pair_key
from b2bclient.recommend.metrics._baselines import (
    partners_of_partners,
    popular_partners,
    popular_products,
    random_partners_in_industry,
    random_products_in_industry,
)
from b2bclient.recommend.metrics._ranking import ranking_metrics

__all__ = ["evaluate_temporal", "future_links", "future_purchases"]

_OWNER = "evaluate_temporal"
#: Relationship kinds that count as a new partnership in the evaluation of PartnerMatcher.
PARTNER_KINDS = ("supplier", "partner")


def future_purchases(
    base: Any, split_at: Any, horizon: Any = "180D", *, new_only: bool = True
) -> pd.DataFrame:
    """Return the products each organisation known before `split_at` bought in the horizon.

    A purchase is a line of a won deal closed in ``[split_at, split_at + horizon)``; with
    `new_only` only products the organisation had not bought before `split_at` count.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id`` and ``product_id``, one row per pair.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> future_purchases(base, "2024-07-01").columns.tolist()
    ['organisation_id', 'product_id']
    """
    t = to_timestamp(split_at, name="split_at", owner="future_purchases")
    h = to_duration(horizon, name="horizon", owner="future_purchases")
    ctx = prepare(base, t + h, "future_purchases")
    log = PurchaseLog.from_tables(ctx)
    n_items = len(ctx["products"])
    created = ctx.times("organisations", "created_at")
    known = np.zeros(ctx.n_orgs, dtype=bool)
    known[ctx.codes("organisations")] = created < t.value
    window = log.between(int(t.value), int((t + h).value))
    key = np.unique(window.org * n_items + window.product)
    if new_only:
        before = log.before(int(t.value))
        key = key[~np.isin(key, np.unique(before.org * n_items + before.product))]
    org, item = key // n_items, key % n_items
    ok = known[org]
    return pd.DataFrame(
        {
            "organisation_id": ctx.org_ids.to_numpy(dtype=object)[org[ok]],
            "product_id": ctx["products"]["product_id"].to_numpy(dtype=object)[item[ok]],
        }
    )


def future_links(base: Any, split_at: Any, horizon: Any = "180D") -> pd.DataFrame:
    """Return the supplier and partner links made in the horizon between known organisations.

    Links with ``since`` in ``[split_at, split_at + horizon)`` between organisations known before
    `split_at` that were not linked (by any relationship) before it; each link appears in both
    directions.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id`` and ``partner_id``.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> future_links(base, "2024-01-01", "365D").columns.tolist()
    ['organisation_id', 'partner_id']
    """
    t = to_timestamp(split_at, name="split_at", owner="future_links")
    h = to_duration(horizon, name="horizon", owner="future_links")
    ctx = prepare(base, t + h, "future_links")
    n = ctx.n_orgs
    src = ctx.codes("relationships", "source_id")
    dst = ctx.codes("relationships", "target_id")
    since = ctx.times("relationships", "since")
    kind = ctx["relationships"]["kind"].astype(object).to_numpy()
    created = np.zeros(n, dtype=np.int64)
    created[ctx.codes("organisations")] = ctx.times("organisations", "created_at")
    ok = (src >= 0) & (dst >= 0) & (src != dst)
    before = np.unique(pair_key(src[ok & (since < t.value)], dst[ok & (since < t.value)], n))
    new = ok & (since >= t.value) & np.isin(kind, PARTNER_KINDS)
    a, b = src[new], dst[new]
    keep = (created[a] < t.value) & (created[b] < t.value) & ~np.isin(pair_key(a, b, n), before)
    a, b = a[keep], b[keep]
    ids = ctx.org_ids.to_numpy(dtype=object)
    out = pd.DataFrame(
        {"organisation_id": ids[np.concatenate([a, b])], "partner_id": ids[np.concatenate([b, a])]}
    )
    return out.drop_duplicates(ignore_index=True)


def evaluate_temporal(
    model: Any,
    base: Any,
    split_at: Any,
    horizon: Any = "180D",
    *,
    k: int = 10,
    organisation_ids: Any = None,
    baselines: bool = True,
    fit_params: Mapping[str, Any] | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Fit a copy of `model` before `split_at` and score what happened in the horizon after it.

    For a :class:`CrossSell`, the relevant items of an organisation are the products it bought
    in ``[split_at, split_at + horizon)`` and had not bought before (recommendations exclude
    owned products). For a :class:`PartnerMatcher`, they are the supplier and partner links
    made in that window (see :func:`future_links`). Only organisations known before `split_at`
    with at least one relevant item are scored; the baselines are computed on the same
    organisations in the same run.

    Parameters
    ----------
    model : CrossSell or PartnerMatcher
        An estimator; it is cloned, the original is not fitted.
    base : ClientBase
        The client base, holding the horizon after `split_at`.
    split_at : str or pandas.Timestamp
        The cut-off of the fit.
    horizon : str, int or pandas.Timedelta, default="180D"
        How long after `split_at` outcomes are observed.
    k : int, default=10
        Length of the lists.
    organisation_ids : list of str, optional
        Restrict the evaluation to these organisations.
    baselines : bool, default=True
        Also score the baselines: for products, :func:`popular_products` and
        :func:`random_products_in_industry`; for partners, :func:`popular_partners`,
        :func:`partners_of_partners` (past links) and :func:`random_partners_in_industry`.
        Past purchases recommend owned products only, which new purchases never are; use
        :func:`past_purchases` with :func:`ranking_metrics` for repeat purchases.
    fit_params : dict, optional
        Extra keyword arguments of ``fit`` (for example ``segments=`` of CrossSell).
    random_state : int, default=0
        Seed of the random baselines.

    Returns
    -------
    pandas.DataFrame
        One row per method (``model``, then the baselines) with ``precision@k``, ``recall@k``,
        ``map@k``, ``ndcg@k``, ``coverage`` (of the catalogue, or of the organisations) and
        ``organisations`` scored.

    Raises
    ------
    InvalidParameterError
        For a model that is neither a CrossSell nor a PartnerMatcher, or when no organisation
        has a relevant item in the window.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.recommend import CrossSell
    >>> base = make_client_base(400, seed=0)
    >>> table = evaluate_temporal(CrossSell(), base, "2024-06-01", "180D")
    >>> table.index.tolist()
    ['model', 'popularity', 'random_in_industry']
    """
    from b2bclient.recommend._crosssell import CrossSell
    from b2bclient.recommend._matcher import PartnerMatcher

    t = to_timestamp(split_at, name="split_at", owner=_OWNER)
    h = to_duration(horizon, name="horizon", owner=_OWNER)
    k = check_k(k, _OWNER)
    if isinstance(model, CrossSell):
        relevant = future_purchases(base, t, h)
        item = "product_id"
    elif isinstance(model, PartnerMatcher):
        relevant = future_links(base, t, h)
        item = "partner_id"
    else:
        raise InvalidParameterError(
            f"The 'model' parameter of {_OWNER} must be a CrossSell or a PartnerMatcher. "
            f"Got {type(model).__name__} instead."
        )
    if organisation_ids is not None:
        wanted = pd.Index(
            [organisation_ids] if isinstance(organisation_ids, str) else list(organisation_ids)
        )
        relevant = relevant[relevant["organisation_id"].isin(wanted)]
    ids = pd.unique(relevant["organisation_id"].to_numpy(dtype=object))
    if not len(ids):
        raise InvalidParameterError(
            f"No organisation known before {t} has a relevant {item.split('_')[0]} in "
            f"[{t}, {t + h}), so {_OWNER} has nothing to score. Choose an earlier split_at or a "
            "longer horizon."
        )
    fitted = clone(model).fit(base, t, **dict(fit_params or {}))
    if isinstance(model, CrossSell):
        catalogue = fitted.product_ids_
        methods = {"model": fitted.recommend(ids, k)}
        if baselines:
            methods["popularity"] = popular_products(base, t, ids, k)
            methods["random_in_industry"] = random_products_in_industry(
                base, t, ids, k, random_state=random_state
            )
    else:
        catalogue = fitted.organisation_ids_
        methods = {"model": fitted.match(ids, k)}
        if baselines:
            methods["popularity"] = popular_partners(base, t, ids, k)
            methods["past_links"] = partners_of_partners(base, t, ids, k)
            methods["random_in_industry"] = random_partners_in_industry(
                base, t, ids, k, random_state=random_state
            )
    rows = {
        name: ranking_metrics(recs, relevant, k, catalogue=catalogue, item=item)
        for name, recs in methods.items()
    }
    return pd.DataFrame(rows).T
