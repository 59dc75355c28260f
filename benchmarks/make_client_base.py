"""Time ``make_client_base`` and, optionally, measure how hard its planted signals are.

Usage::

    python benchmarks/make_client_base.py                    # 100 000 organisations, seed 0
    python benchmarks/make_client_base.py -n 20000 --quality # plus segment ARI, concordance, ...

The timing includes building the validated ClientBase. Peak memory is the peak resident set size of
the process (``resource.getrusage``), so run one size per process.

``--quality`` prints, per difficulty, the figures quoted in docs/datasets.md:

* the adjusted Rand index (ARI) of the Bayes classifier that knows the generator's mixture and sees
  the latent traits (the best any segmentation can reach), and of k-means (k=5) on standardised
  observable per-organisation aggregates;
* Harrell's concordance of the true linear predictor with the true churn times (censored at
  ``end``) on a held-out half of the organisations alive at the landmark;
* the share of 95% intervals of an unpenalised lifelines Cox fit that cover the true coefficients,
  over several seeds;
* the AUC of a simple partner signal (same region, same-site projects within 45 days, same-day site
  visits) of true pairs against all look-alikes of the buyer's industry.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time

import pandas as pd

from b2bclient.datasets import SyntheticTruth, make_client_base

END = pd.Timestamp("2025-01-01")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def time_generation(n: int, seed: int) -> None:
    start = time.perf_counter()
    base = make_client_base(n, seed=seed)
    elapsed = time.perf_counter() - start
    print(
        f"make_client_base(n_organisations={n:_}, seed={seed}) on {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    print(f"{'table':<16}{'rows':>12}")
    for name, table in base.tables.items():
        print(f"{name:<16}{len(table):>12,}")
    big = sum(len(base.tables[k]) for k in ("deals", "deal_lines", "interactions"))
    print(f"{'deals+lines+int.':<16}{big:>12,}")
    print(f"time {elapsed:.1f} s, peak resident memory {_peak_rss_mb():,.0f} MB")


def _truth(n: int, seed: int, difficulty: float) -> SyntheticTruth:
    return make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)[1]


def quality(n: int, seed: int, coverage_seeds: int) -> None:
    from lifelines import CoxPHFitter
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    from b2bclient.datasets._segments import bayes_segments
    from b2bclient.datasets._signals import (
        heldout_concordance,
        landmark_survival,
        observable_aggregates,
        partner_auc,
    )

    print(f"\nplanted signals, n_organisations={n:_}, seed={seed}")
    header = (
        f"{'difficulty':>10}{'Bayes ARI':>11}{'k-means ARI':>13}{'C held-out':>12}"
        f"{'churned':>9}{'partner AUC':>13}{'Cox 95% cover':>15}"
    )
    print(header)
    for difficulty in (0.0, 0.25, 0.5, 0.75, 1.0):
        base, truth = make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)
        codes = truth.segment.cat.codes.to_numpy()
        bayes = adjusted_rand_score(codes, bayes_segments(truth.traits.to_numpy(), difficulty))
        z = StandardScaler().fit_transform(observable_aggregates(base, END))
        km = KMeans(5, n_init=10, random_state=0).fit_predict(z)
        kmeans = adjusted_rand_score(codes, km)
        c = heldout_concordance(truth, END, seed=seed)
        churned_share = landmark_survival(truth, END)[1].mean()
        auc = partner_auc(base, truth)
        covered = total = 0
        for s in range(seed, seed + coverage_seeds):
            tr = truth if s == seed else _truth(n, s, difficulty)
            duration, event = landmark_survival(tr, END)
            frame = tr.covariates.assign(duration=duration, event=event.astype(int))
            summary = CoxPHFitter(penalizer=0.0).fit(frame, "duration", "event").summary
            beta = tr.hazard_coefficients
            inside = (summary["coef lower 95%"] <= beta) & (beta <= summary["coef upper 95%"])
            covered += int(inside.sum())
            total += len(beta)
        print(
            f"{difficulty:>10.2f}{bayes:>11.3f}{kmeans:>13.3f}{c:>12.3f}{churned_share:>9.2f}"
            f"{auc:>13.3f}{covered / total:>15.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-organisations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quality", action="store_true", help="also measure the planted signals")
    parser.add_argument("--coverage-seeds", type=int, default=4)
    args = parser.parse_args()
    time_generation(args.n_organisations, args.seed)
    if args.quality:
        quality(args.n_organisations, args.seed, args.coverage_seeds)


if __name__ == "__main__":
    main()
