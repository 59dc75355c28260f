"""Ranking of PartnerMatcher's candidates for a chunk of organisations, with roles and reasons.

Each organisation's candidates (the sparse joins of :mod:`b2bclient.recommend._pairs`) are
ranked by the rule, or by the linear shortlist model and then, for the shortlist only, by the
pair model; the projects at close dates, the costliest feature, are filled in for the pairs that
need them. The partner's role follows the learnt complementarity of the two industries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.recommend._matcher_reasons import explain_pairs
from b2bclient.recommend._pairdata import PairData
from b2bclient.recommend._pairs import candidate_pairs, fill_close

if TYPE_CHECKING:
    from b2bclient.recommend._matcher import PartnerMatcher

__all__ = ["match_chunk"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _with_close(
    x: FloatArray, data: PairData, s: IntArray, b: IntArray, window_days: float
) -> FloatArray:
    """Return feature rows `x` with the projects at close dates filled in."""
    fill_close(x, data, s, b, window_days)
    return x


def _used_rows(pair: IntArray, n: int) -> IntArray:
    """Return the distinct values of `pair` (rows below `n`), sorted."""
    used = np.zeros(n, dtype=bool)
    used[pair] = True
    return np.flatnonzero(used)


def _rank_within(
    q: IntArray, p: IntArray, pair: IntArray, score: FloatArray
) -> tuple[IntArray, IntArray, IntArray, FloatArray, IntArray]:
    """Sort directed rows by query, then score (best first); return 0-based ranks.

    One stable sort of ``query + (1 - squash(score)) / 2``, where squash maps scores into
    (0, 1) monotonically and depends on the score alone, so a query's ranking never depends on
    which other queries are scored with it. Ties keep the input order.
    """
    squashed = 0.5 + np.arctan(score) / np.pi
    order = np.argsort(q + 0.5 * (1.0 - squashed), kind="stable")
    q, p, pair, score = q[order], p[order], pair[order], score[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]]) if q.shape[0] else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, q.shape[0]])
    rank = np.arange(q.shape[0]) - np.repeat(starts, sizes)
    return q, p, pair, score, rank


def match_chunk(matcher: PartnerMatcher, codes: IntArray, k: int) -> pd.DataFrame:
    """Return the matches of the organisations at positions `codes`, ranked (no checks)."""
    data = matcher._data
    n = data.n
    keys = candidate_pairs(
        data, matcher._co, matcher._block_groups, matcher._block_members, codes, data.linked
    )
    s, b, x = matcher._features(keys, close=False)
    pre = matcher._rule(s, b, x) if matcher.classifier_ is None else matcher._prescore(x)
    # Directed rows: each query listed with its candidates.
    is_query = np.zeros(n, dtype=bool)
    is_query[codes] = True
    lo, hi = keys // n, keys % n
    fwd, bwd = np.flatnonzero(is_query[lo]), np.flatnonzero(is_query[hi])
    q = np.concatenate([lo[fwd], hi[bwd]])
    p = np.concatenate([hi[fwd], lo[bwd]])
    pair = np.concatenate([fwd, bwd])
    score = pre[pair]
    q, p, pair, score, rank = _rank_within(q, p, pair, score)
    if matcher.classifier_ is not None:
        short = rank < max(int(matcher.shortlist), k)
        q, p, pair = q[short], p[short], pair[short]
        rows = _used_rows(pair, keys.shape[0])
        x[rows] = _with_close(x[rows], data, s[rows], b[rows], float(matcher.window_days))
        final = np.zeros(keys.shape[0])
        final[rows] = matcher.classifier_.predict_proba(x[rows])[:, 1]
        q, p, pair, score, rank = _rank_within(q, p, pair, final[pair])
    keep = rank < k
    q, p, pair, score, rank = q[keep], p[keep], pair[keep], score[keep], rank[keep] + 1
    if matcher.classifier_ is None:  # the reasons state projects at close dates
        rows = _used_rows(pair, keys.shape[0])
        x[rows] = _with_close(x[rows], data, s[rows], b[rows], float(matcher.window_days))
    comp = matcher.complementary_.to_numpy()
    i_q, i_p = data.industry[q], data.industry[p]
    ok = (i_q >= 0) & (i_p >= 0)
    supplies_q = ok & comp[np.maximum(i_p, 0), np.maximum(i_q, 0)]
    supplies_p = ok & comp[np.maximum(i_q, 0), np.maximum(i_p, 0)]
    role = np.where(supplies_q, "supplier", np.where(supplies_p, "buyer", "co-participant"))
    # The requested order of organisations is kept.
    position = np.full(n, -1, dtype=np.int64)
    position[codes[::-1]] = np.arange(codes.shape[0])[::-1]
    final_order = np.lexsort((rank, position[q]))
    q, p, pair, rank, role = (v[final_order] for v in (q, p, pair, rank, role))
    score = score[final_order]
    ids = matcher.organisation_ids_.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "organisation_id": ids[q],
            "rank": rank.astype(np.int64),
            "partner_id": ids[p],
            "score": score,
            "role": role.astype(object),
            "reasons": explain_pairs(matcher, s[pair], b[pair], x[pair]),
        }
    )
