"""Benchmark the buy-till-you-die models against lifetimes, same data, same run.

Rows:

* ``simulate_summary`` drawing 1 M customers from known BG/NBD parameters (CDNOW's);
* ``BetaGeo().fit`` on those 1 M customers (target: under 5 s), with the estimates checked
  against the parameters the data were drawn from;
* ``BetaGeo().fit`` against lifetimes' ``BetaGeoFitter.fit`` on the same 100 k customers
  (target: at least 3x faster, i.e. ratio <= 0.33), with the estimates checked to agree;
* ``ParetoNBD().fit`` against lifetimes' ``ParetoNBDFitter.fit`` on the same 5 k customers;
* ``BetaGeoBetaBinom().fit`` on 1 M customers with 6 yearly opportunities drawn from the
  donations estimates, one row per customer and compressed to one row per history (target:
  under 5 s each), and against lifetimes' ``BetaGeoBetaBinomFitter.fit`` on 100 k of them.

Times of the continuous-time models are in continuous time (no two customers share a history),
which gives our fits no advantage from grouping identical histories; summaries in whole weeks
fit faster still. Discrete-time data always share histories; lifetimes' BG/BB loops over them.

``--demo-sizes`` runs ``b2bclient demo`` for 50, 150, 300, 2 000 and 3 000 organisations and
seeds 0 to 5 (exit status, 0 or 3 when a section of the report failed, and time), and compares
on each base's calibration/holdout split the BG/NBD maximum-likelihood fit with
``penalizer=0.001`` (what the demo shows when the fit is weakly identified), ``penalizer=0.01``
and a plain baseline (each organisation keeps its calibration rate).

Run ``python benchmarks/btyd.py`` (``--quick`` for a smoke run on small sizes).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import b2bclient.btyd as btyd

CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
DONATIONS_BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Return the fastest of `repeat` timed calls of `fn` and the last result."""
    best = np.inf
    result: Any = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return float(best), result


def compare(ours: Callable[[], Any], peer: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Return the fastest of `repeat` timed calls of each function, in seconds.

    The calls alternate (after one warm-up call of each), so that a load change on a shared
    machine hits both sides alike.
    """
    ours()
    peer()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((ours, times[0]), (peer, times[1])):
            gc.collect()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def simulate(model: Any, params: dict[str, float], n: int, seed: int) -> pd.DataFrame:
    """Return `n` customers observed for 1 to 78 weeks after their first purchase."""
    t_obs = np.random.default_rng(seed).uniform(1.0, 78.0, n)
    return btyd.simulate_summary(model, T=t_obs, params=params, random_state=seed + 1)


def million_rows(n: int) -> list[dict[str, Any]]:
    """Time drawing and fitting `n` BG/NBD customers."""
    sim_s, sample = _timed(lambda: simulate(btyd.BetaGeo, CDNOW_BG, n, seed=0), repeat=1)
    fit_s, model = _timed(lambda: btyd.BetaGeo().fit(sample), repeat=2)
    truth = pd.Series(CDNOW_BG)
    error = float((model.params_[truth.index] / truth - 1.0).abs().max())
    if n >= 1_000_000 and error > 0.05:
        raise AssertionError(f"BetaGeo on {n} customers missed the truth by {error:.1%}")
    return [
        {
            "task": "simulate_summary, BG/NBD",
            "n": n,
            "b2bclient_s": sim_s,
            "peer": "",
            "peer_s": None,
            "ratio": None,
            "target": "",
        },
        {
            "task": f"BetaGeo fit (max rel. error vs truth {error:.1%})",
            "n": n,
            "b2bclient_s": fit_s,
            "peer": "",
            "peer_s": None,
            "ratio": None,
            "target": "< 5 s",
        },
    ]


def log_likelihood(model_cls: Any, params: pd.Series, sample: pd.DataFrame) -> float:
    """Return the log-likelihood of `sample` under `model_cls` at `params`."""
    from b2bclient.btyd._mle import group_rows

    rows = group_rows(
        {
            "x": sample["frequency"].to_numpy(np.float64),
            "tx": sample["recency"].to_numpy(np.float64),
            "T": sample["T"].to_numpy(np.float64),
        }
    )
    theta = [float(params[name]) for name in model_cls._names]
    values, _ = model_cls()._loglik(theta, rows, False)
    return float(rows.weights @ values)


def _lifetimes() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
    return lifetimes


def peer_rows(n_bg: int, n_pareto: int, repeat: int) -> list[dict[str, Any]]:
    """Time our fits against lifetimes' fitters on the same customers; check they agree."""
    lifetimes = _lifetimes()
    rows = []
    cases = [
        ("BetaGeo", btyd.BetaGeo, lifetimes.BetaGeoFitter, CDNOW_BG, n_bg, repeat, "ratio <= 0.33"),
        ("ParetoNBD", btyd.ParetoNBD, lifetimes.ParetoNBDFitter, CDNOW_PARETO, n_pareto, 1, ""),
    ]
    for name, ours_cls, peer_cls, params, n, reps, target in cases:
        sample = simulate(ours_cls, params, n, seed=10)
        x, tx, t_obs = sample["frequency"], sample["recency"], sample["T"]
        # The timed calls keep their last fit, which the checks below use.
        fitted: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours_s, peer_s = compare(
                lambda cls=ours_cls, s=sample, out=fitted: out.update(ours=cls().fit(s)),
                lambda cls=peer_cls, a=x, b=tx, c=t_obs, out=fitted: out.update(
                    peer=cls().fit(a, b, c)
                ),
                reps,
            )
        ours, peer = fitted["ours"], fitted["peer"]
        # Our optimum must be at least as good as lifetimes' (so the times compare finished
        # work); BG/NBD estimates must also agree. lifetimes' Pareto/NBD runs Nelder-Mead from a
        # random start and can stop short of the maximum.
        ll_ours = ours.log_likelihood_
        ll_peer = log_likelihood(ours_cls, peer.params_, sample)
        if ll_ours < ll_peer - 1e-6 * abs(ll_peer):
            raise AssertionError(f"{name}: log-likelihood {ll_ours} below lifetimes' {ll_peer}")
        if name == "BetaGeo":
            np.testing.assert_allclose(
                ours.params_.to_numpy(), peer.params_[ours.params_.index].to_numpy(), rtol=1e-3
            )
        rows.append(
            {
                "task": f"{name} fit",
                "n": n,
                "b2bclient_s": ours_s,
                "peer": f"lifetimes {peer_cls.__name__}",
                "peer_s": peer_s,
                "ratio": ours_s / peer_s,
                "target": target,
            }
        )
    return rows


def bgbb_rows(n: int, n_peer: int) -> list[dict[str, Any]]:
    """Time BG/BB fits on `n` customers (per row and compressed) and against lifetimes."""
    sample = btyd.simulate_summary(
        btyd.BetaGeoBetaBinom, 6, n_customers=n, params=DONATIONS_BGBB, random_state=0
    )
    compressed = sample.value_counts().rename("customers").reset_index()
    rows: list[dict[str, Any]] = []
    fit_s, model = _timed(lambda: btyd.BetaGeoBetaBinom().fit(sample), repeat=2)
    packed_s, packed = _timed(
        lambda: btyd.BetaGeoBetaBinom().fit(compressed, weights="customers"), repeat=2
    )
    np.testing.assert_allclose(packed.params_, model.params_, rtol=1e-6)
    truth = pd.Series(DONATIONS_BGBB)
    error = float((model.params_[truth.index] / truth - 1.0).abs().max())
    for task, seconds in (
        (
            f"BetaGeoBetaBinom fit, one row per customer (max rel. error vs truth {error:.1%})",
            fit_s,
        ),
        (f"BetaGeoBetaBinom fit, compressed to {len(compressed)} rows with weights", packed_s),
    ):
        rows.append(
            {
                "task": task,
                "n": n,
                "b2bclient_s": seconds,
                "peer": "",
                "peer_s": None,
                "ratio": None,
                "target": "< 5 s",
            }
        )
    lifetimes = _lifetimes()
    part = sample.iloc[:n_peer]
    fitted: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_s = _timed(lambda: fitted.update(ours=btyd.BetaGeoBetaBinom().fit(part)), 1)[0]
        peer_s = _timed(
            lambda: fitted.update(
                peer=lifetimes.BetaGeoBetaBinomFitter().fit(
                    part["frequency"], part["recency"], part["n_periods"]
                )
            ),
            1,
        )[0]
    np.testing.assert_allclose(
        fitted["ours"].params_.to_numpy(),
        fitted["peer"].params_[fitted["ours"].params_.index].to_numpy(),
        rtol=1e-3,
    )
    rows.append(
        {
            "task": "BetaGeoBetaBinom fit, one row per customer",
            "n": n_peer,
            "b2bclient_s": ours_s,
            "peer": "lifetimes BetaGeoBetaBinomFitter",
            "peer_s": peer_s,
            "ratio": ours_s / peer_s,
            "target": "",
        }
    )
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Run every benchmark and return one dict per row."""
    rows = million_rows(50_000 if quick else 1_000_000)
    rows += peer_rows(10_000 if quick else 100_000, 500 if quick else 5_000, 2 if quick else 3)
    rows += bgbb_rows(50_000 if quick else 1_000_000, 5_000 if quick else 100_000)
    return rows


def demo_sizes(sizes: tuple[int, ...], seeds: range) -> list[dict[str, Any]]:
    """Run the demo for each size and seed, and compare BG/NBD fits on the demo's split."""
    import io
    import tempfile

    from sklearn.exceptions import ConvergenceWarning

    from b2bclient.cli import main
    from b2bclient.datasets import make_client_base

    rows = []
    for n in sizes:
        for seed in seeds:
            start = time.perf_counter()
            stream = io.StringIO()
            with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                argv = ["demo", "-n", str(n), "--seed", str(seed), "--out", out, "--no-progress"]
                code = main(argv, stream=stream)
            seconds = time.perf_counter() - start
            text = stream.getvalue()
            failed = [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("failed:")
            ]
            row: dict[str, Any] = {"n": n, "seed": seed, "exit": code, "demo_s": seconds}
            row["failed sections"] = failed[0] if failed else ""
            end = pd.Timestamp("2025-01-01")
            base, truth = make_client_base(n_organisations=n, seed=seed, end=end, return_truth=True)
            frame = btyd.calibration_holdout(base, truth.landmark, end, freq="W")
            actual = frame["frequency_holdout"].to_numpy(np.float64)
            horizon = frame["duration_holdout"].to_numpy()
            baseline = frame["frequency"] / frame["T"].where(frame["T"] > 0) * horizon
            predictions = {"baseline": baseline.fillna(0.0).to_numpy()}
            for label, penalizer in (("mle", 0.0), ("pen0.001", 0.001), ("pen0.01", 0.01)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = btyd.BetaGeo(penalizer=penalizer).fit(frame)
                if label == "mle":
                    row["mle_weak"] = ",".join(model.weakly_identified_) or "-"
                predictions[label] = np.asarray(
                    model.conditional_expected_purchases(horizon, frame), dtype=np.float64
                )
            for label, values in predictions.items():
                row[f"mae_{label}"] = float(np.mean(np.abs(values - actual)))
            for label, values in predictions.items():
                row[f"total_{label}"] = float(values.sum() / actual.sum())
            rows.append(row)
    return rows


def show(rows: list[dict[str, Any]]) -> str:
    """Format the rows as a Markdown table (columns in order of first appearance)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        if isinstance(value, (int, np.integer)):
            return f"{value:,}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmarks and print the table with the machine they ran on."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--demo-sizes", action="store_true", help="run the demo over sizes and seeds instead"
    )
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    if args.demo_sizes:
        sizes = (50, 150) if args.quick else (50, 150, 300, 2_000, 3_000)
        rows = demo_sizes(sizes, range(2 if args.quick else 6))
        title = "demo sizes"
    else:
        rows = run(quick=args.quick)
        title = "btyd benchmarks"
    print(
        f"# {title} ({'quick' if args.quick else 'full'}) on {machine}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(show(rows))


if __name__ == "__main__":
    main()
