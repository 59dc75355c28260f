"""Plain-words reasons of PartnerMatcher's matches, each a checkable statement about the data.

A match lists every reason that holds for the pair, most specific first, joined by ``"; "``:

* ``"site visits on the same day 3 times, last on 2024-05-02"`` (``"once"`` for one day);
* ``"projects on the same site Duisburg Rheinhafen Halle 3: PR-000123 (2024-03-01) and
  PR-000456 (2024-03-12), 11.2 days apart"`` (``" (2 such pairs)"`` when there are more);
* ``"projects opened 12.0 days apart: PR-000123 (2024-03-01) and PR-000789 (2024-03-13)"`` when
  their close projects are on different sites;
* ``"O-000042 bought pallets_containers goods on 9 lines before 2025-01-01, 2.1 expected from its
  industry's mix, goods that buyers of logistics suppliers buy more than their peers"``;
* ``"logistics organisations supply retail organisations: 14 known supplier links before
  2025-01-01"``;
* ``"both in region west"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from b2bclient.recommend._pairs import FEATURES, NO_GAP, project_combinations

if TYPE_CHECKING:
    from b2bclient.recommend._matcher import PartnerMatcher

__all__ = ["explain_pairs"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_F = {name: i for i, name in enumerate(FEATURES)}
#: A buyer's purchases are a reason from this surprise on (a chance of at most e**-2, 14%).
BUYER_EVIDENCE = 2.0


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _dates(ns: IntArray) -> npt.NDArray[np.str_]:
    """Return int64 nanosecond times as ISO dates."""
    return np.datetime_as_string(np.asarray(ns, dtype=np.int64).view("datetime64[ns]"), unit="D")


def _best_projects(
    model: PartnerMatcher, s: IntArray, b: IntArray, same_site: bool
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Return per pair the closest project pair (rows of the project arrays) and its gap in days.

    Only project pairs opened within the window count (gaps to the second, as in the features);
    with `same_site` only those on one site. Also returns the number of such project pairs.
    Rows are -1 where there is none.
    """
    data = model._data
    m = s.shape[0]
    pair, ps, pb = project_combinations(data, s, b)
    seconds = data.project_created // 10**9
    gap_s = np.abs(seconds[ps] - seconds[pb])
    ok = gap_s < int(float(model.window_days) * 86_400)
    if same_site:
        ok &= data.project_site[ps] == data.project_site[pb]
    pair, ps, pb, gap = pair[ok], ps[ok], pb[ok], gap_s[ok] / 86_400.0
    n_pairs = np.bincount(pair, minlength=m).astype(np.int64)
    best_s = np.full(m, -1, dtype=np.int64)
    best_b = np.full(m, -1, dtype=np.int64)
    best_gap = np.full(m, NO_GAP)
    if pair.shape[0]:
        o = np.lexsort((ps, pb, gap, pair))
        first = np.ones(o.shape[0], dtype=bool)
        first[1:] = pair[o][1:] != pair[o][:-1]
        sel = o[first]
        best_s[pair[sel]] = ps[sel]
        best_b[pair[sel]] = pb[sel]
        best_gap[pair[sel]] = gap[sel]
    return best_s, best_b, best_gap, n_pairs


def _last_shared_day(model: PartnerMatcher, s: IntArray, b: IntArray) -> IntArray:
    """Return per pair the last day (days since the epoch) with site visits of both (-1 if none)."""
    data = model._data
    n = data.n
    order = np.lexsort((data.visit_day, data.visit_org))
    org_sorted = data.visit_org[order]
    days = data.visit_day[order]
    key = org_sorted * np.int64(1 << 32) + days
    start = np.searchsorted(org_sorted, np.arange(n), side="left")
    count = np.searchsorted(org_sorted, np.arange(n), side="right") - start
    m = s.shape[0]
    c = count[s]
    pair = np.repeat(np.arange(m, dtype=np.int64), c)
    offset = np.arange(pair.shape[0]) - np.repeat(np.cumsum(c) - c, c)
    day = days[start[s][pair] + offset]
    probe = b[pair].astype(np.int64) * np.int64(1 << 32) + day
    pos = np.minimum(np.searchsorted(key, probe), max(key.shape[0] - 1, 0))
    shared = key[pos] == probe if key.shape[0] else np.zeros(0, dtype=bool)
    out = np.full(m, -1, dtype=np.int64)
    np.maximum.at(out, pair[shared], day[shared])
    return out


def buyer_category(
    model: PartnerMatcher, s: IntArray, b: IntArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return per pair the category that makes the buyer look like a buyer of the supplier.

    Also the buyer's goods lines of that category and the count expected from its industry's
    mix (its goods lines times its industry's share of the category). The category is -1 where
    no learnt category applies.
    """
    data = model._data
    weights = model._knowledge.weights
    i_s = data.industry[s]
    contrib = weights[np.maximum(i_s, 0)] * model._surprise[b]
    cat = np.where((i_s >= 0) & (contrib.max(axis=1) > 0), contrib.argmax(axis=1), -1)
    counts = data.category_counts
    count = np.where(cat >= 0, counts[b, np.maximum(cat, 0)], 0.0)
    n_ind = data.industry_names.shape[0]
    group = np.where(data.industry >= 0, data.industry, n_ind)
    grouped = np.zeros((n_ind + 1, counts.shape[1]))
    np.add.at(grouped, group, counts)
    sums = grouped.sum(axis=1, keepdims=True)
    shares = np.divide(grouped, sums, out=np.zeros_like(grouped), where=sums > 0)
    expected = counts[b].sum(axis=1) * shares[group[b], np.maximum(cat, 0)]
    return cat, count, expected


def explain_pairs(
    model: PartnerMatcher, s: IntArray, b: IntArray, x: FloatArray
) -> npt.NDArray[np.object_]:
    """Return the reasons of each pair (supplier `s`, buyer `b`, features `x`)."""
    data = model._data
    m = s.shape[0]
    out = np.empty(m, dtype=object)
    if m == 0:
        return out
    date = _dates(np.array([data.as_of]))[0]
    ids = model.organisation_ids_.to_numpy(dtype=object)
    industries = data.industry_names
    comp = model.complementary_.to_numpy()
    i_s, i_b = data.industry[s], data.industry[b]
    complementary = (i_s >= 0) & (i_b >= 0) & comp[np.maximum(i_s, 0), np.maximum(i_b, 0)]
    links = model._knowledge.links
    empty = np.full(m, "", dtype=object)
    visit_text, project_text, buyer_text = empty.copy(), empty.copy(), empty.copy()
    has_rare = np.zeros(m, dtype=bool)

    visits = x[:, _F["same_day_visits"]]
    rows = np.flatnonzero(visits > 0)
    if rows.shape[0]:
        last = np.datetime_as_string(
            _last_shared_day(model, s[rows], b[rows]).astype("datetime64[D]"), unit="D"
        )
        has_rare[rows] = True
        visit_text[rows] = [
            f"site visits on the same day {_times(int(v))}, last on {day}"
            for v, day in zip(visits[rows], last, strict=True)
        ]

    rows = np.flatnonzero((x[:, _F["same_site_projects"]] > 0) | (x[:, _F["close_projects"]] > 0))
    if rows.shape[0]:
        pid = data.project_ids
        when = _dates(data.project_created).astype(object)
        site_s, site_b, site_gap, site_n = _best_projects(model, s[rows], b[rows], same_site=True)
        any_s, any_b, any_gap, _ = _best_projects(model, s[rows], b[rows], same_site=False)
        on_site = site_s >= 0
        sel, ps, pb = rows[on_site], site_s[on_site], site_b[on_site]
        project_text[sel] = [
            f"projects on the same site {site}: {p1} ({d1}) and {p2} ({d2}), {gap:.1f} days apart"
            + (f" ({n} such pairs)" if n > 1 else "")
            for site, p1, d1, p2, d2, gap, n in zip(
                data.site_names[data.project_site[ps]].tolist(),
                pid[ps].tolist(),
                when[ps].tolist(),
                pid[pb].tolist(),
                when[pb].tolist(),
                site_gap[on_site].tolist(),
                site_n[on_site].tolist(),
                strict=True,
            )
        ]
        close = ~on_site & (any_s >= 0)
        sel, ps, pb = rows[close], any_s[close], any_b[close]
        project_text[sel] = [
            f"projects opened {gap:.1f} days apart: {p1} ({d1}) and {p2} ({d2})"
            for gap, p1, d1, p2, d2 in zip(
                any_gap[close].tolist(),
                pid[ps].tolist(),
                when[ps].tolist(),
                pid[pb].tolist(),
                when[pb].tolist(),
                strict=True,
            )
        ]
        has_rare[rows[on_site | close]] = True

    rows = np.flatnonzero(x[:, _F["buyer_purchases"]] >= BUYER_EVIDENCE)
    if rows.shape[0]:
        cat, count, expected = buyer_category(model, s[rows], b[rows])
        keep = (cat >= 0) & (count > expected)
        sel = rows[keep]
        has_rare[sel] = True
        buyer_text[sel] = [
            f"{who} bought {what} goods on {int(k)} lines before {date}, {e:.1f} expected from "
            f"its industry's mix, goods that buyers of {ind} suppliers buy more than their peers"
            for who, what, k, e, ind in zip(
                ids[b[sel]].tolist(),
                data.category_names[cat[keep]].tolist(),
                count[keep].tolist(),
                expected[keep].tolist(),
                industries[i_s[sel]].tolist(),
                strict=True,
            )
        ]

    # The two common reasons come from small tables; rows with a rarer reason are joined alone.
    n_ind = industries.shape[0]
    n_reg = data.region_names.shape[0]
    comp_code = np.where(
        complementary, np.maximum(i_s, 0) * n_ind + np.maximum(i_b, 0), n_ind * n_ind
    )
    same = x[:, _F["same_region"]] > 0
    reg_code = np.where(same, data.region[s], n_reg)
    comp_texts = [
        f"{industries[i]} organisations supply {industries[j]} organisations: "
        f"{int(links[i, j])} known supplier links before {date}"
        for i in range(n_ind)
        for j in range(n_ind)
    ] + [""]
    reg_texts = [f"both in region {name}" for name in data.region_names] + [""]
    table = np.array(
        ["; ".join(t for t in (c, r) if t) for c in comp_texts for r in reg_texts],
        dtype=object,
    )
    out[:] = table[comp_code * (n_reg + 1) + reg_code]
    rare = np.flatnonzero(has_rare)
    out[rare] = [
        "; ".join(t for t in texts if t)
        for texts in zip(
            visit_text[rare], project_text[rare], buyer_text[rare], out[rare], strict=True
        )
    ]
    return out
