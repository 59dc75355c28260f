"""Time ``make_client_base`` and, optionally, measure how hard its planted signals are.

Usage::

    python benchmarks/make_client_base.py                    # 100 000 organisations, seed 0
    python benchmarks/make_client_base.py -n 20000 --quality # plus segment ARI, concordance, ...
    python benchmarks/make_client_base.py --no-timing --ceilings  # the ceilings of later models

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
  visits) of true pairs against all look-alikes of the buyer's industry;
* the AUC of the true win probabilities on closed deals and of the channel's win rate;
* the shares of completed, active and cancelled projects and the median observed stage durations;
* the share of 95% intervals of lifelines fits that cover the planted lifecycle coefficients: a
  lognormal AFT per transition (design, production, procurement) and a Cox model of the project's
  own cancellations stratified by stage.

``--ceilings`` prints the ceilings the later models are judged against, over 3 seeds of 5 000
organisations at difficulty 0.5: the true win probabilities' Brier score, AUC and calibration on
closed deals beside a channel-only baseline; the procurement oracle's concordance and calibration
per stage at 2024-01-01; the Spearman correlation with the planted wallets of a cross-validated
regression trained on them, beside plain last-year spend.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.datasets import SyntheticTruth, make_client_base

END = pd.Timestamp("2025-01-01")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def time_generation(n: int, seed: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    base = make_client_base(n, seed=seed)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"make_client_base(n_organisations={n:_}, seed={seed}) on {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    print(f"{'table':<16}{'rows':>12}")
    for name, table in base.tables.items():
        print(f"{name:<16}{len(table):>12,}")
    big = sum(len(base.tables[k]) for k in ("deals", "deal_lines", "interactions"))
    print(f"{'deals+lines+int.':<16}{big:>12,}")
    print(
        f"time {elapsed:.1f} s (CPU {cpu:.1f} s, load average {os.getloadavg()[0]:.1f} at the "
        f"end), peak resident memory {_peak_rss_mb():,.0f} MB"
    )


def _generate(n: int, seed: int, difficulty: float) -> tuple[ClientBase, SyntheticTruth]:
    return make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)


def lifecycle_coverage(base: ClientBase, truth: SyntheticTruth) -> tuple[int, int]:
    """Count the planted lifecycle coefficients inside lifelines' 95% intervals, and all of them."""
    from lifelines import CoxPHFitter, LogNormalAFTFitter

    from b2bclient.base._schema import STAGES
    from b2bclient.datasets._projects import PROJECT_COVARIATES
    from b2bclient.datasets._signals import stage_history

    covariates = list(PROJECT_COVARIATES)
    covered = total = 0
    history = stage_history(base, truth)
    for stage in ("design", "production", "procurement"):
        rows = history[history["stage"] == stage]
        columns = covariates[:4] + [f"log_days_{e}" for e in STAGES[: STAGES.index(stage)]]
        frame = rows[columns].assign(days=rows["days"].clip(lower=1e-3), done=rows["completed"])
        summary = LogNormalAFTFitter().fit(frame, "days", "done").summary.loc["mu_"]
        planted = truth.stage_transitions.loc[stage, columns]
        inside = (summary.loc[columns, "coef lower 95%"] <= planted) & (
            planted <= summary.loc[columns, "coef upper 95%"]
        )
        covered += int(inside.sum())
        total += len(columns)
    frame = history[covariates].assign(
        days=history["days"].clip(lower=1e-3),
        event=(history["cancelled"] & ~history["churn"]).astype(int),
        stage=history["stage"].cat.codes,
    )
    summary = CoxPHFitter().fit(frame, "days", "event", strata=["stage"]).summary
    planted = truth.cancellation_hazard.iloc[0][covariates]
    inside = (summary["coef lower 95%"] <= planted) & (planted <= summary["coef upper 95%"])
    return covered + int(inside.sum()), total + len(covariates)


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
        stage_history,
        win_ceiling,
    )

    print(f"\nplanted signals, n_organisations={n:_}, seed={seed}")
    header = (
        f"{'difficulty':>10}{'Bayes ARI':>11}{'k-means ARI':>13}{'C held-out':>12}"
        f"{'churned':>9}{'partner AUC':>13}{'Cox 95% cover':>15}{'win AUC':>9}"
        f"{'channel AUC':>13}{'lifecycle 95% cover':>21}"
    )
    print(header)
    projects = []
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
        covered = total = life_covered = life_total = 0
        for s in range(seed, seed + coverage_seeds):
            b, tr = (base, truth) if s == seed else _generate(n, s, difficulty)
            c_in, c_all = lifecycle_coverage(b, tr)
            life_covered, life_total = life_covered + c_in, life_total + c_all
            duration, event = landmark_survival(tr, END)
            frame = tr.covariates.assign(duration=duration, event=event.astype(int))
            summary = CoxPHFitter(penalizer=0.0).fit(frame, "duration", "event").summary
            beta = tr.hazard_coefficients
            inside = (summary["coef lower 95%"] <= beta) & (beta <= summary["coef upper 95%"])
            covered += int(inside.sum())
            total += len(beta)
        wins = win_ceiling(base, truth)
        print(
            f"{difficulty:>10.2f}{bayes:>11.3f}{kmeans:>13.3f}{c:>12.3f}{churned_share:>9.2f}"
            f"{auc:>13.3f}{covered / total:>15.2f}{wins['auc']:>9.3f}{wins['channel_auc']:>13.3f}"
            f"{life_covered / life_total:>21.2f}"
        )
        if difficulty == 0.5:
            history = stage_history(base, truth)
            done = history[history["completed"]]
            projects.append(base.projects["status"].value_counts(normalize=True))
            projects.append(done.groupby("stage", observed=True)["days"].median())
    print("\nat difficulty 0.5: project shares, then median observed days of completed stages")
    for table in projects:
        print(table.round(3).to_string())


def ceilings(n: int, seeds: range) -> None:
    from b2bclient.datasets._signals import procurement_ceiling, wallet_ceiling, win_ceiling

    as_of = pd.Timestamp("2024-01-01")
    print(f"\nceilings, n_organisations={n:_}, difficulty 0.5, seeds {list(seeds)}")
    for s in seeds:
        base, truth = make_client_base(n, seed=s, return_truth=True)
        wins = win_ceiling(base, truth)
        print(
            f"seed {s}  deals closed {wins['deals']:,.0f} (won {wins['won_rate']:.3f}): "
            f"true p Brier {wins['brier']:.4f} AUC {wins['auc']:.3f} "
            f"worst decile gap {wins['calibration_gap']:.3f} | channel only Brier "
            f"{wins['channel_brier']:.4f} AUC {wins['channel_auc']:.3f}"
        )
        oracle = procurement_ceiling(base, truth, as_of, END)
        print(
            f"        oracle at {as_of.date()}: {oracle['projects']:.0f} projects, concordance "
            f"{oracle['concordance']:.3f}; 90-day procurement predicted / observed: design "
            f"{oracle['design_predicted']:.3f} / {oracle['design_observed']:.3f} "
            f"(n={oracle['design_projects']:.0f}), production {oracle['production_predicted']:.3f}"
            f" / {oracle['production_observed']:.3f} (n={oracle['production_projects']:.0f})"
        )
        wallet = wallet_ceiling(base, truth, END, seed=s)
        print(
            f"        wallets of {wallet['organisations']:.0f} organisations: Spearman of a "
            f"supervised regression {wallet['spearman_supervised']:.3f}, of last-year spend "
            f"{wallet['spearman_last_year_spend']:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-organisations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quality", action="store_true", help="also measure the planted signals")
    parser.add_argument("--coverage-seeds", type=int, default=4)
    parser.add_argument("--ceilings", action="store_true", help="measure the models' ceilings")
    parser.add_argument("--no-timing", action="store_true", help="skip the timed generation")
    args = parser.parse_args()
    if not args.no_timing:
        time_generation(args.n_organisations, args.seed)
    if args.quality:
        quality(args.n_organisations, args.seed, args.coverage_seeds)
    if args.ceilings:
        ceilings(5_000, range(3))


if __name__ == "__main__":
    main()
