"""Benchmark: the default feature set of b2bclient against featuretools' Deep Feature Synthesis.

Builds ``make_client_base(n_organisations=100_000)`` and times ``build_features`` with every
built-in extractor (seconds, input rows per second, peak memory traced by ``tracemalloc`` relative
to the size of the input tables). Then runs featuretools' DFS and b2bclient on the same
organisations (whole holdings, a documented subsample by default because DFS on the full base
takes many minutes on a small machine) and prints how many times faster b2bclient is.

DFS gets the same tables, attached directly to ``organisations`` (``max_depth=1``): purchases
(won deals, timed by ``closed_at``), purchased lines (with the product's category and kind),
interactions, projects and contracts, with one cutoff time (``as_of``) for every organisation.
Its primitives are ``count``, ``sum``, ``mean``, ``max``, ``num_unique``, ``time_since_last`` and
``time_since_first`` over the whole history; ``count`` with ``where`` clauses on the channel of
purchases and interactions and the kind of lines; and windowed ``count`` and ``sum`` (plus the
``where`` counts) through two more DFS runs with ``training_window`` 90 and 365 days. Building the
EntitySet (woodwork typing) is timed separately and not counted against DFS.

Two cut-offs are measured: the end of the data (features "as of today", for scoring) and a
training cutoff in the middle of the last year, where ``base.as_of`` drops later organisations and
reverts later state changes. b2bclient counts the best of ``--repeat`` runs, DFS one run.

Run::

    PYTHONPATH=src python benchmarks/features.py                      # 100k, DFS on 20% of holdings
    PYTHONPATH=src python benchmarks/features.py --dfs-fraction 1.0  # DFS on everything (slow)
    PYTHONPATH=src python benchmarks/features.py --n-organisations 20000 --skip-dfs --dask 2

``--dask W`` also times ``build_features(base, as_of, engine=client)`` at the first cut-off on a
``LocalCluster`` of ``W`` single-threaded worker processes, beside the pandas engine of the same
run: the best wall seconds and the CPU seconds spent in the calling process (partitioning the
base and sending it to the workers), the result checked equal to the pandas engine's.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features

MIB = 2**20


def input_size(base: ClientBase) -> tuple[int, int]:
    """Return the rows and the bytes (deep) of all tables."""
    rows = sum(len(df) for df in base.tables.values())
    # pandas cannot measure the strings of a read-only object array in place: measure a copy
    size = sum(int(df.copy().memory_usage(deep=True).sum()) for df in base.tables.values())
    return rows, size


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory(fn: Callable[[], Any]) -> int:
    """Return the peak bytes allocated while `fn` runs, above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - before


def top_parents(orgs: pd.DataFrame) -> pd.Series:
    parent = orgs.set_index("organisation_id")["parent_id"]
    top = pd.Series(parent.index, index=parent.index)
    current = parent.copy()
    while current.notna().any():
        has = current.notna()
        top[has] = current[has]
        current[has] = parent.reindex(current[has]).to_numpy()
    return top


def subsample(base: ClientBase, fraction: float, seed: int = 0) -> ClientBase:
    """Return the client base restricted to a random `fraction` of holdings (whole holdings)."""
    if fraction >= 1.0:
        return base
    t = base.tables
    top = top_parents(t["organisations"])
    holdings = np.sort(top.unique())
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(holdings, size=max(1, round(fraction * len(holdings))), replace=False))
    keep = set(top.index[top.isin(chosen)])
    out = {}
    for name in ("organisations", "contacts", "deals", "projects", "interactions", "contracts"):
        out[name] = t[name][t[name]["organisation_id"].isin(keep)].reset_index(drop=True)
    out["deal_lines"] = t["deal_lines"][t["deal_lines"]["deal_id"].isin(out["deals"]["deal_id"])]
    out["stages"] = t["stages"][t["stages"]["project_id"].isin(out["projects"]["project_id"])]
    rel = t["relationships"]
    out["relationships"] = rel[rel["source_id"].isin(keep) & rel["target_id"].isin(keep)]
    out["products"] = t["products"]
    return ClientBase({k: v.reset_index(drop=True) for k, v in out.items()}, validate=False)


# --- featuretools ---------------------------------------------------------------------------------


def dfs_entityset(base: ClientBase) -> Any:
    """Return a featuretools EntitySet of the base's tables, each attached to organisations."""
    import featuretools as ft
    from woodwork.logical_types import Categorical, Datetime, Double, Unknown

    t = base.tables
    orgs = t["organisations"][["organisation_id", "created_at"]]
    deals = t["deals"]
    won = deals[deals["status"] == "won"]
    purchases = pd.DataFrame(
        {
            "deal_id": won["deal_id"].to_numpy(),
            "organisation_id": won["organisation_id"].to_numpy(),
            "closed_at": won["closed_at"].to_numpy(),
            "amount": won["amount"].to_numpy(),
            "channel": won["channel"].astype(object).to_numpy(),
        }
    )
    lines = t["deal_lines"].merge(
        purchases[["deal_id", "organisation_id", "closed_at"]], on="deal_id"
    )
    lines = lines.merge(
        t["products"][["product_id", "category", "kind"]], on="product_id", how="left"
    )
    lines = lines.assign(line_id=np.arange(len(lines)), kind=lines["kind"].astype(object))[
        ["line_id", "organisation_id", "closed_at", "product_id", "category", "kind", "amount"]
    ]
    inter = t["interactions"][
        ["interaction_id", "organisation_id", "occurred_at", "channel", "contact_id"]
    ]
    inter = inter.assign(channel=inter["channel"].astype(object))
    projects = t["projects"][["project_id", "organisation_id", "created_at", "expected_value"]]
    contracts = t["contracts"][["contract_id", "organisation_id", "started_at", "value"]]

    es = ft.EntitySet("clients")
    es.add_dataframe(
        dataframe_name="organisations",
        dataframe=orgs,
        index="organisation_id",
        time_index="created_at",
    )
    specs = [
        (
            "purchases",
            purchases,
            "deal_id",
            "closed_at",
            {"channel": Categorical, "amount": Double},
        ),
        (
            "lines",
            lines,
            "line_id",
            "closed_at",
            {
                "category": Categorical,
                "product_id": Categorical,
                "kind": Categorical,
                "amount": Double,
            },
        ),
        (
            "interactions",
            inter,
            "interaction_id",
            "occurred_at",
            {"channel": Categorical, "contact_id": Categorical},
        ),
        ("projects", projects, "project_id", "created_at", {"expected_value": Double}),
        ("contracts", contracts, "contract_id", "started_at", {"value": Double}),
    ]
    for name, df, index, time_index, types in specs:
        types = {"organisation_id": Unknown, **types, time_index: Datetime}
        es.add_dataframe(
            dataframe_name=name,
            dataframe=df,
            index=index,
            time_index=time_index,
            logical_types=types,
        )
        es.add_relationship("organisations", "organisation_id", name, "organisation_id")
    interesting = {
        "purchases": {"channel": ["portal", "sales_rep", "tender", "edi", "other"]},
        "interactions": {
            "channel": ["portal", "web", "email", "phone", "meeting", "support", "edi"]
        },
        "lines": {"kind": ["service"]},
    }
    for name, values in interesting.items():
        es.add_interesting_values(dataframe_name=name, values=values)
    return es


ALL_HISTORY = ["count", "sum", "mean", "max", "num_unique", "time_since_last", "time_since_first"]
WINDOWED = ["count", "sum"]


def run_dfs(es: Any, cutoff: pd.DataFrame) -> tuple[float, int]:
    """Run the three DFS passes (all history, 90 and 365 days); return seconds and feature count."""
    import featuretools as ft

    start = time.perf_counter()
    n = 0
    for primitives, window in ((ALL_HISTORY, None), (WINDOWED, "90 days"), (WINDOWED, "365 days")):
        matrix, _ = ft.dfs(
            entityset=es,
            target_dataframe_name="organisations",
            cutoff_time=cutoff,
            training_window=window,
            agg_primitives=primitives,
            where_primitives=["count"],
            trans_primitives=[],
            max_depth=1,
            verbose=False,
        )
        n += matrix.shape[1]
    return time.perf_counter() - start, n


# --- Dask engine ----------------------------------------------------------------------------------


def dask_engine(
    base: ClientBase, as_of: pd.Timestamp, workers: int, repeat: int, pandas_seconds: float
) -> None:
    """Time build_features on a local Dask cluster beside the pandas engine's best time."""
    import resource

    import distributed

    expected = build_features(base, as_of)
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = build_features(base, as_of, engine=client)  # warm-up: imports on the workers
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        wall, cpu = float("inf"), float("inf")
        for _ in range(repeat):
            gc.collect()
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            build_features(base, as_of, engine=client)
            wall = min(wall, time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = min(
                cpu,
                after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            )
    print(
        f"Dask engine, {workers} local workers, as of {as_of.date()}: {wall:.2f} s wall "
        f"(pandas engine {pandas_seconds:.2f} s), {cpu:.2f} CPU s in the calling process; "
        "result equal to the pandas engine's"
    )


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-organisations", type=int, default=100_000)
    parser.add_argument(
        "--as-of",
        nargs="+",
        default=["2025-01-01", "2024-07-01"],
        help="cut-offs: the end of the data (scoring today) and a training cutoff",
    )
    parser.add_argument("--dfs-fraction", type=float, default=0.2, help="share of holdings for DFS")
    parser.add_argument("--repeat", type=int, default=3, help="b2bclient runs; the best counts")
    parser.add_argument("--skip-dfs", action="store_true")
    parser.add_argument("--dask", type=int, default=0, metavar="W", help="also time W Dask workers")
    args = parser.parse_args()

    start = time.perf_counter()
    base = make_client_base(n_organisations=args.n_organisations, seed=0)
    generated = time.perf_counter() - start
    rows, size = input_size(base)
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"make_client_base({args.n_organisations:_}): {generated:.1f} s, {rows:,} rows, "
        f"{size / MIB:,.0f} MiB in memory"
    )

    label = f"{args.dfs_fraction:.0%} of holdings" if args.dfs_fraction < 1 else "all"
    sample = None if args.skip_dfs else subsample(base, args.dfs_fraction)
    cut_offs = [pd.Timestamp(value) for value in args.as_of]

    # b2bclient first, so that neither library runs in the other's leftover memory.
    table = []
    ours: dict[pd.Timestamp, float] = {}
    for as_of in cut_offs:
        seconds, X = best_time(lambda t=as_of: build_features(base, t), args.repeat)
        peak = peak_memory(lambda t=as_of: build_features(base, t))
        table.append(
            {
                "as_of": as_of.date(),
                "run": "b2bclient build_features",
                "organisations": len(X),
                "input rows": rows,
                "features": X.shape[1],
                "seconds": seconds,
                "rows/s": rows / seconds,
                "peak MiB": peak / MIB,
                "peak / input": peak / size,
            }
        )
        if sample is not None:
            ours[as_of], _ = best_time(lambda t=as_of: build_features(sample, t), args.repeat)

    ratios = []
    if sample is not None:
        warnings.filterwarnings("ignore")
        s_rows, _ = input_size(sample)
        t0 = time.perf_counter()
        es = dfs_entityset(sample)
        print(
            f"featuretools EntitySet of {label} (woodwork typing, not counted): "
            f"{time.perf_counter() - t0:.1f} s"
        )
        n_features = build_features(sample, cut_offs[0]).shape[1]
        for as_of in cut_offs:
            orgs = sample.organisations
            known = orgs.loc[orgs["created_at"] < as_of, "organisation_id"]
            cutoff = pd.DataFrame({"organisation_id": known.to_numpy(), "time": as_of})
            dfs_seconds, dfs_features = run_dfs(es, cutoff)
            for run, features, secs in (
                (f"b2bclient build_features, {label}", n_features, ours[as_of]),
                (f"featuretools DFS, {label}", dfs_features, dfs_seconds),
            ):
                table.append(
                    {
                        "as_of": as_of.date(),
                        "run": run,
                        "organisations": len(cutoff),
                        "input rows": s_rows,
                        "features": features,
                        "seconds": secs,
                        "rows/s": s_rows / secs,
                        "peak MiB": np.nan,
                        "peak / input": np.nan,
                    }
                )
            ratios.append((as_of.date(), dfs_seconds / ours[as_of]))

    if args.dask:
        dask_engine(base, cut_offs[0], args.dask, args.repeat, table[0]["seconds"])

    frame = pd.DataFrame(table)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            frame.to_string(
                index=False,
                formatters={
                    "input rows": "{:,}".format,
                    "seconds": "{:.2f}".format,
                    "rows/s": "{:,.0f}".format,
                    "peak MiB": "{:,.0f}".format,
                    "peak / input": "{:.2f}".format,
                },
            )
        )
    worst = frame.loc[frame["run"] == "b2bclient build_features"]
    print(
        f"targets: full default set < 20 s (slowest cut-off: {worst['seconds'].max():.1f} s); "
        f"peak < 3x the input tables (highest: {worst['peak / input'].max():.2f}x)"
    )
    for value, ratio in ratios:
        print(
            f"as of {value}: DFS / b2bclient on the same organisations = {ratio:.1f}x (target >= 20x)"
        )


if __name__ == "__main__":
    main()
