"""What CrossSell knows about products and organisations at one point in time.

A :class:`Snapshot` at time ``t`` is computed from the purchase and stage logs strictly before ``t``:
the organisation x product matrix and the item model (collaborative filtering), how popular each
product is overall, in each industry and in each segment, how much more often organisations with
a project in a given stage buy each product in the following horizon (learnt on earlier windows
before ``t``), and which services are added to deals with each good. :func:`features` turns it
into one score per organisation, product and signal.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from b2bclient.base._schema import STAGES
from b2bclient.recommend._itemknn import ease, interaction_matrix, item_knn
from b2bclient.recommend._logs import PurchaseLog, StageLog

__all__ = ["SIGNALS", "Snapshot", "build_snapshot", "features", "stage_lift"]

#: The signals CrossSell blends, in column order of :func:`features`.
SIGNALS = ("similar", "popular", "industry", "segment", "stage", "attached")
#: Signals that use context; CrossSell(context=False) blends the others only.
CONTEXT_SIGNALS = ("industry", "segment", "stage", "attached")
_EPS = 1e-3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@attrs.frozen
class Snapshot:
    """Item model and context statistics at time ``t`` (see the module docstring)."""

    t: int
    owned: sp.csr_matrix  # organisations x products: deals with the product before t
    item_model: Any  # csr item-kNN similarity or dense EASE weights
    known: BoolArray  # organisations created before t
    buyers: FloatArray  # per product: known organisations that bought it
    n_known: int
    industry_buyers: FloatArray  # industries x products
    industry_size: FloatArray  # known organisations per industry
    segment_buyers: FloatArray  # segments x products (0 rows without segments)
    segment_size: FloatArray
    lift: FloatArray  # stages x products: log lift of buying in the next horizon
    lift_ratio: FloatArray  # stages x products: the lift itself (for reasons)
    stage_org: IntArray  # open stages at t: organisation, stage, project
    stage_code: IntArray
    stage_project: IntArray
    attach_deals: FloatArray  # goods x services: won deals with the good and the service
    goods_deals: FloatArray  # per good: won deals with it
    services: IntArray  # product rows of services
    goods: IntArray  # product rows of goods


def stage_lift(
    purchases: PurchaseLog,
    stages: StageLog,
    created: IntArray,
    *,
    t: int,
    horizon: int,
    n_windows: int,
    n_items: int,
    prior: float = 20.0,
) -> tuple[FloatArray, FloatArray]:
    """Return how much more often organisations with a project in each stage buy each product.

    On each window ``[t - (j + 1) h, t - j h)`` for j = 1 .. `n_windows` (all before `t`), an
    organisation's *new* purchases (products it had not bought before the window) are compared
    between the organisations with a project in stage s at the start of the window and all known
    organisations. The ratio is shrunk towards 1 with `prior` pseudo-organisations.

    Returns
    -------
    log_lift, lift : numpy.ndarray of shape (n_stages, n_items)
    """
    n_stages = len(STAGES)
    stage_buy = np.zeros((n_stages, n_items))
    stage_n = np.zeros(n_stages)
    all_buy = np.zeros(n_items)
    all_n = 0.0
    n_orgs = created.shape[0]
    for j in range(1, n_windows + 1):
        lo, hi = t - (j + 1) * horizon, t - j * horizon
        if lo <= (purchases.time[0] if len(purchases) else hi):
            break
        known = created < lo
        before = purchases.before(lo)
        window = purchases.between(lo, hi)
        had = np.unique(before.org * n_items + before.product)
        key = np.unique(window.org * n_items + window.product)
        new = key[~np.isin(key, had, assume_unique=True)]
        new_org, new_item = new // n_items, new % n_items
        ok = known[new_org]
        new_org, new_item = new_org[ok], new_item[ok]
        all_buy += np.bincount(new_item, minlength=n_items)
        all_n += float(known.sum())
        open_now = stages.open_at(lo)
        pairs = np.unique(stages.org[open_now] * n_stages + stages.stage[open_now])
        s_org, s_stage = pairs // n_stages, pairs % n_stages
        stage_n += np.bincount(s_stage, minlength=n_stages)
        # new purchases of organisations in stage s: join on organisation
        has_stage = np.zeros((n_orgs, n_stages), dtype=bool)
        has_stage[s_org, s_stage] = True
        for s in range(n_stages):
            mine = has_stage[new_org, s]
            stage_buy[s] += np.bincount(new_item[mine], minlength=n_items)
    if all_n == 0:
        zeros = np.zeros((n_stages, n_items))
        return zeros, np.ones((n_stages, n_items))
    base = (all_buy + 1.0) / (all_n + 1.0)
    rate = (stage_buy + prior * base) / (stage_n[:, None] + prior)
    lift = rate / base
    return np.log(lift), lift


def build_snapshot(
    purchases: PurchaseLog,
    stages: StageLog,
    *,
    t: int,
    created: IntArray,
    industry: IntArray,
    n_industries: int,
    segment: IntArray,
    n_segments: int,
    is_service: BoolArray,
    item_model: str,
    n_neighbours: int,
    l2: float,
    horizon: int,
    n_windows: int,
) -> Snapshot:
    """Compute the :class:`Snapshot` at `t` from logs (only events before `t` are used)."""
    n_orgs = created.shape[0]
    n_items = is_service.shape[0]
    past = purchases.before(t)
    owned = interaction_matrix(past.org, past.product, past.deal, n_orgs, n_items)
    if item_model == "ease":
        model: Any = ease(owned, l2=l2)
    else:
        model = item_knn(owned, weighting=item_model, n_neighbours=n_neighbours)
    known = created < t
    bought = owned.copy()
    bought.data = np.ones_like(bought.data)
    buyers = np.asarray(bought.sum(axis=0)).ravel()

    def by_group(codes: IntArray, n_groups: int) -> tuple[FloatArray, FloatArray]:
        ok = (codes >= 0) & known
        rows = np.flatnonzero(ok)
        group = sp.csr_matrix(
            (np.ones(rows.shape[0]), (codes[rows], rows)), shape=(n_groups, n_orgs)
        )
        return np.asarray((group @ bought).toarray()), np.bincount(
            codes[rows], minlength=n_groups
        ).astype(np.float64)

    industry_buyers, industry_size = by_group(industry, n_industries)
    segment_buyers, segment_size = by_group(segment, n_segments)
    log_lift, lift = stage_lift(
        purchases, stages, created, t=t, horizon=horizon, n_windows=n_windows, n_items=n_items
    )
    open_now = stages.open_at(t)
    services = np.flatnonzero(is_service).astype(np.int64)
    goods = np.flatnonzero(~is_service).astype(np.int64)
    deal_item = interaction_matrix(
        past.deal, past.product, past.deal, int(past.deal.max(initial=-1)) + 1, n_items
    )
    deal_item.data = np.ones_like(deal_item.data)
    deal_goods = deal_item[:, goods]
    deal_services = deal_item[:, services]
    attach = np.asarray((deal_goods.T @ deal_services).toarray(), dtype=np.float64)
    goods_deals = np.asarray(deal_goods.sum(axis=0)).ravel()
    return Snapshot(
        t=t,
        owned=owned,
        item_model=model,
        known=known,
        buyers=buyers,
        n_known=int(known.sum()),
        industry_buyers=industry_buyers,
        industry_size=industry_size,
        segment_buyers=segment_buyers,
        segment_size=segment_size,
        lift=log_lift,
        lift_ratio=lift,
        stage_org=stages.org[open_now],
        stage_code=stages.stage[open_now],
        stage_project=stages.project[open_now],
        attach_deals=attach,
        goods_deals=goods_deals,
        services=services,
        goods=goods,
    )


def _share(count: FloatArray, size: FloatArray, overall: FloatArray, m: float) -> FloatArray:
    """Return the share of a group that bought each item, shrunk to `overall` with `m` members."""
    return (count + m * overall) / (size[..., None] + m)


def features(
    snap: Snapshot,
    orgs: IntArray,
    *,
    industry: IntArray,
    segment: IntArray,
    signals: tuple[str, ...],
) -> FloatArray:
    """Return the signals of `orgs` for every product, shape (len(orgs), n_items, len(signals)).

    ``similar``: log1p of the item-model score of the organisation's purchases; ``popular``,
    ``industry``, ``segment``: log share of the known organisations (of its industry, of its
    segment) that bought the product, shrunk towards the overall share; ``stage``: the largest
    log lift over the stages of its open projects (0 without one); ``attached``: the share of won
    deals with a good it buys that carry the service (0 for goods), weighted by its purchases.
    """
    n = orgs.shape[0]
    n_items = snap.buyers.shape[0]
    out = np.zeros((n, n_items, len(signals)))
    overall = (snap.buyers + 1.0) / (snap.n_known + 2.0)
    for f, name in enumerate(signals):
        if name == "similar":
            x = snap.owned[orgs]
            x.data = np.log1p(x.data)
            raw = x @ snap.item_model
            score = raw.toarray() if sp.issparse(raw) else np.asarray(raw)
            out[:, :, f] = np.log1p(np.maximum(score, 0.0))
        elif name == "popular":
            out[:, :, f] = np.log(overall)[None, :]
        elif name in ("industry", "segment"):
            codes = industry[orgs] if name == "industry" else segment[orgs]
            count = snap.industry_buyers if name == "industry" else snap.segment_buyers
            size = snap.industry_size if name == "industry" else snap.segment_size
            share = np.broadcast_to(overall, (n, n_items)).copy()
            ok = codes >= 0
            if ok.any() and count.shape[0]:
                share[ok] = _share(count, size, overall, 10.0)[codes[ok]]
            out[:, :, f] = np.log(share)
        elif name == "stage":
            out[:, :, f] = stage_signal(snap, orgs)[0]
        elif name == "attached":
            out[:, :, f] = attached_signal(snap, orgs)[0]
    return out


def stage_signal(snap: Snapshot, orgs: IntArray) -> tuple[FloatArray, IntArray]:
    """Return the best stage log lift per organisation and product, and the row it comes from.

    The row indexes ``snap.stage_org`` (-1 where no open project has a positive lift); among
    several open projects in one stage, the last listed one is named.
    """
    n = orgs.shape[0]
    n_items = snap.buyers.shape[0]
    n_stages = snap.lift.shape[0]
    if snap.stage_org.shape[0] == 0 or n == 0:
        return np.zeros((n, n_items)), np.full((n, n_items), -1, dtype=np.int64)
    position = np.full(int(max(orgs.max(), snap.stage_org.max())) + 1, -1, dtype=np.int64)
    position[orgs] = np.arange(n)
    pos = position[snap.stage_org]
    rows = np.flatnonzero(pos >= 0)
    which = np.full((n, n_stages), -1, dtype=np.int64)
    which[pos[rows], snap.stage_code[rows]] = rows
    lifts = np.where((which >= 0)[:, :, None], np.maximum(snap.lift, 0.0)[None, :, :], 0.0)
    best = lifts.argmax(axis=1)
    value = np.take_along_axis(lifts, best[:, None, :], axis=1)[:, 0, :]
    source = np.take_along_axis(which, best, axis=1)
    return value, np.where(value > 0, source, -1)


def attached_signal(snap: Snapshot, orgs: IntArray) -> tuple[FloatArray, IntArray]:
    """Return the attach rate of each service for the goods an organisation buys, and the good.

    The rate is the share of won deals with the good that carry the service, averaged over the
    goods the organisation bought weighted by its deals with each; the second array names the
    good (a product row) with the highest rate among them (-1 for goods and without purchases).
    """
    n = orgs.shape[0]
    n_items = snap.buyers.shape[0]
    value = np.zeros((n, n_items))
    source = np.full((n, n_items), -1, dtype=np.int64)
    if snap.services.shape[0] == 0 or snap.goods.shape[0] == 0 or n == 0:
        return value, source
    rate = snap.attach_deals / np.maximum(snap.goods_deals, 1.0)[:, None]
    mine = sp.csr_matrix(snap.owned[orgs][:, snap.goods])
    total = np.asarray(mine.sum(axis=1)).ravel()
    avg = np.asarray(mine @ rate) / np.maximum(total, 1.0)[:, None]
    value[:, snap.services] = avg
    # the good it buys that carries each service most often
    bought = mine.toarray() > 0
    masked = np.where(bought[:, :, None], rate[None, :, :], -1.0)
    best = masked.argmax(axis=1)
    has = bought.any(axis=1)
    source[:, snap.services] = np.where(has[:, None], snap.goods[best], -1)
    return value, source
