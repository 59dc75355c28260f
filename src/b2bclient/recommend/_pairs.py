"""Candidate pairs and pair features of PartnerMatcher, without any dense n x n step.

Candidates of an organisation come from three sparse joins:

* **same site**: its projects and other organisations' projects on the same site opened within
  ``window_days`` of each other (a scan of the projects sorted by site and time);
* **same day**: site visits of both on the same day (a scan of the visits sorted by day);
* **complementary blocks**: the ``block_size`` best-placed organisations of each industry that
  its own industry supplies or buys from (learnt from known ``supplier`` links), in its region.
  Each block is ranked once, so the cost grows linearly with the organisations.

Pair features are symmetric: a pair is oriented supplier -> buyer by the learnt complementarity
of the two industries before its features are computed.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt
from scipy import stats

from b2bclient.features._context import DAY_NS, NAT
from b2bclient.recommend._pairdata import PairData, pair_key

__all__ = [
    "CLOSE_COLUMNS",
    "FEATURES",
    "NO_GAP",
    "Copresence",
    "Knowledge",
    "Scores",
    "block_tables",
    "candidate_pairs",
    "close_projects",
    "copresence",
    "fill_close",
    "learn_knowledge",
    "orient",
    "pair_features",
    "purchase_surprise",
]

#: Pair features, in column order of :func:`pair_features`.
FEATURES = (
    "complementarity",
    "same_region",
    "same_site_projects",
    "same_site_gap_days",
    "close_projects",
    "close_gap_days",
    "same_day_visits",
    "buyer_purchases",
    "supplier_purchases",
    "buyer_known_suppliers",
    "supplier_known_buyers",
    "log_employees_supplier",
    "log_employees_buyer",
    "same_size_band",
    "days_since_seen_supplier",
    "days_since_seen_buyer",
)
#: Gap reported when two organisations have no projects within the window.
NO_GAP = 10_000.0
_SECOND = 10**9
_MAX_SURPRISE = 20.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# ------------------------------------------------------------------------------ knowledge


def purchase_surprise(data: PairData) -> FloatArray:
    """Return per organisation and category how surprising its goods purchases are for its industry.

    With ``expected`` the organisation's goods lines times its industry's share of the category,
    the surprise of ``count`` lines is ``-log P(X >= count)`` for X Poisson with that mean: 0 for
    no line, large for lines of a category its industry rarely buys.
    """
    counts = data.category_counts
    n_ind = data.industry_names.shape[0]
    group = np.where(data.industry >= 0, data.industry, n_ind)
    grouped = np.zeros((n_ind + 1, counts.shape[1]))
    np.add.at(grouped, group, counts)
    sums = grouped.sum(axis=1, keepdims=True)
    shares = np.divide(grouped, sums, out=np.zeros_like(grouped), where=sums > 0)
    expected = np.maximum(counts.sum(axis=1)[:, None] * shares[group], 1e-3)
    surprise = -stats.poisson.logsf(counts - 1.0, expected)
    return np.asarray(np.clip(surprise, 0.0, _MAX_SURPRISE), dtype=np.float64)


@attrs.frozen
class Knowledge:
    """What known supplier links teach: complementary industries and what their buyers buy.

    ``links[i, j]`` counts supplier links from industry i to industry j and ``lift[i, j]`` is the
    share of links between them relative to their share of organisation pairs (the pseudo-count
    0.5 per cell keeps it finite); ``weights[i, c]`` says how strongly buying goods category c
    more than industry peers marks a buyer of industry-i suppliers, ``supplier_weights[i, c]``
    the same for the suppliers of industry i (rows sum to 1 or are 0).
    """

    links: FloatArray
    lift: FloatArray
    weights: FloatArray
    supplier_weights: FloatArray

    def complementary(self, min_links: int, min_lift: float) -> BoolArray:
        """Return industries x industries: whether industry i is a learnt supplier of j."""
        return (self.links >= min_links) & (self.lift >= min_lift)


def _category_weights(
    surprise_sum: FloatArray, baseline: FloatArray, n_links: FloatArray
) -> FloatArray:
    """Return per industry the categories its partners buy more than their peers, normalised."""
    excess = (surprise_sum - baseline) / (n_links + 5.0)[:, None]
    top = excess.max(axis=1, keepdims=True)
    w = np.where((excess >= 0.5 * top) & (excess > 0.1), excess, 0.0)
    total = w.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(w, total, out=np.zeros_like(w), where=total > 0), dtype=np.float64)


def learn_knowledge(data: PairData, surprise: FloatArray, mask: BoolArray) -> Knowledge:
    """Learn complementarity and partners' purchases from the supplier links selected by `mask`."""
    n_ind = data.industry_names.shape[0]
    src = data.supplier_source[mask]
    dst = data.supplier_target[mask]
    ok = (data.industry[src] >= 0) & (data.industry[dst] >= 0)
    src, dst = src[ok], dst[ok]
    links = np.zeros((n_ind, n_ind))
    np.add.at(links, (data.industry[src], data.industry[dst]), 1.0)
    size = np.bincount(data.industry[data.industry >= 0], minlength=n_ind).astype(np.float64)
    q = size / max(float(size.sum()), 1.0)
    share = (links + 0.5) / (links.sum() + 0.5 * n_ind * n_ind)
    lift = share / np.maximum(q[:, None] * q[None, :], 1e-12)
    # Mean surprise of each industry's members, the baseline a partner is compared with.
    mean = np.zeros((n_ind, surprise.shape[1]))
    np.add.at(mean, data.industry[data.industry >= 0], surprise[data.industry >= 0])
    mean /= np.maximum(size, 1.0)[:, None]
    n_links = np.bincount(data.industry[src], minlength=n_ind).astype(np.float64)
    buyer_sum = np.zeros((n_ind, surprise.shape[1]))
    buyer_base = np.zeros((n_ind, surprise.shape[1]))
    np.add.at(buyer_sum, data.industry[src], surprise[dst])
    np.add.at(buyer_base, data.industry[src], mean[data.industry[dst]])
    supplier_sum = np.zeros((n_ind, surprise.shape[1]))
    supplier_base = np.zeros((n_ind, surprise.shape[1]))
    np.add.at(supplier_sum, data.industry[src], surprise[src])
    np.add.at(supplier_base, data.industry[src], mean[data.industry[src]])
    return Knowledge(
        links=links,
        lift=lift,
        weights=_category_weights(buyer_sum, buyer_base, n_links),
        supplier_weights=_category_weights(supplier_sum, supplier_base, n_links),
    )


@attrs.frozen
class Scores:
    """Per organisation and industry i: how it buys like a buyer (supplier) of industry i.

    Also how many known supplier links it has with suppliers (buyers) of each industry.
    """

    buyer: FloatArray
    supplier: FloatArray
    known_suppliers: FloatArray
    known_buyers: FloatArray

    @classmethod
    def compute(
        cls, data: PairData, knowledge: Knowledge, surprise: FloatArray, mask: BoolArray
    ) -> Scores:
        """Compute the scores with the knowledge and the supplier links selected by `mask`."""
        n_ind = data.industry_names.shape[0]
        src, dst = data.supplier_source[mask], data.supplier_target[mask]
        ok = (data.industry[src] >= 0) & (data.industry[dst] >= 0)
        src, dst = src[ok], dst[ok]
        known_suppliers = np.zeros((data.n, n_ind))
        np.add.at(known_suppliers, (dst, data.industry[src]), 1.0)
        known_buyers = np.zeros((data.n, n_ind))
        np.add.at(known_buyers, (src, data.industry[dst]), 1.0)
        return cls(
            buyer=surprise @ knowledge.weights.T,
            supplier=surprise @ knowledge.supplier_weights.T,
            known_suppliers=known_suppliers,
            known_buyers=known_buyers,
        )


# ----------------------------------------------------------------------------- co-presence


def _scan(group: IntArray, seconds: IntArray, width: int) -> tuple[IntArray, IntArray]:
    """Return the row pairs (i < j) of one group with ``seconds[j] - seconds[i] < width``.

    Rows must be sorted by (group, seconds); seconds lie in [0, 2**33).
    """
    m = group.shape[0]
    if m < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    key = (group.astype(np.int64) << 33) + seconds
    end = np.searchsorted(key, key + width, side="left")
    count = end - np.arange(m) - 1
    i = np.repeat(np.arange(m, dtype=np.int64), count)
    j = np.arange(i.shape[0], dtype=np.int64) - np.repeat(np.cumsum(count) - count, count) + i + 1
    return i, j


@attrs.frozen
class Copresence:
    """Pairs with same-site projects within the window or same-day site visits.

    ``key`` holds order-free pair keys (sorted); ``site`` the number of project pairs on a shared
    site within the window, ``site_gap`` the smallest gap in days (:data:`NO_GAP` if none),
    ``visits`` the number of days with site visits of both.
    """

    key: IntArray
    site: FloatArray
    site_gap: FloatArray
    visits: FloatArray

    def lookup(self, keys: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return site, site_gap and visits of the pairs `keys` (0, NO_GAP, 0 when absent)."""
        m = keys.shape[0]
        if not self.key.shape[0]:
            return np.zeros(m), np.full(m, NO_GAP), np.zeros(m)
        pos = np.minimum(np.searchsorted(self.key, keys), self.key.shape[0] - 1)
        found = self.key[pos] == keys
        site = np.where(found, self.site[pos], 0.0)
        gap = np.where(found, self.site_gap[pos], NO_GAP)
        visits = np.where(found, self.visits[pos], 0.0)
        return site, gap, visits


def copresence(data: PairData, window_days: float) -> Copresence:
    """Find every pair with same-site projects within `window_days` or same-day site visits."""
    n = data.n
    t0 = int(data.project_created.min(initial=0))
    seconds = (data.project_created - t0) // _SECOND
    i, j = _scan(data.project_site, seconds, int(window_days * 86_400))
    a, b = data.project_org[i], data.project_org[j]
    ok = a != b
    site_key = pair_key(a[ok], b[ok], n)
    gap = np.abs(data.project_created[j[ok]] - data.project_created[i[ok]]) / DAY_NS
    vi, vj = _scan(data.visit_day, np.zeros_like(data.visit_day), 1)
    va, vb = data.visit_org[vi], data.visit_org[vj]
    ok = va != vb
    visit_key = pair_key(va[ok], vb[ok], n)
    keys = np.unique(np.concatenate([site_key, visit_key]))
    site = np.zeros(keys.shape[0])
    site_gap = np.full(keys.shape[0], NO_GAP)
    visits = np.zeros(keys.shape[0])
    pos = np.searchsorted(keys, site_key)
    np.add.at(site, pos, 1.0)
    np.minimum.at(site_gap, pos, gap)
    np.add.at(visits, np.searchsorted(keys, visit_key), 1.0)
    return Copresence(key=keys, site=site, site_gap=site_gap, visits=visits)


# ------------------------------------------------------------------------------ candidates


def block_tables(
    data: PairData,
    knowledge: Knowledge,
    scores: Scores,
    *,
    size: int,
    min_links: int,
    min_lift: float,
) -> tuple[IntArray, IntArray]:
    """Return the complementary block members offered to each (industry, region).

    Returns ``groups`` (industry x n_regions + region, sorted) and ``members`` of the same
    length: for an organisation of that industry and region, the organisations offered. For
    each industry it supplies, the `size` buyers of that industry in the region that buy most
    like buyers of its industry; for each industry it buys from, the `size` suppliers that buy
    most like suppliers of their industry; ties by recent activity, then id.
    """
    comp = knowledge.complementary(min_links, min_lift)
    n_reg = data.region_names.shape[0]
    recency = np.where(data.last_seen == NAT, -np.inf, data.last_seen.astype(np.float64))
    valid = (data.industry >= 0) & (data.region >= 0)
    group = np.where(valid, data.industry * n_reg + data.region, -1)
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    out_group: list[IntArray] = []
    out_member: list[IntArray] = []
    for own, partner in zip(*np.nonzero(comp | comp.T), strict=True):
        own_i, partner_j = int(own), int(partner)
        # own supplies partner: rank buyers; partner supplies own: rank suppliers
        score = scores.buyer[:, own_i] if comp[own_i, partner_j] else scores.supplier[:, partner_j]
        for r in range(n_reg):
            lo, hi = np.searchsorted(
                sorted_group, [partner_j * n_reg + r, partner_j * n_reg + r + 1]
            )
            block = order[lo:hi]
            rank = np.lexsort((block, -recency[block], -score[block]))
            chosen = block[rank[:size]]
            out_group.append(np.full(chosen.shape[0], own_i * n_reg + r, dtype=np.int64))
            out_member.append(chosen.astype(np.int64))
    if not out_group:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    groups = np.concatenate(out_group)
    members = np.concatenate(out_member)
    order = np.argsort(groups, kind="stable")
    return groups[order], members[order]


def _expand(sorted_values: IntArray, values: IntArray) -> tuple[IntArray, IntArray]:
    """Return, for each of `values`, its repeats and the positions of its equals in a sorted array."""
    start = np.searchsorted(sorted_values, values, side="left")
    count = np.searchsorted(sorted_values, values, side="right") - start
    which = np.repeat(np.arange(values.shape[0], dtype=np.int64), count)
    position = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(which.shape[0])
    return which, position


def _offered_to(
    data: PairData, block_groups: IntArray, block_members: IntArray, queries: IntArray
) -> IntArray:
    """Return the keys of the pairs (query, organisation whose block offers the query).

    Matching every organisation lists these pairs on both sides, so a batch lists them too: the
    candidates of an organisation never depend on which others are matched with it.
    """
    n = data.n
    by_member = np.argsort(block_members, kind="stable")
    which, position = _expand(block_members[by_member], queries)
    q, group = queries[which], block_groups[by_member[position]]
    n_reg = data.region_names.shape[0]
    valid = (data.industry >= 0) & (data.region >= 0)
    org_group = np.where(valid, data.industry * n_reg + data.region, -1)
    org_order = np.argsort(org_group, kind="stable")
    which, position = _expand(org_group[org_order], group)
    q, p = q[which], org_order[position]
    keep = q != p
    return pair_key(q[keep], p[keep], n)


def candidate_pairs(
    data: PairData,
    co: Copresence,
    block_groups: IntArray,
    block_members: IntArray,
    queries: IntArray,
    exclude: IntArray,
    *,
    offered_to: bool = True,
) -> IntArray:
    """Return the order-free keys (sorted) of the candidate pairs of the query organisations.

    Co-presence partners of each query, the complementary block members offered to it and, with
    `offered_to`, the organisations whose block offers it (so that a query's candidates do not
    depend on the other queries); pairs within one holding and pairs whose key is in `exclude`
    (sorted: the already linked pairs) are left out.
    """
    n = data.n
    is_query = np.zeros(n, dtype=bool)
    is_query[queries] = True
    lo, hi = co.key // n, co.key % n
    parts = [co.key[is_query[lo] | is_query[hi]]]
    if block_groups.shape[0]:
        n_reg = data.region_names.shape[0]
        valid = (data.industry[queries] >= 0) & (data.region[queries] >= 0)
        qg = np.where(valid, data.industry[queries] * n_reg + data.region[queries], -1)
        start = np.searchsorted(block_groups, qg, side="left")
        count = np.where(valid, np.searchsorted(block_groups, qg, side="right") - start, 0)
        q = np.repeat(queries, count)
        idx = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(q.shape[0])
        p = block_members[idx]
        keep = q != p
        parts.append(pair_key(q[keep], p[keep], n))
        if offered_to:
            parts.append(_offered_to(data, block_groups, block_members, queries))
    keys = np.sort(np.concatenate(parts))
    if keys.shape[0]:
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    a, b = keys // n, keys % n
    keep = data.top[a] != data.top[b]
    if exclude.shape[0]:
        pos = np.minimum(np.searchsorted(exclude, keys), exclude.shape[0] - 1)
        keep &= exclude[pos] != keys
    return np.asarray(keys[keep], dtype=np.int64)


# -------------------------------------------------------------------------------- features


def orient(
    knowledge: Knowledge, data: PairData, a: IntArray, b: IntArray
) -> tuple[IntArray, IntArray]:
    """Return (supplier, buyer) of each pair: `a` supplies `b` unless b's industry supplies a's more."""
    ia, ib = data.industry[a], data.industry[b]
    ok = (ia >= 0) & (ib >= 0)
    lift = knowledge.lift
    forward = np.where(ok, lift[np.maximum(ia, 0), np.maximum(ib, 0)], 1.0)
    backward = np.where(ok, lift[np.maximum(ib, 0), np.maximum(ia, 0)], 1.0)
    swap = backward > forward
    return np.where(swap, b, a), np.where(swap, a, b)


def _project_lists(data: PairData) -> tuple[IntArray, IntArray, IntArray]:
    """Return the project rows sorted by organisation, and each organisation's start and count."""
    order = np.argsort(data.project_org, kind="stable")
    org_sorted = data.project_org[order]
    start = np.searchsorted(org_sorted, np.arange(data.n), side="left")
    count = np.searchsorted(org_sorted, np.arange(data.n), side="right") - start
    return order, start, count


def project_combinations(
    data: PairData, a: IntArray, b: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Return every (pair, project of a, project of b) combination of the pairs (a, b)."""
    order, start, count = _project_lists(data)
    m = a.shape[0]
    combos = count[a] * count[b]
    pair = np.repeat(np.arange(m, dtype=np.int64), combos)
    offset = np.arange(pair.shape[0]) - np.repeat(np.cumsum(combos) - combos, combos)
    cb = np.maximum(count[b][pair], 1)
    pa = order[start[a][pair] + offset // cb]
    pb = order[start[b][pair] + offset % cb]
    return pair, pa, pb


def close_projects(
    data: PairData, a: IntArray, b: IntArray, window_days: float
) -> tuple[FloatArray, FloatArray]:
    """Return per pair the project pairs (any site) opened within the window and the smallest gap.

    Each project of the side with fewer projects is looked up among the other side's projects
    sorted by time, so the cost grows with the projects of the smaller side only.
    """
    m = a.shape[0]
    n_close = np.zeros(m)
    best = np.full(m, NO_GAP)
    if m == 0 or data.project_org.shape[0] == 0:
        return n_close, best
    t0 = int(data.project_created.min())
    seconds = (data.project_created - t0) // _SECOND
    order = np.lexsort((seconds, data.project_org))
    org_sorted = data.project_org[order]
    key = (org_sorted << 33) + seconds[order]
    start = np.searchsorted(org_sorted, np.arange(data.n), side="left")
    count = np.searchsorted(org_sorted, np.arange(data.n), side="right") - start
    swap = count[a] > count[b]
    small, large = np.where(swap, b, a), np.where(swap, a, b)
    c = count[small] * (count[large] > 0)
    pair = np.repeat(np.arange(m, dtype=np.int64), c)
    if not pair.shape[0]:
        return n_close, best
    offset = np.arange(pair.shape[0]) - np.repeat(np.cumsum(c) - c, c)
    t = seconds[order][start[small][pair] + offset]
    other = large[pair].astype(np.int64) << 33
    width = int(window_days * 86_400)
    lo = np.searchsorted(key, other + np.maximum(t - width, -1), side="right")
    hi = np.searchsorted(key, other + t + width, side="left")
    np.add.at(n_close, pair, (hi - lo).astype(np.float64))
    first = start[large][pair]
    last = first + count[large][pair] - 1
    pos = np.clip(np.searchsorted(key, other + t), first, last)
    gap = np.abs(key[pos] - other - t)
    before = np.maximum(pos - 1, first)
    gap = np.minimum(gap, np.abs(key[before] - other - t)) / 86_400.0
    close = gap < window_days
    np.minimum.at(best, pair[close], gap[close])
    return n_close, best


#: Columns of the projects opened at close dates on any site, computed last.
CLOSE_COLUMNS = (FEATURES.index("close_projects"), FEATURES.index("close_gap_days"))


def fill_close(
    x: FloatArray, data: PairData, supplier: IntArray, buyer: IntArray, window_days: float
) -> None:
    """Write ``close_projects`` and ``close_gap_days`` of the pairs into their rows of `x`."""
    n_close, gap = close_projects(data, supplier, buyer, window_days)
    x[:, CLOSE_COLUMNS[0]] = n_close
    x[:, CLOSE_COLUMNS[1]] = gap


def pair_features(
    data: PairData,
    knowledge: Knowledge,
    co: Copresence,
    scores: Scores,
    supplier: IntArray,
    buyer: IntArray,
    *,
    window_days: float,
    close: bool = True,
) -> FloatArray:
    """Return the :data:`FEATURES` of the oriented pairs (supplier, buyer), one row per pair.

    A pair's own supplier link is not counted in ``buyer_known_suppliers`` or
    ``supplier_known_buyers`` (it is never linked when scored, and is the target when trained).
    With ``close=False`` the costlier ``close_projects`` and ``close_gap_days`` are left at 0 and
    :data:`NO_GAP` (:func:`fill_close` adds them later).
    """
    m = supplier.shape[0]
    x = np.zeros((m, len(FEATURES)))
    i_s, i_b = data.industry[supplier], data.industry[buyer]
    known = (i_s >= 0) & (i_b >= 0)
    si, bi = np.maximum(i_s, 0), np.maximum(i_b, 0)
    x[:, 0] = np.where(known, np.log(knowledge.lift[si, bi]), 0.0)
    x[:, 1] = (data.region[supplier] == data.region[buyer]) & (data.region[supplier] >= 0)
    site, gap, visits = co.lookup(pair_key(supplier, buyer, data.n))
    x[:, 2] = site
    x[:, 3] = gap
    x[:, 5] = NO_GAP
    if close:
        fill_close(x, data, supplier, buyer, window_days)
    x[:, 6] = visits
    x[:, 7] = np.where(i_s >= 0, scores.buyer[buyer, si], 0.0)
    x[:, 8] = np.where(i_s >= 0, scores.supplier[supplier, si], 0.0)
    x[:, 9] = np.where(i_s >= 0, scores.known_suppliers[buyer, si], 0.0)
    x[:, 10] = np.where(i_b >= 0, scores.known_buyers[supplier, bi], 0.0)
    x[:, 11] = np.log1p(np.nan_to_num(data.employees[supplier], nan=0.0))
    x[:, 12] = np.log1p(np.nan_to_num(data.employees[buyer], nan=0.0))
    x[:, 13] = (data.size_band[supplier] == data.size_band[buyer]) & (data.size_band[supplier] >= 0)
    for col, org in ((14, supplier), (15, buyer)):
        seen = data.last_seen[org]
        x[:, col] = np.where(seen == NAT, NO_GAP, (data.as_of - seen) / DAY_NS)
    return x
