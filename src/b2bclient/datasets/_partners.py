"""Planted supplier <-> buyer complementarity between organisations.

A pair is a supplier in one industry and a buyer in a complementary one (steel -> machinery,
chemicals -> pharma, packaging -> food, ... see ``COMPLEMENTS``). The pair leaves traces in the
tables, each present only with some probability that falls as ``difficulty`` rises:

* both are in the same region more often than chance;
* during each joint episode both organisations open a project within a few weeks of each other on
  the same site (the project names share the site, e.g. ``"Duisburg Rheinhafen Halle 3 - Neubau"``);
* they hold site visits on the same days (``interactions`` with channel ``meeting``, kind
  ``site_visit``, each pointing to its own joint project);
* the buyer orders goods in the supplier's own category around the episode.

Look-alikes carry the same traces by chance: sites repeat inside a region, and "decoy" pairs of the
same industries open projects on shared sites at close dates without the rest. A share of the pairs
is already linked in ``relationships`` (kind ``supplier``), which gives a matcher labelled
examples; the others are the hidden truth.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, SERVICE_CATEGORIES
from b2bclient.datasets._activity import KINDS
from b2bclient.datasets._calendar import DAY, HOUR, INF, floor_seconds
from b2bclient.datasets._firms import Columns
from b2bclient.datasets._vocabulary import (
    COMPLEMENTS,
    INDUSTRIES,
    REGION_PLACES,
    SITE_OBJECTS,
    SUPPLY_CATEGORY,
)

__all__ = ["PartnerPlan", "joint_meetings", "make_relationships", "plan_partners", "root_of"]

_SITES_PER_REGION = len(REGION_PLACES[0]) * len(SITE_OBJECTS)
_PAIR_RATE = 0.12
_LINKED_SHARE = 0.4
Int64Array = npt.NDArray[np.int64]


@attrs.frozen
class PartnerPlan:
    """Pairs, their episodes and the rows they add to the tables."""

    supplier: Int64Array
    buyer: Int64Array
    linked: npt.NDArray[np.bool_]
    link_since: Int64Array
    project_specs: Columns
    #: For each joint episode with meetings: project row (within project_specs) of both sides.
    meeting_supplier_project: Int64Array
    meeting_buyer_project: Int64Array
    meeting_count: Int64Array
    deal_specs: Columns


def root_of(parent: Int64Array) -> Int64Array:
    """Return the top of the holding of each organisation (itself when it has no parent)."""
    root = np.arange(parent.shape[0], dtype=np.int64)
    for _ in range(8):
        up = parent[root]
        if not (up >= 0).any():
            break
        root = np.where(up >= 0, up, root)
    return root


def _draw_pairs(
    rng: np.random.Generator, orgs: Columns, ratio: float, q_region: float
) -> tuple[Int64Array, Int64Array]:
    """Draw supplier/buyer pairs of complementary industries, same region with prob `q_region`."""
    industry, region = orgs["industry"], orgs["region"]
    suppliers: list[Int64Array] = []
    buyers: list[Int64Array] = []
    for a_name, b_name in COMPLEMENTS:
        a_idx = np.flatnonzero(industry == INDUSTRIES.index(a_name))
        b_idx = np.flatnonzero(industry == INDUSTRIES.index(b_name))
        m = round(ratio * min(a_idx.shape[0], b_idx.shape[0]))
        if m == 0:
            continue
        s = a_idx[rng.integers(a_idx.shape[0], size=m)]
        b_any = b_idx[rng.integers(b_idx.shape[0], size=m)]
        # Same-region buyer: index into the buyers sorted by region.
        b_sorted = b_idx[np.argsort(region[b_idx], kind="stable")]
        counts = np.bincount(region[b_idx], minlength=8)
        first = np.cumsum(counts) - counts
        r = region[s]
        local = first[r] + np.floor(rng.random(m) * counts[r]).astype(np.int64)
        b_local = b_sorted[np.minimum(local, b_sorted.shape[0] - 1)]
        same = (rng.random(m) < q_region) & (counts[r] > 0)
        suppliers.append(s)
        buyers.append(np.where(same, b_local, b_any))
    if not suppliers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(suppliers), np.concatenate(buyers)


def plan_partners(
    rng: np.random.Generator, orgs: Columns, *, end: int, difficulty: float
) -> PartnerPlan:
    """Draw partner pairs, decoy look-alikes and the projects, meetings and orders they leave."""
    d = difficulty
    q_region = 0.95 - 0.5 * d
    q_project = 0.9 - 0.5 * d
    q_site = 0.95 - 0.5 * d
    meet_rate = 2.0 * (1.0 - d) + 0.3
    q_purchase = 0.8 - 0.5 * d
    decoy_ratio = 0.5 + 3.0 * d

    created = orgs["created"]
    root = root_of(orgs["parent"])
    s, b = _draw_pairs(rng, orgs, _PAIR_RATE, q_region)
    key = np.unique(s * created.shape[0] + b)
    s, b = key // created.shape[0], key % created.shape[0]
    window_lo = np.maximum(created[s], created[b])
    window_hi = end - 60 * DAY
    ok = (root[s] != root[b]) & (window_lo < window_hi)
    s, b, window_lo = s[ok], b[ok], window_lo[ok]
    perm = rng.permutation(s.shape[0])
    s, b, window_lo = s[perm], b[perm], window_lo[perm]
    n_pairs = s.shape[0]
    linked = rng.random(n_pairs) < _LINKED_SHARE

    # Episodes of true pairs, then decoys (same industries, no meetings, no orders).
    n_ep = 1 + rng.poisson(0.5, n_pairs)
    ep_pair = np.repeat(np.arange(n_pairs), n_ep)
    ep_s, ep_b = s[ep_pair], b[ep_pair]
    lo = window_lo[ep_pair]
    tau = lo + floor_seconds(rng.random(ep_pair.shape[0]) * (window_hi - lo))
    link_since = np.full(n_pairs, INF, dtype=np.int64)
    np.minimum.at(link_since, ep_pair, tau)

    n_hidden = int((~linked).sum())
    ds, db = _draw_pairs(
        rng, orgs, _PAIR_RATE * decoy_ratio * max(n_hidden, 1) / max(n_pairs, 1), q_region
    )
    d_lo = np.maximum(created[ds], created[db])
    keep = (d_lo < window_hi) & (root[ds] != root[db])
    ds, db, d_lo = ds[keep], db[keep], d_lo[keep]
    d_tau = d_lo + floor_seconds(rng.random(ds.shape[0]) * (window_hi - d_lo))

    all_s = np.concatenate([ep_s, ds])
    all_b = np.concatenate([ep_b, db])
    all_tau = np.concatenate([tau, d_tau])
    is_true = np.concatenate([np.ones(ep_s.shape[0], bool), np.zeros(ds.shape[0], bool)])
    k = all_s.shape[0]
    with_project = rng.random(k) < np.where(is_true, q_project, 1.0)
    idx = np.flatnonzero(with_project)
    kp = idx.shape[0]
    site_region = orgs["region"][all_b[idx]]
    site_b = site_region * _SITES_PER_REGION + rng.integers(_SITES_PER_REGION, size=kp)
    other_site = orgs["region"][all_s[idx]] * _SITES_PER_REGION + rng.integers(
        _SITES_PER_REGION, size=kp
    )
    share_site = rng.random(kp) < np.where(is_true[idx], q_site, 0.9)
    site_s = np.where(share_site, site_b, other_site)
    jitter = floor_seconds(rng.normal(0.0, 10.0, (2, kp)) * DAY)
    t_s = np.clip(all_tau[idx] + jitter[0], created[all_s[idx]], end - DAY)
    t_b = np.clip(all_tau[idx] + jitter[1], created[all_b[idx]], end - DAY)
    value = np.exp(9.8 + 0.6 * rng.standard_normal(kp))
    specs: Columns = {
        "org": np.concatenate([all_s[idx], all_b[idx]]).astype(np.int64),
        "created": np.concatenate([t_s, t_b]),
        "value": np.maximum(np.round(np.concatenate([0.4 * value, value]), -2), 100.0),
        "site": np.concatenate([site_s, site_b]).astype(np.int64),
        "scope": rng.integers(8, size=2 * kp).astype(np.int64),
    }
    # Meetings only for true episodes that have joint projects.
    true_with = is_true[idx]
    n_meet = rng.poisson(meet_rate, kp)
    sel = true_with & (n_meet > 0)
    meeting_supplier_project = np.flatnonzero(sel).astype(np.int64)
    meeting_buyer_project = (kp + meeting_supplier_project).astype(np.int64)

    # The buyer orders goods of the supplier's category around true episodes.
    buys = rng.random(ep_s.shape[0]) < q_purchase
    supply = np.array([SUPPLY_CATEGORY.get(name, -1) for name in INDUSTRIES], dtype=np.int64)
    cat = supply[orgs["industry"][ep_s]]
    buys &= cat >= 0
    bi = np.flatnonzero(buys)
    nb = bi.shape[0]
    buy_t = np.minimum(tau[bi] + floor_seconds(rng.random(nb) * 60 * DAY) + 8 * HOUR, end - HOUR)
    deal_specs: Columns = {
        "org": ep_b[bi].astype(np.int64),
        "project": np.full(nb, -1, dtype=np.int64),
        "created": buy_t,
        "channel": np.full(nb, DEAL_CHANNELS.index("sales_rep"), dtype=np.int64),
        "value": np.exp(8.8 + 0.6 * rng.standard_normal(nb)),
        "stage": np.full(nb, -1, dtype=np.int64),
        "extra_lines": np.zeros(nb, dtype=np.int64),
        "goods": np.ones(nb, dtype=bool),
        "forced_service": np.full(nb, -1, dtype=np.int64),
        "forced_category": cat[bi],
        "boost": np.zeros((nb, len(SERVICE_CATEGORIES))),
    }
    return PartnerPlan(
        supplier=s,
        buyer=b,
        linked=linked,
        link_since=link_since,
        project_specs=specs,
        meeting_supplier_project=meeting_supplier_project,
        meeting_buyer_project=meeting_buyer_project,
        meeting_count=n_meet[sel].astype(np.int64),
        deal_specs=deal_specs,
    )


def joint_meetings(
    rng: np.random.Generator,
    plan: PartnerPlan,
    projects: Columns,
    offset: int,
    *,
    end: int,
) -> Columns:
    """Draw same-day site visits of both sides of each true episode on their joint projects.

    `offset` is the row of the first partner project in `projects`.
    """
    ps = np.repeat(plan.meeting_supplier_project + offset, plan.meeting_count)
    pb = np.repeat(plan.meeting_buyer_project + offset, plan.meeting_count)
    k = ps.shape[0]
    lo = np.maximum(projects["created"][ps], projects["created"][pb])
    day = lo - lo % DAY + DAY + np.floor(rng.random(k) * 120.0).astype(np.int64) * DAY
    t_s = day + floor_seconds((8.0 + 8.0 * rng.random(k)) * HOUR)
    t_b = day + floor_seconds((8.0 + 8.0 * rng.random(k)) * HOUR)
    ok = (t_s < end) & (t_b < end)
    ps, pb, t_s, t_b = ps[ok], pb[ok], t_s[ok], t_b[ok]
    k = ps.shape[0]
    return {
        "org": np.concatenate([projects["org"][ps], projects["org"][pb]]),
        "t": np.concatenate([t_s, t_b]),
        "channel": np.full(2 * k, CHANNELS.index("meeting"), dtype=np.int64),
        "kind": np.full(2 * k, KINDS.index("site_visit"), dtype=np.int64),
        "project": np.concatenate([ps, pb]).astype(np.int64),
        "wants_contact": np.ones(2 * k, dtype=bool),
    }


def make_relationships(
    rng: np.random.Generator, orgs: Columns, plan: PartnerPlan, *, start: int, end: int
) -> Columns:
    """Build the known links: holdings, the linked partner pairs, and unrelated noise links.

    Kinds are codes into RELATIONSHIP_KINDS (parent, supplier, partner, referral). No link of any
    kind joins the two sides of a hidden partner pair.
    """
    created = orgs["created"]
    parent = orgs["parent"]
    n = created.shape[0]
    child = np.flatnonzero(parent >= 0)
    parts: list[tuple[Int64Array, Int64Array, int, Int64Array]] = [
        (child, parent[child], 0, created[child]),
        (plan.supplier[plan.linked], plan.buyer[plan.linked], 1, plan.link_since[plan.linked]),
    ]
    # Unrelated links between random organisations, mostly in the same region for partners.
    for kind, share in ((1, 0.005), (2, 0.01)):
        m = round(share * n)
        a = rng.integers(n, size=m)
        b = rng.integers(n, size=m)
        lo = np.maximum(created[a], created[b])
        since = lo + floor_seconds(rng.random(m) * np.maximum(end - lo, 0))
        parts.append((a, b, kind, since))
    # Referrals: a client recommends a newer one, which arrives when the link is made.
    late = np.flatnonzero(created > start + 120 * DAY)
    m = min(round(0.02 * n), late.shape[0])
    target = late[rng.integers(late.shape[0], size=m)] if m else np.zeros(0, dtype=np.int64)
    source = np.floor(rng.random(m) * target).astype(np.int64)
    parts.append((source, target, 3, created[target]))

    source_all = np.concatenate([p[0] for p in parts]).astype(np.int64)
    target_all = np.concatenate([p[1] for p in parts]).astype(np.int64)
    kind_all = np.concatenate([np.full(p[0].shape[0], p[2], dtype=np.int64) for p in parts])
    since_all = np.concatenate([p[3] for p in parts]).astype(np.int64)
    hidden = ~plan.linked
    lo_pair = np.minimum(plan.supplier[hidden], plan.buyer[hidden])
    hi_pair = np.maximum(plan.supplier[hidden], plan.buyer[hidden])
    hidden_key = lo_pair * n + hi_pair
    key = np.minimum(source_all, target_all) * n + np.maximum(source_all, target_all)
    ok = (
        (source_all != target_all)
        & ~np.isin(key, hidden_key)
        & (since_all < end)
        & (since_all >= np.maximum(created[source_all], created[target_all]))
    )
    source_all, target_all, kind_all, since_all = (
        a[ok] for a in (source_all, target_all, kind_all, since_all)
    )
    _, first = np.unique((source_all * n + target_all) * 4 + kind_all, return_index=True)
    first = np.sort(first)
    return {
        "source": source_all[first],
        "target": target_all[first],
        "kind": kind_all[first],
        "since": since_all[first],
    }
