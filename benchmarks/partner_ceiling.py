"""Benchmark: how far the hidden partner pairs without a co-presence trace can be found at all.

Issue 8 asks that, on the hidden partner pairs leaving no co-presence trace (no same-site
projects within 45 days, no same-day site visit), ``PartnerMatcher`` reach 0.7 x the recall@10
of a baseline told the answer's industry and region that picks at random inside them
(``metrics.informed_random_pair_recall``). This script sets the matcher beside two ceilings,
on ``make_client_base(5_000)`` for seeds 0-2 and difficulty 0, 0.5 and 1, fitted as of the end
of the data:

* **firmographic oracle** -- a recommender that knows the generator's rule for drawing pairs
  (which industries supply which, the probability that a pair shares a region) and lists for
  each organisation the 10 organisations of the cells (industry, region) most likely to hold a
  partner; its expected recall on the pairs without a trace, by the same formula as the
  informed baseline. It is what industry and region alone can give.
* **supervised ceiling** -- a gradient-boosting pair model with the matcher's candidates and
  features, trained on the hidden pairs themselves (the truth) of another seed of the same
  difficulty, 30 candidates per pair as negatives, then listing the top 10 of every
  organisation of the evaluated seed. Trained on the evaluated seed's own pairs it would learn
  them by heart; trained on another seed's it shows what the features can tell.

Also reported: the share of the pairs without a trace within the matcher's candidates, the
share that crosses regions, the matcher's recall where neither side churned, and how specific
the one trace left to a pair across regions is: projects of both opened within 15 days of each
other on any site, for the pairs without a trace and for 50 organisations drawn from the
answer's industry in any region (the look-alikes a candidate join on it would propose).

Run::

    PYTHONPATH=src python benchmarks/partner_ceiling.py      # about 5 min at load 15-20
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

from b2bclient.datasets import make_client_base
from b2bclient.datasets._vocabulary import COMPLEMENTS
from b2bclient.recommend import PartnerMatcher
from b2bclient.recommend._pairdata import pair_key
from b2bclient.recommend._pairs import (
    FEATURES,
    candidate_pairs,
    close_projects,
    orient,
    pair_features,
)
from b2bclient.recommend.metrics import informed_random_pair_recall, pair_recall_at_k

END = pd.Timestamp("2025-01-01")
K = 10


def no_trace(matcher: PartnerMatcher, pairs: pd.DataFrame) -> np.ndarray:
    """Return the mask of pairs without same-site projects at close dates or same-day visits."""
    ids = matcher.organisation_ids_
    keys = pair_key(
        ids.get_indexer(pairs["organisation_id"]),
        ids.get_indexer(pairs["partner_id"]),
        matcher._data.n,
    )
    site, _, visits = matcher._co.lookup(keys)
    return np.asarray((site == 0) & (visits == 0))


def firmographic_oracle(matcher: PartnerMatcher, pairs: pd.DataFrame, difficulty: float) -> float:
    """Return the expected recall@K on `pairs` of lists drawn from the likeliest cells."""
    data = matcher._data
    names = [str(x) for x in data.industry_names]
    ind, reg = data.industry, data.region
    n_ind, n_reg = len(names), data.region_names.shape[0]
    q_region = 0.95 - 0.5 * difficulty  # datasets._partners.plan_partners
    ok = (ind >= 0) & (reg >= 0)
    cells = np.zeros((n_ind, n_reg))
    np.add.at(cells, (ind[ok], reg[ok]), 1.0)
    total = cells.sum(axis=1)
    same = np.eye(n_reg)
    # density[I, r, J, s]: expected pairs between one organisation of (I, r) and one of (J, s)
    density = np.zeros((n_ind, n_reg, n_ind, n_reg))
    for supplier, buyer in COMPLEMENTS:
        a, b = names.index(supplier), names.index(buyer)
        rate = 0.12 * min(total[a], total[b]) / total[a]
        local = q_region * same / np.maximum(cells[b], 1.0)[None, :]
        v = rate * (local + (1.0 - q_region) / total[b])
        density[a, :, b, :] += v
        density[b, :, a, :] += v.T
    share = np.zeros_like(density)
    flat_cells = cells.ravel()
    for i in range(n_ind):
        for r in range(n_reg):
            flat = density[i, r].ravel()
            left = float(K)
            out = np.zeros_like(flat)
            for c in np.argsort(-flat, kind="stable"):
                if left <= 0 or flat[c] <= 0:
                    break
                take = min(left, flat_cells[c])
                out[c] = take / max(flat_cells[c], 1.0)
                left -= take
            share[i, r] = out.reshape(n_ind, n_reg)
    ids = matcher.organisation_ids_
    a = ids.get_indexer(pairs["organisation_id"])
    b = ids.get_indexer(pairs["partner_id"])
    pa = share[ind[a], reg[a], ind[b], reg[b]]
    pb = share[ind[b], reg[b], ind[a], reg[a]]
    return float(np.mean(1.0 - (1.0 - pa) * (1.0 - pb)))


def close_specificity(matcher: PartnerMatcher, pairs: pd.DataFrame) -> tuple[float, float]:
    """Return the share of `pairs`, and of look-alikes, with projects within 15 days (any site)."""
    data, ids = matcher._data, matcher.organisation_ids_
    a = ids.get_indexer(pairs["organisation_id"])
    b = ids.get_indexer(pairs["partner_id"])
    found, _ = close_projects(data, a, b, 15.0)
    rng = np.random.default_rng(0)
    by_industry = {i: np.flatnonzero(data.industry == i) for i in np.unique(data.industry[b])}
    lb = np.concatenate([rng.choice(by_industry[i], 50) for i in data.industry[b]])
    chance, _ = close_projects(data, np.repeat(a, 50), lb, 15.0)
    return float(np.mean(found > 0)), float(np.mean(chance > 0))


def candidates(seed: int, difficulty: float) -> dict[str, Any]:
    """Fit the matcher and return its candidates of all organisations with features and labels."""
    base, truth = make_client_base(5_000, seed=seed, difficulty=difficulty, return_truth=True)
    pairs = truth.partner_pairs
    matcher = PartnerMatcher().fit(base, END)
    data, ids = matcher._data, matcher.organisation_ids_
    n = data.n
    keys = candidate_pairs(
        data, matcher._co, matcher._block_groups, matcher._block_members, np.arange(n), data.linked
    )
    a = ids.get_indexer(pairs["organisation_id"])
    b = ids.get_indexer(pairs["partner_id"])
    s, bb = orient(matcher._knowledge, data, keys // n, keys % n)
    x = pair_features(
        data, matcher._knowledge, matcher._co, matcher._scores, s, bb, window_days=45.0
    )
    blind = no_trace(matcher, pairs)
    churned = truth.churned_at.reindex(pairs["organisation_id"]).notna().to_numpy() | (
        truth.churned_at.reindex(pairs["partner_id"]).notna().to_numpy()
    )
    blind_keys = pair_key(a[blind], b[blind], n)
    return {
        "base": base,
        "pairs": pairs,
        "matcher": matcher,
        "keys": keys,
        "x": x,
        "y": np.isin(keys, pair_key(a, b, n)),
        "blind": blind,
        "churned": churned,
        "in candidates": float(np.isin(blind_keys, keys).mean()),
        "cross region": float(np.mean(data.region[a[blind]] != data.region[b[blind]])),
    }


def top_lists(c: dict[str, Any], score: np.ndarray) -> pd.DataFrame:
    """Return the top K of every organisation by `score` of its candidate pairs."""
    n, keys, ids = c["matcher"]._data.n, c["keys"], c["matcher"].organisation_ids_
    lo, hi = keys // n, keys % n
    q, p, s = np.r_[lo, hi], np.r_[hi, lo], np.r_[score, score]
    order = np.lexsort((-s, q))
    q, p = q[order], p[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    rank = np.arange(q.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, q.shape[0]]))
    top = rank < K
    return pd.DataFrame(
        {"organisation_id": ids[q[top]], "rank": rank[top] + 1, "partner_id": ids[p[top]]}
    )


def supervised(train: dict[str, Any], test: dict[str, Any]) -> tuple[pd.DataFrame, pd.Series]:
    """Train on the hidden pairs of `train`, list the top K of `test`; feature importances."""
    y = train["y"]
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    rows = np.r_[pos, rng.choice(neg, min(neg.shape[0], 30 * pos.shape[0]), replace=False)]
    model = GradientBoostingClassifier(
        n_estimators=60, max_depth=3, learning_rate=0.1, min_samples_leaf=20, random_state=0
    ).fit(train["x"][rows], y[rows])
    lists = top_lists(test, model.predict_proba(test["x"])[:, 1])
    return lists, pd.Series(model.feature_importances_, index=list(FEATURES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for d in args.difficulties:
        built = {seed: candidates(seed, d) for seed in args.seeds}
        for i, seed in enumerate(args.seeds):
            c = built[seed]
            other = built[args.seeds[(i + 1) % len(args.seeds)]]
            pairs, blind, churned = c["pairs"], c["blind"], c["churned"]
            matches = c["matcher"].match(None, k=K)
            lists, importance = supervised(other, c)
            informed = informed_random_pair_recall(c["base"], END, pairs[blind])
            alive = blind & ~churned
            close_pairs, close_lookalikes = close_specificity(c["matcher"], pairs[blind])
            row = {
                "difficulty": d,
                "seed": seed,
                "no-trace pairs": int(blind.sum()),
                "in candidates": c["in candidates"],
                "cross region": c["cross region"],
                "a side churned": float(churned[blind].mean()),
                "informed random": informed,
                "matcher": pair_recall_at_k(matches, pairs[blind]),
                "close projects, pairs": close_pairs,
                "close projects, look-alikes": close_lookalikes,
                "firmographic oracle": firmographic_oracle(c["matcher"], pairs[blind], d),
                "supervised ceiling": pair_recall_at_k(lists, pairs[blind]),
                "supervised, all pairs": pair_recall_at_k(lists, pairs),
                "matcher, all pairs": pair_recall_at_k(matches, pairs),
                "matcher, neither churned": pair_recall_at_k(matches, pairs[alive]),
                "informed, neither churned": informed_random_pair_recall(
                    c["base"], END, pairs[alive]
                ),
                "matcher, a side churned": pair_recall_at_k(matches, pairs[blind & churned]),
                "informed, a side churned": informed_random_pair_recall(
                    c["base"], END, pairs[blind & churned]
                ),
            }
            rows.append(row)
            print(row, flush=True)
            print("  supervised importances:", importance.nlargest(5).round(3).to_dict())
    table = pd.DataFrame(rows)
    for name in ("matcher", "firmographic oracle", "supervised ceiling"):
        table[f"{name} / informed"] = table[name] / table["informed random"]
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    print(table.round(3).to_string(index=False))
    print(table.drop(columns=["seed"]).groupby("difficulty").mean().round(3).T)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
