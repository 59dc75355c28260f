"""Benchmark the Segmenter: recovery of the planted segments against the ceiling, and speed.

**Accuracy.** For 3 seeds and difficulty 0.0 and 0.5, ``make_client_base(5_000, seed=s,
difficulty=d, return_truth=True)`` and ``build_features(base, as_of=<end of the data>)``; then,
as adjusted Rand indices against ``truth.segment`` (``b2bclient.segment._recovery``):

* the **supervised ceiling**: a gradient-boosting classifier trained on the true segments, 5-fold
  cross-validated predictions, on the same features;
* the **plain baseline**: scikit-learn's ``KMeans(5)`` on standardised ``build_features``
  output;
* each Segmenter method with ``n_segments="auto"`` and the number of segments it chose;
* the **Bayes-optimal** ARI from ``truth.traits`` (the generator's own ceiling).

The targets are ``Segmenter(n_segments="auto")`` >= 0.8 x the ceiling and >= 2 x the baseline,
4 to 6 segments everywhere and exactly 5 at difficulty 0 for at least 2 of the 3 seeds.

**Speed.** ``make_client_base(100_000)``, the default feature set as of the end of the data,
then ``Segmenter(method="kmeans", n_segments=5)`` (representation and preprocessing included)
and scikit-learn's plain ``KMeans(5)`` on the same profile matrix, timed beside it; also the
k-means Segmenter with ``n_segments="auto"``. Target: the Segmenter under 60 s.

Run::

    PYTHONPATH=src python benchmarks/segment.py             # accuracy table and speed
    PYTHONPATH=src python benchmarks/segment.py --quick     # a smoke run on small sizes
    PYTHONPATH=src python benchmarks/segment.py --speed-only
    # the accuracy table in three processes, then together:
    PYTHONPATH=src python benchmarks/segment.py --accuracy-only --seeds 0 --json s0.json  # 1, 2
    PYTHONPATH=src python benchmarks/segment.py --combine s0.json s1.json s2.json
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.datasets import make_client_base
from b2bclient.features import build_features
from b2bclient.segment import Segmenter
from b2bclient.segment._recovery import recovery

END = "2025-01-01"
METHODS = ("gmm", "kmeans", "kprototypes", "hdbscan")


def accuracy(
    n: int,
    seeds: list[int],
    difficulties: list[float],
    verbose: bool = False,
    methods: tuple[str, ...] = METHODS,
    supervised: bool = True,
) -> pd.DataFrame:
    """Return one row per (difficulty, seed) with every ARI and the chosen numbers."""
    rows = []
    for difficulty in difficulties:
        for seed in seeds:
            base, truth = make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)
            X = build_features(base, as_of=END)
            r = recovery(
                X,
                truth.segment,
                traits=truth.traits,
                difficulty=difficulty,
                methods=methods,
                supervised=supervised,
                random_state=0,
            )
            row: dict[str, Any] = {
                "difficulty": difficulty,
                "seed": seed,
                "supervised": r["supervised"],
                "plain_kmeans": r["plain_kmeans"],
                "bayes": r["bayes"],
            }
            for m in METHODS:
                done = m in methods
                row[m] = r[m]["ari"] if done else np.nan
                row[f"{m}_k"] = r[m]["n_segments"] if done else -1
                row[f"{m}_s"] = r[m]["seconds"] if done else np.nan
            row["hdbscan_unassigned"] = (
                r["hdbscan"]["unassigned"] if "hdbscan" in methods else np.nan
            )
            rows.append(row)
            print(_row_text(row), flush=True)
            if verbose:
                print(r["gmm"]["selection"].round(1).to_string(), flush=True)
    return pd.DataFrame(rows)


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"d={row['difficulty']:.1f} seed={row['seed']}: supervised {row['supervised']:.3f} "
        f"plain KMeans {row['plain_kmeans']:.3f} bayes {row['bayes']:.3f} | "
        + " ".join(f"{m} {row[m]:.3f} (k={row[f'{m}_k']}, {row[f'{m}_s']:.0f} s)" for m in METHODS)
    )


def report(table: pd.DataFrame) -> None:
    """Print the table as Markdown with the ratios the targets are stated in."""
    t = table.copy()
    t["vs ceiling"] = t["gmm"] / t["supervised"]
    t["vs plain"] = t["gmm"] / t["plain_kmeans"]
    columns = [
        "difficulty",
        "seed",
        "bayes",
        "supervised",
        "plain_kmeans",
        "gmm",
        "gmm_k",
        "vs ceiling",
        "vs plain",
        "kmeans",
        "kmeans_k",
        "kprototypes",
        "kprototypes_k",
        "hdbscan",
        "hdbscan_k",
        "hdbscan_unassigned",
    ]
    print()
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for _, row in t[columns].iterrows():
        cells = []
        for c in columns:
            v = row[c]
            if c in ("seed",) or c.endswith("_k"):
                cells.append(str(int(v)))
            elif c == "difficulty":
                cells.append(f"{v:.1f}")
            else:
                cells.append(f"{v:.3f}")
        print("| " + " | ".join(cells) + " |")
    ok_ceiling = bool((t["vs ceiling"] >= 0.8).all())
    ok_plain = bool((t["vs plain"] >= 2.0).all())
    ok_range = bool(t["gmm_k"].between(4, 6).all())
    five = int((t.loc[t["difficulty"] == 0.0, "gmm_k"] == 5).sum())
    print(
        f"\ntargets: >= 0.8 x ceiling everywhere: {ok_ceiling} (min {t['vs ceiling'].min():.2f}); "
        f">= 2 x plain everywhere: {ok_plain} (min {t['vs plain'].min():.2f}); "
        f"4-6 segments everywhere: {ok_range}; exactly 5 at d=0: {five} of "
        f"{int((t['difficulty'] == 0.0).sum())} seeds"
    )


def speed(n: int, repeat: int) -> None:
    """Time the k-means Segmenter (features to segments) and plain KMeans on the same matrix."""
    from sklearn.cluster import KMeans

    t0 = time.perf_counter()
    base = make_client_base(n, seed=0)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    X = build_features(base, as_of=END)
    t_features = time.perf_counter() - t0
    print(
        f"\n{n:,} organisations: base {t_base:.1f} s, build_features {t_features:.1f} s "
        f"({X.shape[1]} features)"
    )
    best_seg = best_plain = (np.inf, np.inf)
    seg = Segmenter(method="kmeans", n_segments=5, random_state=0)
    for _ in range(repeat):
        with _Timer() as t:
            seg.fit(X)
        best_seg = min(best_seg, t.times)
        design = seg._design(X, "benchmark")
        with _Timer() as t:
            KMeans(5, n_init=3, random_state=0).fit(design.shrunk)
        best_plain = min(best_plain, t.times)
    with _Timer() as t:
        auto = Segmenter(method="kmeans", random_state=0).fit(X)
    best_auto = t.times
    print("| task | wall s | CPU s |")
    print("|---|---|---|")
    print(
        f"| Segmenter(method='kmeans', n_segments=5).fit(X), features to segments | "
        f"{best_seg[0]:.2f} | {best_seg[1]:.2f} |"
    )
    print(
        f"| scikit-learn KMeans(5, n_init=3) on the same profile matrix | {best_plain[0]:.2f} | "
        f"{best_plain[1]:.2f} |"
    )
    print(
        f"| Segmenter(method='kmeans', n_segments='auto') (2-8 tried, silhouette), chose "
        f"{auto.n_segments_} | {best_auto[0]:.2f} | {best_auto[1]:.2f} |"
    )
    print(
        f"target: under 60 s: {best_seg[0] < 60} (CPU {best_seg[1]:.1f} s); ratio to plain "
        f"KMeans {best_seg[0] / best_plain[0]:.1f}; load average {os.getloadavg()[0]:.1f}"
    )


class _Timer:
    """Wall and CPU time (all threads of this process) of a block."""

    def __enter__(self) -> _Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.times = (time.perf_counter() - self._wall, time.process_time() - self._cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one seed")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--accuracy-only", action="store_true")
    parser.add_argument("-n", type=int, default=5_000, help="organisations for accuracy")
    parser.add_argument("--verbose", action="store_true", help="print every selection table")
    parser.add_argument("--speed-n", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=METHODS, help="methods to run"
    )
    parser.add_argument(
        "--no-supervised", action="store_true", help="skip the supervised ceiling (slowest part)"
    )
    parser.add_argument("--json", help="also write the accuracy rows to this JSON file")
    parser.add_argument("--combine", nargs="+", help="print the table of JSON files and stop")
    args = parser.parse_args()
    if args.combine:
        report(pd.concat([pd.read_json(path) for path in args.combine], ignore_index=True))
        return
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )
    if not args.speed_only:
        n = 1_500 if args.quick else args.n
        seeds = [0] if args.quick else args.seeds
        table = accuracy(
            n,
            seeds,
            args.difficulties,
            verbose=args.verbose,
            methods=tuple(args.methods),
            supervised=not args.no_supervised,
        )
        if args.json:
            table.to_json(args.json)
        report(table)
    if not args.accuracy_only:
        speed(10_000 if args.quick else args.speed_n, 1 if args.quick else 3)


if __name__ == "__main__":
    main()
