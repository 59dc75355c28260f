"""Plain baselines every recommender is reported against, computed from the tables before ``as_of``.

Products: global popularity, an organisation's own past purchases, random products bought in its
industry. Partners: the organisations with the most links, partners of its partners (past
links), random organisations of its industry, the simple co-presence rule, and the expected
recall of a baseline told each answer's industry and region.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._time import to_timestamp
from b2bclient.features._build import prepare
from b2bclient.features._context import FeatureTables
from b2bclient.recommend._common import check_k, check_positive_int, resolve_ids, top_k
from b2bclient.recommend._itemknn import interaction_matrix
from b2bclient.recommend._logs import Firmographics, PurchaseLog
from b2bclient.recommend._pairdata import PairData, pair_key
from b2bclient.recommend._pairs import copresence

__all__ = [
    "copresence_partners",
    "informed_random_pair_recall",
    "partners_of_partners",
    "past_purchases",
    "popular_partners",
    "popular_products",
    "random_partners_in_industry",
    "random_products_in_industry",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _setup(
    base: Any, as_of: Any, organisation_ids: Any, k: Any, owner: str
) -> tuple[FeatureTables, IntArray, int]:
    t = to_timestamp(as_of, name="as_of", owner=owner)
    k = check_k(k, owner)
    ctx = prepare(base, t, owner)
    codes, _ = resolve_ids(organisation_ids, ctx.org_ids, owner=owner, unknown="raise", as_of=t)
    return ctx, codes, k


def _tidy(
    ctx: FeatureTables,
    codes: IntArray,
    cols: IntArray,
    values: FloatArray,
    item_ids: Any,
    item: str,
) -> pd.DataFrame:
    row, rank = np.nonzero(cols >= 0)
    return pd.DataFrame(
        {
            "organisation_id": ctx.org_ids.to_numpy(dtype=object)[codes[row]],
            "rank": (rank + 1).astype(np.int64),
            item: np.asarray(item_ids, dtype=object)[cols[row, rank]],
            "score": values[row, rank],
        }
    )


def _owned(ctx: FeatureTables) -> tuple[Any, int]:
    log = PurchaseLog.from_tables(ctx)
    n_items = len(ctx["products"])
    return interaction_matrix(log.org, log.product, log.deal, ctx.n_orgs, n_items), n_items


def popular_products(
    base: Any, as_of: Any, organisation_ids: Any = None, k: int = 10, *, exclude_owned: bool = True
) -> pd.DataFrame:
    """Recommend the products bought by the most organisations before `as_of`.

    Parameters
    ----------
    base : ClientBase
        The client base; rows at or after `as_of` are ignored.
    as_of : str or pandas.Timestamp
        The cut-off.
    organisation_ids : list of str, optional
        Organisations known before `as_of`; all of them by default.
    k : int, default=10
        Products per organisation.
    exclude_owned : bool, default=True
        Leave out the products the organisation already bought.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id``, ``rank``, ``product_id`` and ``score`` (organisations that
        bought the product).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(200, seed=0)
    >>> popular_products(base, "2024-01-01", ["O-000001"], k=2)["rank"].tolist()
    [1, 2]
    """
    ctx, codes, k = _setup(base, as_of, organisation_ids, k, "popular_products")
    owned, n_items = _owned(ctx)
    bought = owned.copy()
    bought.data = np.ones_like(bought.data)
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    scores = np.broadcast_to(buyers, (codes.shape[0], n_items)).astype(np.float64)
    allowed = np.broadcast_to(buyers > 0, scores.shape).copy()
    if exclude_owned:
        allowed &= owned[codes].toarray() == 0
    cols, values = top_k(scores, k, allowed)
    return _tidy(ctx, codes, cols, values, ctx["products"]["product_id"], "product_id")


def past_purchases(
    base: Any, as_of: Any, organisation_ids: Any = None, k: int = 10
) -> pd.DataFrame:
    """Recommend the products an organisation bought most often (in most deals) before `as_of`.

    The baseline for repeat purchases; parameters and result as in :func:`popular_products`,
    the score being the organisation's deals with the product.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(200, seed=0)
    >>> past_purchases(base, "2024-01-01", ["O-000001"], k=3).columns.tolist()
    ['organisation_id', 'rank', 'product_id', 'score']
    """
    ctx, codes, k = _setup(base, as_of, organisation_ids, k, "past_purchases")
    owned, _ = _owned(ctx)
    scores = owned[codes].toarray()
    cols, values = top_k(scores, k, scores > 0)
    return _tidy(ctx, codes, cols, values, ctx["products"]["product_id"], "product_id")


def random_products_in_industry(
    base: Any,
    as_of: Any,
    organisation_ids: Any = None,
    k: int = 10,
    *,
    exclude_owned: bool = True,
    random_state: int = 0,
) -> pd.DataFrame:
    """Recommend random products among those bought by the organisation's industry peers.

    Peers are the organisations of the same industry (all organisations when the industry is
    missing); the score is a random number. Parameters as in :func:`popular_products`.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(200, seed=0)
    >>> len(random_products_in_industry(base, "2024-01-01", ["O-000001"], k=4))
    4
    """
    ctx, codes, k = _setup(base, as_of, organisation_ids, k, "random_products_in_industry")
    owned, n_items = _owned(ctx)
    firms = Firmographics.from_tables(ctx)
    bought = owned.copy()
    bought.data = np.ones_like(bought.data)
    n_ind = firms.industry_names.shape[0]
    group = np.where(firms.industry >= 0, firms.industry, n_ind)
    peers = np.zeros((n_ind + 1, n_items), dtype=bool)
    rows, cols_ = bought.nonzero()
    peers[group[rows], cols_] = True
    peers[n_ind] = np.asarray(bought.sum(axis=0)).ravel() > 0
    allowed = peers[group[codes]].copy()
    if exclude_owned:
        allowed &= owned[codes].toarray() == 0
    rng = np.random.default_rng(random_state)
    scores = rng.random((codes.shape[0], n_items))
    cols, values = top_k(scores, k, allowed)
    return _tidy(ctx, codes, cols, values, ctx["products"]["product_id"], "product_id")


def _partner_setup(
    base: Any, as_of: Any, organisation_ids: Any, k: Any, owner: str
) -> tuple[FeatureTables, PairData, IntArray, int]:
    ctx, codes, k = _setup(base, as_of, organisation_ids, k, owner)
    return ctx, PairData.from_tables(ctx), codes, k


def _rank_partners(
    ctx: FeatureTables,
    data: PairData,
    codes: IntArray,
    q: IntArray,
    p: IntArray,
    score: FloatArray,
    k: int,
) -> pd.DataFrame:
    """Return the k best (query, partner) rows, dropping self, one holding and linked pairs."""
    ok = (q != p) & (data.top[q] != data.top[p])
    if data.linked.shape[0]:
        keys = pair_key(q, p, data.n)
        pos = np.minimum(np.searchsorted(data.linked, keys), data.linked.shape[0] - 1)
        ok &= data.linked[pos] != keys
    q, p, score = q[ok], p[ok], score[ok]
    # one row per (query, partner), best score
    order = np.lexsort((p, -score, q))
    q, p, score = q[order], p[order], score[order]
    key = q * data.n + p
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    q, p, score = q[first], p[first], score[first]
    order = np.lexsort((p, -score, q))
    q, p, score = q[order], p[order], score[order]
    starts = np.searchsorted(q, q, side="left")
    rank = np.arange(q.shape[0]) - starts
    keep = rank < k
    q, p, score, rank = q[keep], p[keep], score[keep], rank[keep] + 1
    position = np.full(data.n, -1, dtype=np.int64)
    position[codes[::-1]] = np.arange(codes.shape[0])[::-1]
    order = np.lexsort((rank, position[q]))
    ids = ctx.org_ids.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "organisation_id": ids[q[order]],
            "rank": rank[order].astype(np.int64),
            "partner_id": ids[p[order]],
            "score": score[order],
        }
    )


def _random_members(
    rng: np.random.Generator, group: IntArray, codes: IntArray, draws: int
) -> tuple[IntArray, IntArray]:
    """Draw `draws` random organisations of each query's group (with replacement)."""
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    start = np.searchsorted(sorted_group, group[codes], side="left")
    count = np.searchsorted(sorted_group, group[codes], side="right") - start
    valid = (group[codes] >= 0) & (count > 0)
    q = np.repeat(codes[valid], draws)
    s = np.repeat(start[valid], draws)
    c = np.repeat(count[valid], draws)
    return q, order[s + np.floor(rng.random(q.shape[0]) * c).astype(np.int64)]


def popular_partners(
    base: Any, as_of: Any, organisation_ids: Any = None, k: int = 10
) -> pd.DataFrame:
    """Propose the organisations with the most supplier, partner and referral links.

    Already linked pairs and members of one holding are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id``, ``rank``, ``partner_id`` and ``score`` (links).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> popular_partners(base, "2025-01-01", ["O-000001"], k=3)["rank"].tolist()
    [1, 2, 3]
    """
    ctx, data, codes, k = _partner_setup(base, as_of, organisation_ids, k, "popular_partners")
    links = _non_parent_links(ctx)
    degree = np.bincount(np.concatenate(links), minlength=data.n).astype(np.float64)
    top = np.argsort(-degree, kind="stable")[: k + 50]
    q = np.repeat(codes, top.shape[0])
    p = np.tile(top, codes.shape[0])
    return _rank_partners(ctx, data, codes, q, p, degree[p], k)


def _non_parent_links(ctx: FeatureTables) -> tuple[IntArray, IntArray]:
    src = ctx.codes("relationships", "source_id")
    dst = ctx.codes("relationships", "target_id")
    kind = ctx["relationships"]["kind"].astype(object).to_numpy()
    ok = (src >= 0) & (dst >= 0) & (kind != "parent")
    return np.asarray(src[ok], dtype=np.int64), np.asarray(dst[ok], dtype=np.int64)


def partners_of_partners(
    base: Any, as_of: Any, organisation_ids: Any = None, k: int = 10
) -> pd.DataFrame:
    """Propose the partners of an organisation's partners (past links), by the number of paths.

    Links of kinds supplier, partner and referral count, in both directions; already linked
    pairs and members of one holding are left out. Result as in :func:`popular_partners`.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> partners_of_partners(base, "2025-01-01", ["O-000001"]).columns.tolist()
    ['organisation_id', 'rank', 'partner_id', 'score']
    """
    ctx, data, codes, k = _partner_setup(base, as_of, organisation_ids, k, "partners_of_partners")
    src, dst = _non_parent_links(ctx)
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    start = np.searchsorted(a, np.arange(data.n), side="left")
    count = np.searchsorted(a, np.arange(data.n), side="right") - start
    # query -> neighbour -> neighbour's neighbours
    c1 = count[codes]
    q1 = np.repeat(codes, c1)
    n1 = b[np.repeat(start[codes], c1) + np.arange(q1.shape[0]) - np.repeat(np.cumsum(c1) - c1, c1)]
    c2 = count[n1]
    q2 = np.repeat(q1, c2)
    n2 = b[np.repeat(start[n1], c2) + np.arange(q2.shape[0]) - np.repeat(np.cumsum(c2) - c2, c2)]
    key, paths = np.unique(q2 * data.n + n2, return_counts=True)
    return _rank_partners(
        ctx, data, codes, key // data.n, key % data.n, paths.astype(np.float64), k
    )


def random_partners_in_industry(
    base: Any,
    as_of: Any,
    organisation_ids: Any = None,
    k: int = 10,
    *,
    random_state: int = 0,
) -> pd.DataFrame:
    """Propose random organisations of the organisation's own industry.

    Result as in :func:`popular_partners`, the score being a random number.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> len(random_partners_in_industry(base, "2025-01-01", ["O-000001"], k=5))
    5
    """
    ctx, data, codes, k = _partner_setup(
        base, as_of, organisation_ids, k, "random_partners_in_industry"
    )
    rng = np.random.default_rng(random_state)
    q, p = _random_members(rng, data.industry, codes, 3 * k + 10)
    noise = np.asarray(rng.random(q.shape[0]), dtype=np.float64)
    return _rank_partners(ctx, data, codes, q, p, noise, k)


def copresence_partners(
    base: Any,
    as_of: Any,
    organisation_ids: Any = None,
    k: int = 10,
    *,
    window_days: float = 45.0,
    random_state: int = 0,
) -> pd.DataFrame:
    """Propose partners by the simple co-presence rule.

    The score is *same region + 2 x project pairs on a shared site opened within `window_days`
    + 3 x days with site visits of both* (the rule of
    :func:`b2bclient.datasets._signals.partner_auc`); every other organisation of the same region
    scores 1 and ties are broken at random, so each list is filled up to `k`. Already linked
    pairs and members of one holding are left out.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> copresence_partners(base, "2025-01-01", ["O-000001"], k=3)["rank"].tolist()
    [1, 2, 3]
    """
    ctx, data, codes, k = _partner_setup(base, as_of, organisation_ids, k, "copresence_partners")
    co = copresence(data, float(window_days))
    n = data.n
    is_query = np.zeros(n, dtype=bool)
    is_query[codes] = True
    lo, hi = co.key // n, co.key % n
    score = (data.region[lo] == data.region[hi]) & (data.region[lo] >= 0)
    score = score + 2.0 * co.site + 3.0 * co.visits
    fwd, bwd = is_query[lo], is_query[hi]
    q = np.concatenate([lo[fwd], hi[bwd]])
    p = np.concatenate([hi[fwd], lo[bwd]])
    sc = np.concatenate([score[fwd], score[bwd]])
    rng = np.random.default_rng(random_state)
    fq, fp = _random_members(rng, data.region, codes, 3 * k + 10)
    q = np.concatenate([q, fq])
    p = np.concatenate([p, fp])
    # Random tie-breaking below one point keeps the rule's order.
    sc = np.concatenate([sc, np.ones(fq.shape[0])]) + 0.5 * rng.random(q.shape[0])
    out = _rank_partners(ctx, data, codes, q, p, sc, k)
    out["score"] = np.floor(out["score"].to_numpy())
    return out


def informed_random_pair_recall(base: Any, as_of: Any, pairs: pd.DataFrame, k: int = 10) -> float:
    """Return the expected recall@k of a baseline told each answer's industry and region.

    For a pair (a, b) the baseline lists for a `k` organisations drawn at random among those of
    b's industry and region, and for b `k` among those of a's; the pair is found when either
    lists the other, with probability ``1 - (1 - min(1, k / N_b)) (1 - min(1, k / N_a))`` where
    ``N_b`` counts the organisations known before `as_of` of b's industry and region other than
    a (and ``N_a`` likewise). Returns the mean over `pairs`.

    Parameters
    ----------
    base : ClientBase
        The client base.
    as_of : str or pandas.Timestamp
        The cut-off at which organisations are counted.
    pairs : pandas.DataFrame
        Columns ``organisation_id`` and ``partner_id``, both known before `as_of`.
    k : int, default=10
        Length of the lists.

    Returns
    -------
    float

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(300, seed=0)
    >>> pairs = pd.DataFrame({"organisation_id": ["O-000001"], "partner_id": ["O-000002"]})
    >>> 0 < informed_random_pair_recall(base, "2025-01-01", pairs) <= 1
    True
    """
    k = check_positive_int(k, "k", "informed_random_pair_recall")
    ctx, _, _ = _setup(base, as_of, None, k, "informed_random_pair_recall")
    firms = Firmographics.from_tables(ctx)
    a, _ = resolve_ids(
        pairs["organisation_id"],
        ctx.org_ids,
        owner="informed_random_pair_recall",
        unknown="raise",
        as_of=ctx.as_of,
    )
    b, _ = resolve_ids(
        pairs["partner_id"],
        ctx.org_ids,
        owner="informed_random_pair_recall",
        unknown="raise",
        as_of=ctx.as_of,
    )
    n_reg = max(int(firms.region.max(initial=-1)) + 1, 1)
    group = np.where(
        (firms.industry >= 0) & (firms.region >= 0), firms.industry * n_reg + firms.region, -1
    )
    size = np.bincount(group[group >= 0], minlength=int(group.max(initial=0)) + 1)

    def chance(target: IntArray, other: IntArray) -> FloatArray:
        g = group[target]
        n = np.where(g >= 0, size[np.maximum(g, 0)], 0) - (group[other] == g)
        return np.where(n > 0, np.minimum(1.0, k / np.maximum(n, 1)), 0.0)

    found = 1.0 - (1.0 - chance(b, a)) * (1.0 - chance(a, b))
    return float(found.mean()) if found.shape[0] else float("nan")
