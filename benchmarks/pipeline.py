"""Benchmark the pipeline and potential models against their ceilings and baselines.

    python benchmarks/pipeline.py --win          # WinModel vs planted probabilities, 3 seeds
    python benchmarks/pipeline.py --forecast     # back-test over 4 quarterly cut-offs (--cutoffs)
    python benchmarks/pipeline.py --wallet       # WalletModel vs the same-inputs ceiling
    python benchmarks/pipeline.py --speed        # 1 M open deals scored; forecast on 100 k orgs

Each part prints a table; ``--seeds`` and ``--n`` change the size (defaults: 3 seeds x 5 000
organisations, difficulty 0.5). Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import os
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


def _gaps(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """The decile table with the binomial standard error of each decile's win rate."""
    t = calibration_table(y, p)
    t["se"] = np.sqrt(t["observed"] * (1 - t["observed"]) / t["deals"])
    return t


def win_rows(seed: int, base: bc.ClientBase, truth: object, model: object, fit_s: float) -> dict:
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
    table, table_true = _gaps(y, p), _gaps(y, p_true)
    worst = table["gap"].abs().idxmax()
    print(f"seed {seed} deciles (gap, binomial se):")
    print(table.round(4).to_string(), flush=True)
    b, bt, bc_ = (brier_score_loss(y, q) for q in (p, p_true, p_channel))
    a, at, ac = (roc_auc_score(y, q) for q in (p, p_true, p_channel))
    return {
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
        "max decile gap": table["gap"].abs().max(),
        "its se": table.loc[worst, "se"],
        "decile gap true": table_true["gap"].abs().max(),
        "Brier channel": bc_,
        "AUC channel": ac,
    }


CUTOFFS = ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]


def outlook(seeds: list[int], n: int, do_win: bool, do_forecast: bool, cutoffs: list[str]) -> None:
    """WinModel against the planted probabilities and the forecast back-test, per seed.

    One WinModel per seed, fitted as of the first cut-off (2024-01-01), serves both: it is
    evaluated on the deals created in 2024, and the back-test forecasts at every cut-off with it
    (fitted before each of them, so it sees nothing of the windows forecast).
    """
    print(
        f"WinModel fitted as of {T.date()}; held out: deals created in [{T.date()}, {END.date()})"
    )
    print(f"and closed before it, each seen at its creation. Back-test cut-offs {cutoffs}, 90D.")
    print(f"n = {n}, seeds {seeds}")
    wins, tests = [], []
    for seed in seeds:
        base, truth = bc.datasets.make_client_base(n, seed=seed, return_truth=True)
        t0 = time.perf_counter()
        model = bc.pipeline.WinModel().fit(base, as_of=min(pd.Timestamp(c) for c in [T, *cutoffs]))
        fit_s = time.perf_counter() - t0
        if do_win:
            wins.append(win_rows(seed, base, truth, model, fit_s))
            print(pd.DataFrame(wins[-1:]).round(4).to_string(index=False), flush=True)
        if do_forecast:
            t0 = time.perf_counter()
            bt = bc.pipeline.backtest(base, cutoffs, "90D", win_model=model)
            bt.insert(0, "seed", seed)
            tests.append(bt)
            print(f"seed {seed} back-test ({time.perf_counter() - t0:.0f} s)")
            print(bt.round(3).to_string(), flush=True)
    if wins:
        print(pd.DataFrame(wins).round(4).to_string(index=False))
    if tests:
        all_ = pd.concat(tests)
        print(all_.round(3).to_string())
        print(
            f"inside 80% interval: {int(all_['inside'].sum())}/{len(all_)}, MAPE "
            f"{all_['ape'].mean():.3f}, naive MAPE {all_['naive_ape'].mean():.3f}"
        )
        print(
            all_.groupby("seed")
            .agg(inside=("inside", "sum"), mape=("ape", "mean"), naive_mape=("naive_ape", "mean"))
            .round(3)
            .to_string()
        )


def supervised_ceiling(X: pd.DataFrame, log_wallet: np.ndarray, seed: int) -> float:
    """Spearman of a supervised regression of the true log wallet on the columns of `X`.

    Gradient boosting trained on the planted wallets, out-of-fold over five folds: the best a
    model reading only these inputs ranks the wallets.
    """
    from scipy.stats import spearmanr
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    folds = KFold(5, shuffle=True, random_state=seed)
    with threadpool_limits(1):  # small fits on a shared machine
        model = HistGradientBoostingRegressor(random_state=seed)
        predicted = cross_val_predict(model, X, log_wallet, cv=folds)
    return float(spearmanr(predicted, log_wallet).statistic)


def _whitespace(model: object, ids: pd.Index, share: pd.Series) -> dict:
    """Where the whitespace lies against the planted share, and how the shares rank."""
    from scipy.stats import spearmanr

    ws = model.whitespace_.reindex(ids)
    low = (share < share.median()).to_numpy()
    quint = pd.qcut(share, 5, labels=False).to_numpy()
    by_q = ws.groupby(quint).sum() / ws.sum()
    est = model.share_of_wallet_.reindex(ids)
    return {
        "whitespace below median share": float(ws[low].sum() / ws.sum()),
        **{f"q{i + 1}": float(by_q.get(i, 0.0)) for i in range(5)},
        "share Spearman": float(spearmanr(est, share).statistic),
    }


def wallet(seeds: list[int], n: int, all_features: bool) -> None:
    """The WalletModel against supervised ceilings trained on the planted wallets.

    The ceiling the target names reads the same inputs as the WalletModel: the peer inputs
    (size, industry, region), last year's spend and the typical yearly spend over the
    organisation's history. The model as it was before (last year's spend, quantile 0.9) is
    measured beside it against its own inputs' ceiling (peer inputs and last year's spend), and
    with `all_features` the ceiling on all 146 features.
    """
    from scipy.stats import spearmanr

    print(f"WalletModel as of {END.date()}; organisations known a year and alive; n = {n}")
    rows, spaces = [], []
    for seed in seeds:
        base, truth = bc.datasets.make_client_base(n, seed=seed, return_truth=True)
        t0 = time.process_time()
        model = bc.potential.WalletModel().fit(base, as_of=END)
        fit_cpu = time.process_time() - t0
        before = bc.potential.WalletModel(spend_basis="last_year", quantile=0.9).fit(base, END)
        orgs = base.organisations.set_index("organisation_id")
        known = orgs["created_at"] <= END - pd.Timedelta(days=365.25)
        alive = ~(truth.churned_at.reindex(orgs.index) < END)
        ids = orgs.index[(known & alive).to_numpy()]
        y = np.log(truth.wallet.loc[ids].to_numpy())
        peers = list(model.inputs)
        X = bc.features.build_features(
            base, as_of=END, extractors=["firmographics", "purchasing"]
        ).loc[ids]
        X_same = X[peers].assign(
            spend=model.spend_.reindex(ids), typical=model.typical_spend_.reindex(ids)
        )
        ceiling = supervised_ceiling(X_same, y, seed)
        ceiling_before = supervised_ceiling(X_same.drop(columns="typical"), y, seed)
        ceiling_peers = supervised_ceiling(X[peers], y, seed)
        rho = spearmanr(model.potential_.reindex(ids), y).statistic
        rho_before = spearmanr(before.potential_.reindex(ids), y).statistic
        row = {
            "seed": seed,
            "organisations": len(ids),
            "fit CPU s": fit_cpu,
            "Spearman": rho,
            "ceiling, same inputs": ceiling,
            "ratio": rho / ceiling,
            "before: Spearman": rho_before,
            "its ceiling (peers + spend)": ceiling_before,
            "its ratio": rho_before / ceiling_before,
            "ceiling, peers only": ceiling_peers,
            "last-year spend": spearmanr(model.spend_.reindex(ids), y).statistic,
            "typical spend": spearmanr(model.typical_spend_.reindex(ids), y).statistic,
        }
        if all_features:
            ceiling_all = wallet_ceiling(base, truth, END)["spearman_supervised"]
            row.update({"ceiling, all features": ceiling_all, "ratio to all": rho / ceiling_all})
        rows.append(row)
        share = truth.wallet_share.reindex(ids)
        spaces.append({"seed": seed, "model": "now", **_whitespace(model, ids, share)})
        spaces.append({"seed": seed, "model": "before", **_whitespace(before, ids, share)})
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
        print(pd.DataFrame(spaces[-2:]).round(3).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    print(pd.DataFrame(spaces).round(3).to_string(index=False))


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def sample_base(base: bc.ClientBase, n: int, seed: int = 0) -> bc.ClientBase:
    """The base restricted to `n` organisations drawn at random, with their rows only."""
    t = base.tables
    orgs = t["organisations"]
    keep = set(orgs["organisation_id"].sample(n, random_state=seed))
    orgs = orgs[orgs["organisation_id"].isin(keep)].copy()
    orgs.loc[~orgs["parent_id"].isin(keep), "parent_id"] = None
    own = {
        name: t[name][t[name]["organisation_id"].isin(keep)]
        for name in ("contacts", "deals", "projects", "interactions", "contracts")
    }
    links = t["relationships"]
    return bc.ClientBase.from_frames(
        orgs,
        products=t["products"],
        deal_lines=t["deal_lines"][t["deal_lines"]["deal_id"].isin(own["deals"]["deal_id"])],
        stages=t["stages"][t["stages"]["project_id"].isin(own["projects"]["project_id"])],
        relationships=links[links["source_id"].isin(keep) & links["target_id"].isin(keep)],
        **own,
    )


def speed(n_deals: int, n_orgs: int, fit_orgs: int) -> None:
    """Score `n_deals` deal rows; forecast on `n_orgs` organisations with a fitted WinModel.

    The forecast is timed on its own: its WinModel is fitted beforehand on a random sample of
    `fit_orgs` organisations of the same base (the forecast only needs a fitted model; fitting
    the WinModel on every organisation's snapshots is a separate, larger cost).
    """
    print(_load(), flush=True)
    base = bc.datasets.make_client_base(2000, seed=0)
    model = bc.pipeline.WinModel().fit(base, as_of=T)
    frame = training_snapshots(
        base, END, lookback="366D", every=model.every, extractors=model.extractors
    )
    X = frame[list(model.feature_names_in_)]
    big = X.iloc[np.random.default_rng(0).integers(0, len(X), n_deals)].reset_index(drop=True)
    t0, c0 = time.perf_counter(), time.process_time()
    p = model.predict_proba(big)
    print(
        f"scoring {len(p):,} open deals (feature matrix): {time.perf_counter() - t0:.2f} s wall, "
        f"{time.process_time() - c0:.2f} s CPU; peak memory {peak_mb():,.0f} MB; {_load()}",
        flush=True,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    model.model_.predict_proba(big)
    print(
        f"  the same through the model matrix: {time.perf_counter() - t0:.2f} s wall, "
        f"{time.process_time() - c0:.2f} s CPU",
        flush=True,
    )
    del big, X, frame
    if not n_orgs:  # --orgs 0: the scoring only
        return
    t0, c0 = time.perf_counter(), time.process_time()
    base = bc.datasets.make_client_base(n_orgs, seed=0)
    print(
        f"make_client_base({n_orgs:,}): {time.perf_counter() - t0:.0f} s wall, "
        f"{time.process_time() - c0:.0f} s CPU; {_load()}",
        flush=True,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    model = bc.pipeline.WinModel().fit(sample_base(base, min(fit_orgs, n_orgs)), as_of=END)
    print(
        f"WinModel on a sample of {min(fit_orgs, n_orgs):,} organisations: "
        f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU",
        flush=True,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    f = bc.pipeline.forecast(base, END, "90D", win_model=model)
    print(
        f"forecast on {n_orgs:,} organisations ({len(base.deals):,} deals, {len(f.deals):,} "
        f"open): {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU, "
        f"expected {f.expected:,.0f} [{f.lower:,.0f}, {f.upper:,.0f}]; peak memory "
        f"{peak_mb():,.0f} MB; {_load()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--win", action="store_true")
    parser.add_argument("--forecast", action="store_true")
    parser.add_argument("--wallet", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument(
        "--all-features", action="store_true", help="with --wallet: the 146-feature ceiling too"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=100_000)
    parser.add_argument("--fit-orgs", type=int, default=5_000)
    parser.add_argument("--cutoffs", nargs="+", default=CUTOFFS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.win or args.forecast:
        outlook(args.seeds, args.n, args.win, args.forecast, args.cutoffs)
    if args.wallet:
        wallet(args.seeds, args.n, args.all_features)
    if args.speed:
        speed(args.deals, args.orgs, args.fit_orgs)


if __name__ == "__main__":
    main()
