"""Benchmark a partitioned client base on a two-worker Dask LocalCluster, out of core.

Stages, each timed, with the peak resident memory of every process during the stage (sampled
every 0.2 s by a thread in each worker and in the calling process):

1. ``write_client_base``: generate the synthetic base straight to partitioned Parquet, one
   partition per task on the workers;
2. ``validate``: every partition on the workers, plus the reduce across partitions;
3. ``build_features``: every extractor, partition by partition (the relationships reduce
   included), written as a Parquet dataset by the workers;
4. churn scores: a ``ChurnModel(kind="cox")`` fitted on one partition (an in-memory base of
   20 000 organisations) scores every organisation from the features dataset, written as Parquet.

``--exactness 20000`` instead checks that the partitioned path gives exactly the in-memory
features (and churn scores) on a ``make_client_base`` of that size, on a LocalCluster of
processes and one of threads (the test suite checks the same on 1 200 organisations).

Targets (issue 14): 1 000 000 organisations (about 75 M rows), each worker under 6 GiB and the
calling process under 2 GiB. Run ``python benchmarks/scale_dask.py --n 1000000`` (``--quick``
for 40 000 organisations); data goes under ``--path`` (default ``/tmp/b2bclient-scale``) and is
deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

AS_OF = "2025-01-01"
COLUMNS = [
    "firmographics__size_band",
    "firmographics__log_employees",
    "purchasing__orders_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active",
]


class PeakRSS:
    """Sample this process's resident memory in a thread; ``take()`` returns and resets the peak."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self._process = psutil.Process()
        self._peak = 0
        self._every = every
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            rss = self._process.memory_info().rss
            with self._lock:
                self._peak = max(self._peak, rss)
            time.sleep(self._every)

    def take(self) -> int:
        with self._lock:
            peak, self._peak = self._peak, self._process.memory_info().rss
        return peak


def _start_sampler(dask_worker: Any) -> None:
    # Kept on the worker object: this script's globals are not shared between tasks.
    if not hasattr(dask_worker, "b2b_peak_rss"):
        dask_worker.b2b_peak_rss = PeakRSS()


def _take_peak(dask_worker: Any) -> int:
    return int(dask_worker.b2b_peak_rss.take())


def stage(name: str, client: Any, caller: PeakRSS, rows: list[dict[str, Any]], run: Any) -> Any:
    caller.take()
    client.run(_take_peak)
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    workers = client.run(_take_peak)
    row = {
        "stage": name,
        "seconds": round(seconds, 1),
        "caller_peak_gib": round(caller.take() / 2**30, 2),
        **{
            f"worker{i}_peak_gib": round(v / 2**30, 2)
            for i, v in enumerate(sorted(workers.values(), reverse=True))
        },
        "load": os.getloadavg()[0],
    }
    rows.append(row)
    print(json.dumps(row), flush=True)
    return result


def exactness(n: int, root: Path) -> None:
    """Compare the partitioned features and churn scores with the in-memory ones, on n organisations."""
    from dask.distributed import Client, LocalCluster

    from b2bclient.base import ClientBase
    from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
    from b2bclient.datasets import make_client_base
    from b2bclient.features import build_features

    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    base = make_client_base(n, seed=0)
    base.to_parquet(root, partition_by="holding", n_partitions=4)
    pbase = ClientBase.open_parquet(root)
    X = build_features(base, AS_OF)
    numeric = COLUMNS[1:]
    frame = survival_frame(
        base, as_of=AS_OF, definition=Inactivity("180D"), landmarks=["2024-07-01"], features=False
    )
    at_risk = build_features(base, "2024-07-01").loc[frame["organisation_id"], numeric]
    model = ChurnModel(kind="cox").fit(at_risk, Surv.from_frame(frame))
    expected = model.predict_churn_probability(X[numeric], horizon="180D")
    print(
        f"# {n:,} organisations, {int(base.summary()['rows'].sum()):,} rows; in memory "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    for processes in (True, False):
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter()
            pbase.validate(engine=client)
            lazy = build_features(pbase, AS_OF, engine=client)
            got = lazy.compute().sort_index()
            got.attrs = X.attrs
            pd.testing.assert_frame_equal(got, X, check_categorical=False)
            for column in X.select_dtypes("category"):
                assert got[column].astype(object).equals(X[column].astype(object))
            scores = lazy[numeric].map_partitions(
                model.predict_churn_probability,
                horizon="180D",
                meta=pd.Series(
                    dtype="float64",
                    name="churn_probability",
                    index=pd.Index([], dtype=object, name="organisation_id"),
                ),
            )
            pd.testing.assert_series_equal(scores.compute().sort_index(), expected)
            kind = "processes" if processes else "threads"
            print(
                f"# {kind}: validate, features and churn scores equal the in-memory ones "
                f"({X.shape[0]:,} x {X.shape[1]}, {time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--partition-size", type=int, default=20_000)
    parser.add_argument("--path", default="/tmp/b2bclient-scale")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--exactness", type=int, default=0)
    args = parser.parse_args()
    if args.exactness:
        exactness(args.exactness, Path(args.path))
        return
    n = 40_000 if args.quick else args.n

    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
    from b2bclient.datasets import write_client_base
    from b2bclient.features import build_features

    root = Path(args.path)
    shutil.rmtree(root, ignore_errors=True)
    data, features, scores = root / "base", root / "features", root / "scores"
    n_partitions = max(1, -(-n // args.partition_size))
    print(
        f"# {n:,} organisations in {n_partitions} partitions; {platform.platform()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()}",
        flush=True,
    )
    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        memory_limit="6GiB",
        dashboard_address=None,
    )
    client = Client(cluster)
    caller = PeakRSS()
    client.run(_start_sampler)
    rows: list[dict[str, Any]] = []
    try:
        pbase = stage(
            "generate (write_client_base)",
            client,
            caller,
            rows,
            lambda: write_client_base(data, n, n_partitions=n_partitions, seed=0, engine=client),
        )
        total = int(pbase.rows().to_numpy().sum())
        print(f"# {total:,} rows in the partitioned tables", flush=True)
        stage("validate", client, caller, rows, lambda: pbase.validate(engine=client))
        stage(
            "build_features -> Parquet",
            client,
            caller,
            rows,
            lambda: build_features(pbase, AS_OF, engine=client).to_parquet(features),
        )

        def churn_scores() -> None:
            train = pbase.partition(0)
            frame = survival_frame(
                train,
                as_of=AS_OF,
                definition=Inactivity("180D"),
                landmarks=["2023-07-01", "2024-01-01"],
            )
            model = ChurnModel(kind="cox").fit(frame[COLUMNS], Surv.from_frame(frame))
            X = dd.read_parquet(features, columns=COLUMNS)
            p = X.map_partitions(
                model.predict_churn_probability,
                horizon="180D",
                meta=pd.Series(
                    dtype="float64",
                    name="churn_probability",
                    index=pd.Index([], dtype=object, name="organisation_id"),
                ),
            )
            p.to_frame().to_parquet(scores)

        stage("churn scores -> Parquet", client, caller, rows, churn_scores)
        print(f"# {len(dd.read_parquet(scores)):,} organisations scored", flush=True)
    finally:
        client.close()
        cluster.close()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
