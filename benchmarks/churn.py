"""Benchmark churn and retention models against their peers, same data, same run.

Rows:

* the buy-till-you-die rows of ``benchmarks/btyd.py`` (BetaGeo on 1 M customers, and against
  lifetimes on 100 k);
* ``ChurnModel(kind="cox").fit`` against lifelines' ``CoxPHFitter.fit`` on the same data (the
  overhead of validation, encoding and keeping the prediction arrays; target at most 1.2x);
* scoring 1 M organisations with ``predict`` and ``predict_churn_probability`` against lifelines'
  ``predict_log_partial_hazard`` and ``predict_survival_function`` at the same horizon.

Run ``python benchmarks/churn.py`` (``--quick`` for a smoke run on small sizes).
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


def btyd_rows(quick: bool) -> list[dict[str, Any]]:
    """Return the rows of benchmarks/btyd.py (BetaGeo against lifetimes)."""
    return btyd.run(quick=quick)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Run every benchmark and return one dict per row."""
    repeat = 2 if quick else 5
    rows = btyd_rows(quick)
    rows += cox_fit_rows(2_000 if quick else 50_000, repeat)
    rows += scoring_rows(2_000 if quick else 50_000, 20_000 if quick else 1_000_000, repeat)
    return rows


def main() -> None:
    """Run the benchmarks and print the table with the machine they ran on."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    print(
        f"# churn benchmarks ({'quick' if args.quick else 'full'}) on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(show(rows))


if __name__ == "__main__":
    main()
