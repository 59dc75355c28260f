"""Benchmark the account view: the health score's back-test and portraits at scale.

Two parts, each printing a table:

* **back-test** (default 3 seeds x 5 000 organisations): the bundle is fitted at the generator's
  landmark, the health score drawn there, and the planted churn in the 180 days after it read per
  band (red, yellow, green) for the organisations alive at the landmark; the score's Harrell
  concordance with the planted time to churn beside the planted hazard's own (the ceiling) and a
  plain baseline (the churn part's probability alone). Both weightings are shown: equal (the
  default) and fitted on the observed churn (``weights="auto"``).
* **scale**: ``Models.fit`` and ``portraits`` of every organisation of a 100 000-organisation
  base, seconds and peak resident memory, with the machine's load, and the CPU seconds of every
  part's fit and sections (``--parts all`` adds the opt-in segment and deal outlook).

Run ``python benchmarks/account.py`` (``--quick`` for a smoke run on small sizes,
``--only backtest`` or ``--only scale``; ``--cache DIR`` keeps the scale run's base and bundle and
reuses them, to time the portraits alone on a quiet machine).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def backtest(n: int, seeds: list[int]) -> pd.DataFrame:
    """Return one row per seed and weighting: churn rate per band, ratio, concordances."""
    import b2bclient as bc
    from b2bclient.account import ChurnRisk, HealthScore
    from b2bclient.churn.metrics import concordance_index_harrell

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        base, truth = bc.datasets.make_client_base(n, seed=seed, return_truth=True)
        landmark = truth.landmark
        end = base.summary()["last"].max() + pd.Timedelta("1ns")
        models = bc.Models.fit(base, landmark, parts=[ChurnRisk(), HealthScore()])
        churn = models.part("churn")
        alive = truth.covariates.index
        churned = truth.churned_at.reindex(alive)
        within = (churned < landmark + pd.Timedelta("180D")).to_numpy()
        days = ((churned.fillna(end) - landmark) / pd.Timedelta(days=1)).to_numpy()
        event = churned.notna().to_numpy()
        planted = (truth.covariates @ truth.hazard_coefficients).to_numpy()
        c_planted = concordance_index_harrell(days, event, planted)
        X = bc.features.build_features(base, landmark).reindex(alive)
        p = churn.probability(X)
        p = np.where(churn.at_risk(X), p, np.nanmedian(p))
        c_churn = concordance_index_harrell(days, event, p)
        for weights in ("equal", "auto"):
            health = (
                models.part("health")
                if weights == "equal"
                else HealthScore(weights="auto").fit(
                    base.as_of(landmark), landmark, parts={"churn": churn}
                )
            )
            score = health.score(base, landmark, churn=churn).reindex(alive)
            rate = pd.Series(within).groupby(score["band"].to_numpy()).mean()
            share = score["band"].value_counts(normalize=True)
            rows.append(
                {
                    "seed": seed,
                    "weights": weights,
                    "red": rate.get("red", np.nan),
                    "yellow": rate.get("yellow", np.nan),
                    "green": rate.get("green", np.nan),
                    "red/green": rate.get("red", np.nan) / rate.get("green", np.nan),
                    "share red": share.get("red", 0.0),
                    "share green": share.get("green", 0.0),
                    "C score": concordance_index_harrell(days, event, -score["score"].to_numpy()),
                    "C churn part": c_churn,
                    "C planted": c_planted,
                }
            )
    return pd.DataFrame(rows)


def scale(
    n: int, parts: str = "default", jsonl: bool = True, cache: Path | None = None
) -> pd.DataFrame:
    """Time each step (wall and CPU seconds, load); report the peak resident memory.

    Besides the steps, one row per part gives the CPU seconds of its fit and of its sections in
    the frame run (``fit <name>``, ``section <name>``), and ``core`` the sections from the tables.
    With `cache`, the base (Parquet) and the fitted bundle (``bc.save``) are kept there and read
    back by the next run with the same `cache`, so the portraits can be timed again alone.
    """
    import b2bclient as bc
    from b2bclient.account import _batch as batch_module
    from b2bclient.account import all_parts, default_parts

    rows: list[dict[str, Any]] = []

    def timed(step: Any, run: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        rows.append(
            {
                "step": step(result) if callable(step) else step,
                "seconds": time.perf_counter() - wall,
                "CPU seconds": time.process_time() - cpu,
                "load (1 min)": os.getloadavg()[0],
            }
        )
        print(rows[-1], flush=True)
        return result

    as_of = "2025-01-01"
    cached = cache is not None and (cache / "models").exists()
    if cached:
        assert cache is not None
        base = timed(f"read_parquet ({cache})", lambda: bc.ClientBase.read_parquet(cache / "base"))
    else:
        base = timed(f"make_client_base({n:,})", lambda: bc.datasets.make_client_base(n, seed=0))
    chosen = list(all_parts() if parts == "all" else default_parts())
    fit_cpu: dict[str, float] = {}
    clock = [time.process_time()]

    def progress(name: str, done: int, total: int) -> None:
        now = time.process_time()
        fit_cpu[name] = now - clock[0]
        clock[0] = now
        print(f"fit {name}: {fit_cpu[name]:.1f} CPU seconds", flush=True)

    if cached:
        assert cache is not None
        models = timed(f"bc.load ({cache / 'models'})", lambda: bc.load(cache / "models"))
    else:
        models = timed(
            f"Models.fit ({len(chosen)} parts)",
            lambda: bc.Models.fit(base, as_of, parts=chosen, progress=progress),
        )
        if cache is not None:
            base.to_parquet(cache / "base")
            bc.save(models, cache / "models")
    section_cpu: dict[str, float] = {}
    originals = {type(p): type(p).section for p in models.parts}

    def wrap(cls: Any, original: Any) -> Any:
        def section(self: Any, batch: Any) -> Any:
            start = time.process_time()
            out = original(self, batch)
            section_cpu[self.name] = section_cpu.get(self.name, 0.0) + time.process_time() - start
            return out

        return section

    for cls, original in originals.items():
        cls.section = wrap(cls, original)
    core = batch_module.CORE_SECTIONS
    batch_module.CORE_SECTIONS = tuple(
        (name, _timed_core(name, function, section_cpu)) for name, function in core
    )
    try:
        timed(
            lambda f: f"portraits, frame ({len(f):,} rows)",
            lambda: bc.portraits(base, as_of=as_of, models=models),
        )
    finally:
        for cls, original in originals.items():
            cls.section = original
        batch_module.CORE_SECTIONS = core
    for name, cpu in section_cpu.items():
        print(f"section {name}: {cpu:.1f} CPU seconds", flush=True)
    if jsonl:
        timed(
            lambda t: f"portraits, JSON Lines ({len(t) / 2**20:,.0f} MiB)",
            lambda: bc.portraits(base, as_of=as_of, models=models, format="jsonl"),
        )
    lifecycle = models.part("lifecycle")
    if lifecycle is not None:
        for draws in (256, 1024):
            model = copy.copy(lifecycle.model_)
            model.n_draws = draws
            timed(
                lambda f, d=draws: f"LifecycleModel.predict, n_draws={d} ({len(f):,} projects)",
                lambda m=model: m.predict(base, as_of),
            )
    for name, cpu in fit_cpu.items():
        rows.append({"step": f"  fit {name}", "CPU seconds": cpu})
    for name, cpu in section_cpu.items():
        rows.append({"step": f"  section {name}", "CPU seconds": cpu})
    out = pd.DataFrame(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak resident memory of the process: {peak:.2f} GiB")
    return out


def _timed_core(name: str, function: Any, sink: dict[str, float]) -> Any:
    def run(batch: Any) -> Any:
        start = time.process_time()
        out = function(batch)
        sink["core"] = sink.get("core", 0.0) + time.process_time() - start
        return out

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", choices=("backtest", "scale"), default=None)
    parser.add_argument(
        "--parts",
        choices=("default", "all"),
        default="default",
        help="the bundle of the scale run: the default parts, or with the opt-in ones",
    )
    parser.add_argument("-n", type=int, default=None, help="organisations of the scale run")
    parser.add_argument("--no-jsonl", action="store_true", help="scale: time the frame only")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="scale: keep the base and the fitted bundle here, and reuse them when present",
    )
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        if args.only in (None, "backtest"):
            table = backtest(1_500 if args.quick else 5_000, [0] if args.quick else [0, 1, 2])
            print("\nHealth score back-test: planted churn within 180 days of the landmark")
            print(table.round(3).to_string(index=False))
            print(table.groupby("weights").mean(numeric_only=True).round(3).to_string())
        if args.only in (None, "scale"):
            size = args.n or (5_000 if args.quick else 100_000)
            table = scale(size, args.parts, jsonl=not args.no_jsonl, cache=args.cache)
            print("\nPortraits at scale")
            print(table.round(2).to_string(index=False))
            print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
