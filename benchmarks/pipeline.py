"""Benchmark the pipeline and potential models against their ceilings and baselines.

    python benchmarks/pipeline.py --win          # WinModel vs planted probabilities, 3 seeds
    python benchmarks/pipeline.py --forecast     # back-test over 4 quarterly cut-offs
    python benchmarks/pipeline.py --wallet       # WalletModel vs the supervised ceiling
    python benchmarks/pipeline.py --speed        # 1 M open deals scored; forecast on 100 k orgs

Each part prints a table; ``--seeds`` and ``--n`` change the size (defaults: 3 seeds x 5 000
organisations, difficulty 0.5). Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

import b2bclient as bc
from b2bclient.datasets._signals import wallet_ceiling
from b2bclient.pipeline._frame import training_snapshots
from b2bclient.pipeline._plot import calibration_table

T = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-01-01")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def win(seeds: list[int], n: int) -> None:
    print(f"WinModel: fit as of {T.date()}, held out: deals created in [{T.date()}, {END.date()})")
    print("and closed before it, each seen at its creation; n =", n)
    rows = []
    for seed in seeds:
        base, truth = bc.datasets.make_client_base(n, seed=seed, return_truth=True)
        t0 = time.perf_counter()
        model = bc.pipeline.WinModel().fit(base, as_of=T)
        fit_s = time.perf_counter() - t0
        frame = training_snapshots(
            base, END, lookback="366D", every=model.every, extractors=model.extractors
        )
        held = frame[(frame["deal__age_days"] < 1e-6) & (frame["at"] >= T)]
        y = held["won"].to_numpy()
        p = model.predict_proba(held[list(model.feature_names_in_)])[:, 1]
        p_true = truth.win_probability.reindex(held["deal_id"]).to_numpy()
        train = base.as_of(T).deals
        train = train[train["status"] != "open"]
        rate = (train["status"] == "won").groupby(train["channel"].astype(object)).mean()
        p_channel = held["deal__channel"].astype(object).map(rate).to_numpy(np.float64)
        gap = calibration_table(y, p)["gap"].abs().max()
        gap_true = calibration_table(y, p_true)["gap"].abs().max()
        b, bt, bc_ = (brier_score_loss(y, q) for q in (p, p_true, p_channel))
        a, at, ac = (roc_auc_score(y, q) for q in (p, p_true, p_channel))
        rows.append(
            {
                "seed": seed,
                "held-out deals": len(y),
                "fit rows": model.training_rows_,
                "fit s": fit_s,
                "Brier": b,
                "Brier true": bt,
                "Brier ratio": b / bt,
                "AUC": a,
                "AUC true": at,
                "AUC ratio": a / at,
                "max decile gap": gap,
                "decile gap true": gap_true,
                "Brier channel": bc_,
                "AUC channel": ac,
            }
        )
        print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).round(4).to_string(index=False))


def backtest(seeds: list[int], n: int) -> None:
    cutoffs = ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]
    print(f"forecast back-test, horizon 90D, cut-offs {cutoffs}; n = {n}")
    for seed in seeds:
        base = bc.datasets.make_client_base(n, seed=seed)
        t0 = time.perf_counter()
        bt = bc.pipeline.backtest(base, cutoffs, "90D")
        print(f"seed {seed} ({time.perf_counter() - t0:.0f} s)")
        print(bt.round(3).to_string())
        print(
            f"inside 80% interval: {int(bt['inside'].sum())}/{len(bt)}, MAPE "
            f"{bt['ape'].mean():.3f}, naive MAPE {bt['naive_ape'].mean():.3f}",
            flush=True,
        )


def wallet(seeds: list[int], n: int) -> None:
    from scipy.stats import spearmanr

    print(f"WalletModel as of {END.date()}; organisations known a year and alive; n = {n}")
    rows = []
    for seed in seeds:
        base, truth = bc.datasets.make_client_base(n, seed=seed, return_truth=True)
        ceiling = wallet_ceiling(base, truth, END)
        model = bc.potential.WalletModel().fit(base, as_of=END)
        est = model.potential_
        orgs = base.organisations.set_index("organisation_id")
        known = orgs["created_at"] <= END - pd.Timedelta(days=365.25)
        alive = ~(truth.churned_at.reindex(orgs.index) < END)
        ids = orgs.index[(known & alive).to_numpy()]
        rho = spearmanr(est.reindex(ids), truth.wallet.reindex(ids)).statistic
        ws = model.whitespace_.reindex(ids)
        share = truth.wallet_share.reindex(ids)
        quint = pd.qcut(share, 5, labels=False)
        by_q = ws.groupby(quint.to_numpy()).sum() / ws.sum()
        rows.append(
            {
                "seed": seed,
                "organisations": len(ids),
                "Spearman": rho,
                "ceiling": ceiling["spearman_supervised"],
                "ratio": rho / ceiling["spearman_supervised"],
                "last-year spend": ceiling["spearman_last_year_spend"],
                **{f"whitespace share q{i + 1}": by_q.get(i, 0.0) for i in range(5)},
            }
        )
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).round(3).to_string(index=False))


def speed(n_deals: int, n_orgs: int) -> None:
    base = bc.datasets.make_client_base(2000, seed=0)
    model = bc.pipeline.WinModel().fit(base, as_of=T)
    frame = training_snapshots(
        base, END, lookback="366D", every=model.every, extractors=model.extractors
    )
    X = frame[list(model.feature_names_in_)]
    big = X.iloc[np.random.default_rng(0).integers(0, len(X), n_deals)].reset_index(drop=True)
    t0 = time.perf_counter()
    p = model.predict_proba(big)
    print(
        f"scoring {len(p):,} open deals (feature matrix): {time.perf_counter() - t0:.2f} s; "
        f"peak memory {peak_mb():,.0f} MB",
        flush=True,
    )
    base = bc.datasets.make_client_base(n_orgs, seed=0)
    t0 = time.perf_counter()
    f = bc.pipeline.forecast(base, END, "90D")
    print(
        f"forecast on {n_orgs:,} organisations ({len(base.deals):,} deals): "
        f"{time.perf_counter() - t0:.1f} s, expected {f.expected:,.0f} "
        f"[{f.lower:,.0f}, {f.upper:,.0f}]; peak memory {peak_mb():,.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--win", action="store_true")
    parser.add_argument("--forecast", action="store_true")
    parser.add_argument("--wallet", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=100_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.win:
        win(args.seeds, args.n)
    if args.forecast:
        backtest(args.seeds, args.n)
    if args.wallet:
        wallet(args.seeds, args.n)
    if args.speed:
        speed(args.deals, args.orgs)


if __name__ == "__main__":
    main()
