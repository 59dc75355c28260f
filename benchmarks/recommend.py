"""Benchmark: CrossSell and PartnerMatcher against baselines, a ceiling, implicit, and at scale.

**Partners.** On ``make_client_base(5_000)`` for seeds 0-2 and difficulty 0, 0.5 and 1, the
matcher is fitted as of the end of the data and lists the top 10 partners of every organisation;
a hidden pair (``truth.partner_pairs``) is found when either side lists the other. Reported in
the same run: the simple co-presence rule (same region 1 + same-site projects within 45 days 2
+ same-day site visits 3, ties at random; ``metrics.copresence_partners``), the matcher's own
rule fallback, and on the hidden pairs without any co-presence trace the expected recall of a
baseline told the answer's industry and region (``metrics.informed_random_pair_recall``), also
restricted to the pairs of which neither side churned (churn erases a pair's traces, so churned
organisations make up most of the pairs without any).

**Cross-sell.** On the same bases, fitted as of 2024-07-01 and scored on the products each
organisation buys for the first time in the next 180 days: CrossSell with context, the same
model without context, EASE, global popularity, random products of the industry, and where the
``implicit`` package is installed its BM25 item-item and ALS models on the same
organisation x product matrix (deals with the product before the cut-off).

**Scale.** On ``make_client_base(100_000)``: the wall and CPU time to fit each model and to
list the top 10 of all organisations, and the process's resident memory before listing (the
base, the model) and at its peak during listing.

Run::

    PYTHONPATH=src python benchmarks/recommend.py                 # everything (25 min at load 10-20)
    PYTHONPATH=src python benchmarks/recommend.py --skip-scale    # quality tables only
    PYTHONPATH=src python benchmarks/recommend.py --skip-quality  # 100k timings only
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import threading
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from b2bclient.datasets import make_client_base
from b2bclient.recommend import CrossSell, PartnerMatcher
from b2bclient.recommend._pairdata import pair_key
from b2bclient.recommend.metrics import (
    copresence_partners,
    future_purchases,
    informed_random_pair_recall,
    map_at_k,
    ndcg_at_k,
    pair_recall_at_k,
    popular_products,
    random_products_in_industry,
    recall_at_k,
)

END = pd.Timestamp("2025-01-01")
SPLIT = pd.Timestamp("2024-07-01")
GIB = 2**30


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Return the wall and CPU seconds of `fn` and its result (see :func:`rss_while`)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


def current_rss() -> int:
    """Return the resident memory of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_while(fn: Callable[[], Any]) -> tuple[float, float, int, int, Any]:
    """Return seconds, CPU seconds, resident memory before and its peak while `fn` runs, result.

    A thread samples ``/proc/self/statm`` every 20 ms (tracemalloc would slow the run down). The
    CPU seconds of the process are what the wall time would be on an idle machine when the work
    is single-threaded, and bound it when BLAS uses more threads: on a machine shared with other
    jobs they are the figure that does not depend on the load.
    """
    gc.collect()
    before = current_rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], current_rss())
            done.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    thread.join()
    return seconds, cpu, before, max(peak[0], current_rss()), out


# ------------------------------------------------------------------------------ partners


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


def partner_quality(n: int, seed: int, difficulty: float) -> dict[str, Any]:
    base, truth = make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)
    pairs = truth.partner_pairs
    fit_s, matcher = timed(lambda: PartnerMatcher().fit(base, END))
    match_s, matches = timed(lambda: matcher.match(None, k=10))
    rule_model = PartnerMatcher(model="rule").fit(base, END).match(None, k=10)
    rule = copresence_partners(base, END, k=10, random_state=seed)
    blind = no_trace(matcher, pairs)
    churned = truth.churned_at.reindex(pairs["organisation_id"]).notna().to_numpy() | (
        truth.churned_at.reindex(pairs["partner_id"]).notna().to_numpy()
    )
    return {
        "difficulty": difficulty,
        "seed": seed,
        "hidden pairs": len(pairs),
        "known links": matcher.n_links_,
        "model": matcher.model_,
        "recall": pair_recall_at_k(matches, pairs),
        "co-presence rule": pair_recall_at_k(rule, pairs),
        "rule fallback": pair_recall_at_k(rule_model, pairs),
        "no-trace share": float(blind.mean()),
        "no-trace recall": pair_recall_at_k(matches, pairs[blind]),
        "no-trace informed random": informed_random_pair_recall(base, END, pairs[blind]),
        "no-trace rule": pair_recall_at_k(rule, pairs[blind]),
        "churned side, no-trace": float(churned[blind].mean()),
        "churned side, others": float(churned[~blind].mean()),
        "no-trace recall, both alive": pair_recall_at_k(matches, pairs[blind & ~churned]),
        "no-trace informed random, both alive": informed_random_pair_recall(
            base, END, pairs[blind & ~churned]
        ),
        "fit s": fit_s,
        "match s": match_s,
    }


# ----------------------------------------------------------------------------- cross-sell


def implicit_lists(
    base: Any, ids: np.ndarray, kind: str, reference: CrossSell, k: int = 10
) -> tuple[pd.DataFrame, float]:
    """Fit an implicit model on CrossSell's organisation x product matrix; return its lists."""
    import implicit
    import implicit.utils
    from threadpoolctl import threadpool_limits

    matrix = sp.csr_matrix(reference._snapshot.owned, dtype=np.float32)
    rows = reference.organisation_ids_.get_indexer(ids)
    start = time.perf_counter()
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        # implicit converts its own transposed matrix and says so; nothing to act on.
        warnings.simplefilter("ignore", implicit.utils.ParameterWarning)
        if kind == "bm25":
            model = implicit.nearest_neighbours.BM25Recommender(K=50)
        else:
            model = implicit.als.AlternatingLeastSquares(
                factors=32, iterations=15, regularization=0.05, random_state=0
            )
        model.fit(matrix, show_progress=False)
        items, scores = model.recommend(
            rows, sp.csr_matrix(matrix[rows]), N=k, filter_already_liked_items=True
        )
    seconds = time.perf_counter() - start
    org = np.repeat(np.asarray(ids, dtype=object), k)
    rank = np.tile(np.arange(1, k + 1), len(ids))
    flat = items.ravel()
    keep = flat >= 0
    frame = pd.DataFrame(
        {
            "organisation_id": org[keep],
            "rank": rank[keep],
            "product_id": reference.product_ids_[flat[keep]],
            "score": scores.ravel()[keep],
        }
    )
    return frame, seconds


def cross_sell_quality(n: int, seed: int, difficulty: float, with_implicit: bool) -> dict[str, Any]:
    base = make_client_base(n, seed=seed, difficulty=difficulty)
    relevant = future_purchases(base, SPLIT, "180D")
    ids = relevant["organisation_id"].unique()
    lists: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    for name, params in (
        ("context", {}),
        ("no context", {"context": False}),
        ("EASE + context", {"item_model": "ease"}),
    ):
        start = time.perf_counter()
        model = CrossSell(**params).fit(base, SPLIT)
        lists[name] = model.recommend(ids, k=10)
        seconds[name] = time.perf_counter() - start
        if name == "no context":
            plain = model
    lists["popularity"] = popular_products(base, SPLIT, ids, k=10)
    lists["random in industry"] = random_products_in_industry(base, SPLIT, ids, k=10)
    if with_implicit:
        for kind, name in (("bm25", "implicit BM25 item-item"), ("als", "implicit ALS")):
            lists[name], seconds[name] = implicit_lists(base, ids, kind, plain)
    row: dict[str, Any] = {"difficulty": difficulty, "seed": seed, "organisations": len(ids)}
    for name, recs in lists.items():
        row[f"MAP {name}"] = map_at_k(recs, relevant, 10)
        row[f"NDCG {name}"] = ndcg_at_k(recs, relevant, 10)
        row[f"recall {name}"] = recall_at_k(recs, relevant, 10)
    for name, s in seconds.items():
        row[f"s {name}"] = s
    return row


# ---------------------------------------------------------------------------------- scale


def scale(n: int) -> list[dict[str, Any]]:
    gen_s, base = timed(lambda: make_client_base(n, seed=0))
    print(f"generated {n:,} organisations in {gen_s:.1f} s", flush=True)
    rows = []
    fit_s, fit_cpu, matcher = timed_cpu(lambda: PartnerMatcher().fit(base, END))
    match_s, match_cpu, before, peak, matches = rss_while(partial(matcher.match, None, k=10))
    rows.append(
        {
            "model": f"PartnerMatcher ({matcher.model_}, {matcher.n_train_links_} training links)",
            "fit s": fit_s,
            "fit CPU s": fit_cpu,
            "top-10 of all s": match_s,
            "top-10 of all CPU s": match_cpu,
            "rows": len(matches),
            "RSS before GiB": before / GIB,
            "peak RSS GiB": peak / GIB,
            "load average": os.getloadavg()[0],
        }
    )
    print(rows[-1], flush=True)
    matcher = matches = None
    gc.collect()
    fit_s, fit_cpu, cross = timed_cpu(lambda: CrossSell().fit(base, END))
    rec_s, rec_cpu, before, peak, recs = rss_while(partial(cross.recommend, None, k=10))
    rows.append(
        {
            "model": f"CrossSell ({cross.blend_} blend)",
            "fit s": fit_s,
            "fit CPU s": fit_cpu,
            "top-10 of all s": rec_s,
            "top-10 of all CPU s": rec_cpu,
            "rows": len(recs),
            "RSS before GiB": before / GIB,
            "peak RSS GiB": peak / GIB,
            "load average": os.getloadavg()[0],
        }
    )
    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5_000, help="organisations of the quality bases")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--scale-n", type=int, default=100_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    try:
        import implicit

        with_implicit = True
        print(f"implicit {implicit.__version__}")
    except ImportError:
        with_implicit = False
        print("implicit is not installed: its models are left out (pip install implicit)")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    if not args.skip_quality:
        partner_rows, cross_rows = [], []
        for d in args.difficulties:
            for seed in args.seeds:
                partner_rows.append(partner_quality(args.n, seed, d))
                print(partner_rows[-1], flush=True)
                cross_rows.append(cross_sell_quality(args.n, seed, d, with_implicit))
                print(cross_rows[-1], flush=True)
        partners = pd.DataFrame(partner_rows)
        partners["recall / rule"] = partners["recall"] / partners["co-presence rule"]
        partners["no-trace recall / informed random"] = (
            partners["no-trace recall"] / partners["no-trace informed random"]
        )
        print("\nPartnerMatcher, recall@10 of the hidden pairs (either side lists the other)")
        print(partners.round(3).to_string(index=False))
        print(partners.drop(columns=["seed", "model"]).groupby("difficulty").mean().round(3).T)
        cross = pd.DataFrame(cross_rows)
        cross["context / popularity"] = cross["MAP context"] / cross["MAP popularity"]
        cross["context / no context"] = cross["MAP context"] / cross["MAP no context"]
        print("\nCrossSell, MAP@10 of the new products of the next 180 days")
        print(cross.round(4).to_string(index=False))
        print(cross.drop(columns=["seed"]).groupby("difficulty").mean().round(4).T)
    if not args.skip_scale:
        print(pd.DataFrame(scale(args.scale_n)).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
