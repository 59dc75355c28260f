"""Benchmark churn and retention models against their peers, same data, same run.

Rows:

* the buy-till-you-die rows of ``benchmarks/btyd.py`` (BetaGeo on 1 M customers, and against
  lifetimes on 100 k);
* ``ChurnModel(kind="cox").fit`` against lifelines' ``CoxPHFitter.fit`` on the same data (the
  overhead of validation, encoding and keeping the prediction arrays; target at most 1.2x);
* scoring 1 M organisations with ``predict`` and ``predict_churn_probability`` against lifelines'
  ``predict_log_partial_hazard`` and ``predict_survival_function`` at the same horizon;
* ``ChurnModel(kind="hgb").fit`` on 1 M rows x 20 features (some missing) against scikit-learn's
  ``HistGradientBoostingClassifier.fit`` on the same weighted rows (target: under 60 s), with
  ``kind="gbm"`` on 100 k rows beside it.

A second table judges the boosting kinds on the synthetic base (``make_client_base`` with its
planted churn hazard): held-out Harrell's C of ``"hgb"`` (missing values as they are, and
imputed) and ``"gbm"`` (imputed) on every numeric feature at the generator's landmark, against the
ceiling (the true hazard) and a plain baseline (penalised Cox on the same imputed features), all
measured in the same run. Target: ``"hgb"`` at least as high as ``"gbm"``.

Run ``python benchmarks/churn.py`` (``--quick`` for a smoke run on small sizes, ``--churn-only``
to leave out the rows of benchmarks/btyd.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The sibling script benchmarks/btyd.py: its rows, timing and table are reused here.
import btyd
from btyd import compare, show

N_FEATURES = 10
HGB_FEATURES = 20
END = pd.Timestamp("2025-01-01")  # end of the synthetic base: the censoring time


def cox_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Return features and a Surv target drawn from a Cox model with Weibull baseline."""
    from b2bclient.churn import Surv

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(n, N_FEATURES)), columns=[f"feature_{j}" for j in range(N_FEATURES)]
    )
    beta = np.linspace(-0.5, 0.5, N_FEATURES)
    t = 300.0 * (rng.exponential(size=n) * np.exp(-X.to_numpy() @ beta)) ** (1 / 1.3)
    c = rng.uniform(100.0, 900.0, n)
    return X, Surv.from_arrays(np.minimum(t, c).round(), t <= c)


def cox_fit_rows(n: int, repeat: int) -> list[dict[str, Any]]:
    """Time ChurnModel('cox').fit against lifelines' CoxPHFitter.fit on the same data."""
    import lifelines

    from b2bclient.churn import ChurnModel

    X, y = cox_data(n)
    frame = X.assign(duration=y["duration"], event=y["event"])
    ours, peer = compare(
        lambda: ChurnModel(kind="cox", penalizer=0.1).fit(X, y),
        lambda: lifelines.CoxPHFitter(penalizer=0.1).fit(frame, "duration", "event"),
        repeat,
    )
    return [
        {
            "task": f"Cox fit, {N_FEATURES} features",
            "n": n,
            "b2bclient_s": ours,
            "peer": "lifelines CoxPHFitter",
            "peer_s": peer,
            "ratio": ours / peer,
            "target": "ratio <= 1.2",
        }
    ]


def scoring_rows(n_fit: int, n_score: int, repeat: int) -> list[dict[str, Any]]:
    """Time scoring `n_score` organisations with a fitted Cox model, against lifelines."""
    from b2bclient.churn import ChurnModel

    X, y = cox_data(n_fit)
    model = ChurnModel(kind="cox", penalizer=0.1).fit(X, y)
    fitter = model.fitter_
    big, _ = cox_data(n_score, seed=1)
    rows = []
    ours, peer = compare(
        lambda: model.predict(big), lambda: fitter.predict_log_partial_hazard(big), repeat
    )
    rows.append(
        {
            "task": "predict (risk score)",
            "n": n_score,
            "b2bclient_s": ours,
            "peer": "lifelines predict_log_partial_hazard",
            "peer_s": peer,
            "ratio": ours / peer,
            "target": "",
        }
    )
    ours, peer = compare(
        lambda: model.predict_churn_probability(big, horizon="180D"),
        lambda: 1.0 - fitter.predict_survival_function(big, times=[180.0]),
        repeat,
    )
    rows.append(
        {
            "task": "predict_churn_probability at 180 days",
            "n": n_score,
            "b2bclient_s": ours,
            "peer": "lifelines predict_survival_function",
            "peer_s": peer,
            "ratio": ours / peer,
            "target": "",
        }
    )
    # The scores agree with lifelines: same coefficients, same Breslow baseline.
    sample = big.iloc[:1000]
    np.testing.assert_allclose(
        model.predict_churn_probability(sample, horizon="180D"),
        1.0 - fitter.predict_survival_function(sample, times=[180.0]).to_numpy()[0],
        rtol=1e-9,
    )
    return rows


def boosting_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Return 20 features (four with 10% missing values) and a Weibull-Cox Surv target."""
    from b2bclient.churn import Surv

    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, HGB_FEATURES))
    beta = np.zeros(HGB_FEATURES)
    beta[:10] = np.linspace(-0.5, 0.5, 10)
    t = 300.0 * (rng.exponential(size=n) * np.exp(-values @ beta)) ** (1 / 1.3)
    c = rng.uniform(100.0, 900.0, n)
    for j in range(4):
        values[rng.random(n) < 0.1, 2 * j] = np.nan
    X = pd.DataFrame(values, columns=[f"feature_{j}" for j in range(HGB_FEATURES)])
    return X, Surv.from_arrays(np.minimum(t, c).round(), t <= c)


def hgb_fit_rows(n: int, n_gbm: int, repeat: int) -> list[dict[str, Any]]:
    """Time ChurnModel('hgb').fit against a direct HistGradientBoostingClassifier fit.

    Histogram boosting runs on OpenMP threads that wait for each other at every histogram; on a
    machine shared with other jobs two threads can be slower than one, so both are timed.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info, threadpool_limits

    from b2bclient.churn import ChurnModel
    from b2bclient.churn._boosting import HGB_TREE_SHAPE, ipcw

    X, y = boosting_data(n)
    keep, label, weight = ipcw(y["duration"], y["event"], 180.0)
    z = X.to_numpy()[keep]
    default = max(
        (p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"), default=1
    )
    rows = []
    for threads in sorted({default, 1}, reverse=True):
        with threadpool_limits(limits=threads, user_api="openmp"):
            ours, peer = compare(
                lambda: ChurnModel(kind="hgb", horizon="180D", random_state=0).fit(X, y),
                lambda: HistGradientBoostingClassifier(random_state=0, **HGB_TREE_SHAPE).fit(
                    z, label, sample_weight=weight
                ),
                repeat,
            )
        rows.append(
            {
                "task": f"ChurnModel('hgb') fit, {HGB_FEATURES} features, 10% missing in 4, "
                f"{threads} OpenMP thread{'s' if threads > 1 else ''}",
                "n": n,
                "b2bclient_s": ours,
                "peer": "scikit-learn HistGradientBoostingClassifier.fit (same weighted rows)",
                "peer_s": peer,
                "ratio": ours / peer,
                "target": "b2bclient_s < 60",
            }
        )
    Xg, yg = boosting_data(n_gbm, seed=1)
    Xg = Xg.fillna(0.0)
    with threadpool_limits(limits=1, user_api="openmp"):
        gbm, hgb = compare(
            lambda: ChurnModel(kind="gbm", horizon="180D", random_state=0).fit(Xg, yg),
            lambda: ChurnModel(kind="hgb", horizon="180D", random_state=0).fit(Xg, yg),
            max(1, repeat // 2),
        )
    rows.append(
        {
            "task": f"ChurnModel('gbm') fit, {HGB_FEATURES} features (imputed)",
            "n": n_gbm,
            "b2bclient_s": gbm,
            "peer": "ChurnModel('hgb') fit, same data, 1 OpenMP thread",
            "peer_s": hgb,
            "ratio": gbm / hgb,
            "target": "",
        }
    )
    return rows


def synthetic_problem(n: int, seed: int) -> dict[str, Any]:
    """Return the features at the generator's landmark, the target and the true risk."""
    from b2bclient.churn import Surv
    from b2bclient.datasets import make_client_base
    from b2bclient.features import build_features

    base, truth = make_client_base(n_organisations=n, end=END, seed=seed, return_truth=True)
    features = build_features(base, as_of=truth.landmark).loc[truth.covariates.index]
    churned = truth.churned_at.reindex(features.index)
    duration = (churned.fillna(END) - truth.landmark) / pd.Timedelta(days=1)
    y = Surv.from_arrays(duration.to_numpy(), churned.notna().to_numpy())
    beta = truth.hazard_coefficients
    numeric = [
        c
        for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c])
        and not pd.api.types.is_bool_dtype(features[c])
    ]
    return {
        "X": features[numeric],
        "y": y,
        "true_risk": features[list(beta.index)].to_numpy() @ beta.to_numpy(),
    }


def concordance_rows(n: int, seeds: tuple[int, ...], horizon: str) -> list[dict[str, Any]]:
    """Held-out Harrell's C of the boosting kinds, the ceiling and a plain baseline."""
    import time

    from threadpoolctl import threadpool_limits

    from b2bclient.churn import ChurnModel
    from b2bclient.churn.metrics import concordance_index_harrell

    rows = []
    for seed in seeds:
        problem = synthetic_problem(n, seed)
        X, y = problem["X"], problem["y"]
        test = np.random.default_rng(seed).random(len(X)) < 0.3
        train = ~test
        X = X.loc[:, X[train].std() > 0]
        imputed = X.fillna(X[train].median())
        d, e = y[test]["duration"], y[test]["event"]
        row: dict[str, Any] = {
            "seed": seed,
            "at risk": len(X),
            "events": int(y["event"].sum()),
            "features": X.shape[1],
            "C ceiling (true hazard)": f"{concordance_index_harrell(d, e, problem['true_risk'][test]):.4f}",
        }
        candidates = {
            "C baseline (Cox, imputed)": (ChurnModel(kind="cox", penalizer=0.1), imputed),
            "C gbm (imputed)": (ChurnModel(kind="gbm", horizon=horizon, random_state=0), imputed),
            "C hgb (imputed)": (ChurnModel(kind="hgb", horizon=horizon, random_state=0), imputed),
            "C hgb (missing as is)": (ChurnModel(kind="hgb", horizon=horizon, random_state=0), X),
        }
        fit_seconds = []
        for name, (model, data) in candidates.items():
            start = time.perf_counter()
            with threadpool_limits(limits=1, user_api="openmp"):
                model.fit(data[train], y[train])
            fit_seconds.append(f"{time.perf_counter() - start:.0f}")
            row[name] = f"{model.score(data[test], y[test]):.4f}"
        row["fit s (cox, gbm, hgb, hgb)"] = " / ".join(fit_seconds)
        rows.append(row)
    return rows


def btyd_rows(quick: bool) -> list[dict[str, Any]]:
    """Return the rows of benchmarks/btyd.py (BetaGeo against lifetimes)."""
    return btyd.run(quick=quick)


def run(quick: bool = False, churn_only: bool = False) -> list[dict[str, Any]]:
    """Run every timing benchmark and return one dict per row."""
    repeat = 2 if quick else 5
    rows = [] if churn_only else btyd_rows(quick)
    rows += cox_fit_rows(2_000 if quick else 50_000, repeat)
    rows += scoring_rows(2_000 if quick else 50_000, 20_000 if quick else 1_000_000, repeat)
    rows += hgb_fit_rows(
        20_000 if quick else 1_000_000, 5_000 if quick else 100_000, 2 if quick else 3
    )
    return rows


def quality(quick: bool = False) -> list[dict[str, Any]]:
    """Return the concordance rows on the synthetic base (one per seed)."""
    if quick:
        return concordance_rows(3_000, (0,), "365D")
    return concordance_rows(30_000, (0, 1, 2), "365D")


def main() -> None:
    """Run the benchmarks and print the table with the machine they ran on."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--churn-only", action="store_true", help="leave out the rows of benchmarks/btyd.py"
    )
    args = parser.parse_args()
    rows = run(quick=args.quick, churn_only=args.churn_only)
    print(
        f"# churn benchmarks ({'quick' if args.quick else 'full'}) on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(show(rows))
    print()
    print("# boosting kinds on the synthetic base: held-out Harrell's C (30% of organisations)")
    print(show(quality(quick=args.quick)))


if __name__ == "__main__":
    main()
