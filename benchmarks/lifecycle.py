"""Measure LifecycleModel against the procurement oracle, a plain baseline and plain lifelines.

Usage::

    python benchmarks/lifecycle.py --quality          # 3 seeds x 5 000 organisations, difficulty 0.5
    python benchmarks/lifecycle.py --timing -n 100000 # fit and predict time against lifelines

``--quality`` fits at 2024-01-01 on the stage histories before it and scores the projects then in
design or production on what happened up to the end of the data (2025-01-01): Harrell's C of
``p_procurement_180d`` against the days to procurement (censored at the end), and per current
stage the mean predicted probability of procurement within 90 days beside the share that got
there. The same figures for the oracle (``procurement_oracle``, the ceiling) and for a Kaplan-Meier
curve per stage without covariates (the baseline), and the share of the planted coefficients
inside the model's 95% intervals.

``--timing`` times ``fit`` and ``predict`` on one base against the plain lifelines fitters a user
would otherwise reach for (one LogNormalAFTFitter per stage, as the model uses, and two
CoxPHFitters stratified by stage with delayed entry for the exits, which the model replaces by its
piecewise-exponential fit), fitted on the same stage history, and ``predict`` for one
organisation's projects.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from b2bclient.datasets import make_client_base, procurement_oracle
from b2bclient.lifecycle import LifecycleModel
from b2bclient.lifecycle._evaluate import coefficient_coverage, km_baseline, procurement_scores

AS_OF = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-01-01")


def _row(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<9} C {s['concordance']:.3f} | 90-day procurement predicted / observed: "
        f"design {s['design_predicted']:.3f} / {s['design_observed']:.3f} "
        f"(n={s['design_projects']:.0f}), production {s['production_predicted']:.3f} / "
        f"{s['production_observed']:.3f} (n={s['production_projects']:.0f})"
    )


def quality(n: int, seeds: range, difficulty: float) -> None:
    print(f"quality, n_organisations={n:_}, difficulty {difficulty}, fitted at {AS_OF.date()}")
    pooled: dict[str, list[dict[str, float]]] = {"model": [], "oracle": [], "baseline": []}
    cover = {"duration": [0, 0], "cancelled": [0, 0]}
    for seed in seeds:
        base, truth = make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)
        started = time.perf_counter()
        model = LifecycleModel().fit(base, AS_OF)
        forecast = model.predict(base, AS_OF)
        took = time.perf_counter() - started
        scores = {
            "model": procurement_scores(forecast, base, AS_OF, END),
            "oracle": procurement_scores(procurement_oracle(base, truth, AS_OF), base, AS_OF, END),
            "baseline": procurement_scores(km_baseline(base, AS_OF), base, AS_OF, END),
        }
        coverage = coefficient_coverage(model, truth)
        print(f"seed {seed} (fit + predict {took:.1f} s)")
        for name, s in scores.items():
            pooled[name].append(s)
            print(_row(name, s))
        ratio = scores["model"]["concordance"] / scores["oracle"]["concordance"]
        print(f"  model / oracle concordance {ratio:.3f}")
        for part, (inside, total) in coverage.items():
            cover[part][0] += inside
            cover[part][1] += total
            print(f"  {part} coefficients inside 95% intervals: {inside} / {total}")
    print("pooled over seeds")
    for name, rows in pooled.items():
        frame = pd.DataFrame(rows)
        line = f"  {name:<9} mean C {frame['concordance'].mean():.3f}"
        for stage in ("design", "production"):
            w = frame[f"{stage}_projects"]
            pred = (frame[f"{stage}_predicted"] * w).sum() / w.sum()
            obs = (frame[f"{stage}_observed"] * w).sum() / w.sum()
            line += f" | {stage} {pred:.3f} / {obs:.3f} (gap {100 * (pred - obs):+.1f} points)"
        print(line)
    for part, (inside, total) in cover.items():
        print(
            f"  {part} coefficients inside 95% intervals: {inside} / {total} = {inside / total:.3f}"
        )


def timing(n: int, seed: int) -> None:
    from lifelines import CoxPHFitter, LogNormalAFTFitter

    from b2bclient.lifecycle import stage_history

    print(f"timing, n_organisations={n:_}, seed {seed}, as_of {AS_OF.date()}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    base = make_client_base(n, seed=seed)
    clock = _Clock()
    model = LifecycleModel().fit(base, AS_OF)
    fit = clock.lap()
    forecast = model.predict(base, AS_OF)
    predict = clock.lap()
    org = forecast["organisation_id"].iloc[0]
    model.predict(base, AS_OF, organisation_ids=[org])
    one = clock.lap()
    history = stage_history(base, AS_OF)
    prepare = clock.lap()
    covariates = list(model.covariates)
    for s, stage in enumerate(("design", "production", "procurement", "delivery", "commissioning")):
        rows = history[history["stage"] == stage]
        columns = covariates + [c for c in history.columns if c.startswith("log_days_")][:s]
        frame = (
            rows[columns]
            .fillna(rows[columns].median())
            .assign(
                days=rows["days"].clip(lower=1e-3),
                event=(rows["outcome"] == "moved_on").to_numpy(),
                entry=rows["entry_days"],
            )
        )
        LogNormalAFTFitter().fit(frame, "days", "event", entry_col="entry")
    for cause, cols in (
        ("cancelled", covariates),
        ("organisation_lost", list(model.loss_covariates)),
    ):
        frame = history[cols].assign(
            days=history["days"].clip(lower=1e-3),
            event=(history["outcome"] == cause).to_numpy(),
            entry=history["entry_days"],
            stage=history["stage"].cat.codes,
        )
        CoxPHFitter().fit(frame, "days", "event", entry_col="entry", strata=["stage"])
    plain = clock.lap()
    print(f"spells {len(history):,}, active projects predicted {len(forecast):,}")
    print("seconds: wall / CPU of this process")
    rows = (
        ("LifecycleModel.fit", fit),
        ("plain lifelines fitters, same spells", plain),
        ("stage_history (the spells they need)", prepare),
        ("LifecycleModel.predict, all active projects", predict),
        ("LifecycleModel.predict, one organisation", one),
    )
    for name, (wall, cpu) in rows:
        print(f"  {name:<45} {wall:8.1f} / {cpu:8.1f}")
    print(f"  fit / (lifelines + stage_history), CPU: {fit[1] / (plain[1] + prepare[1]):.2f}")
    print(f"load after: {os.getloadavg()[0]:.2f}")


class _Clock:
    """Wall and CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-organisations", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--difficulty", type=float, default=0.5)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    if args.quality:
        quality(args.n_organisations or 5_000, range(args.seeds), args.difficulty)
    if args.timing:
        timing(args.n_organisations or 100_000, 0)
    if not (args.quality or args.timing):
        parser.error("choose --quality, --timing or both")


if __name__ == "__main__":
    main()
