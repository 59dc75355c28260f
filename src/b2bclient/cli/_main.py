"""Entry point of the ``b2bclient`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from b2bclient._exceptions import B2BClientError, InvalidParameterError

__all__ = ["main"]

_DEMO_END = "2025-01-01"  # the synthetic data ends just before this time


class _Printer:
    """Prints sections with timings; the one place that writes to the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.perf_counter()

    def section(self, title: str) -> None:
        elapsed = time.perf_counter() - self.started
        print(
            f"\n== {title} " + "=" * max(3, 72 - len(title)) + f" [{elapsed:6.1f} s]",
            file=self.stream,
        )

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def frame(self, df: pd.DataFrame, *, floatfmt: str = "{:,.3f}") -> None:
        with pd.option_context(
            "display.width", 120, "display.max_columns", 20, "display.float_format", floatfmt.format
        ):
            print(df.to_string(), file=self.stream)


def _demo(args: argparse.Namespace, out: _Printer) -> None:
    from b2bclient import load, save
    from b2bclient.btyd import BetaGeo, GammaGamma, calibration_holdout
    from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
    from b2bclient.cli._demo_recommend import demo_recommendations
    from b2bclient.datasets import make_client_base
    from b2bclient.datasets._signals import landmark_survival
    from b2bclient.features import build_features

    out.section(f"Synthetic client base: {args.n_organisations:,} organisations, seed {args.seed}")
    end = pd.Timestamp(_DEMO_END)
    base, truth = make_client_base(
        n_organisations=args.n_organisations, seed=args.seed, end=end, return_truth=True
    )
    out.frame(base.summary()[["rows", "columns", "first", "last"]])
    landmark = truth.landmark
    out.line(f"\nplanted segments: {truth.segment.value_counts().to_dict()}")
    out.line(f"landmark (as_of for the models): {landmark.date()}; data ends before {end.date()}")

    out.section(f"Features as of {landmark.date()}: one row per organisation")
    t0 = time.perf_counter()
    X = build_features(base, as_of=landmark)
    seconds = time.perf_counter() - t0
    out.line(f"{X.shape[0]:,} organisations x {X.shape[1]} features in {seconds:.2f} s")
    example = X.iloc[0]
    shown = [c for c in X.columns if c.startswith(("purchasing__", "engagement__", "contracts__"))][
        :10
    ]
    out.frame(example[shown].to_frame(example.name))

    out.section("Churn as survival: Cox model on the churn drivers, organisations split 70/30")
    # Durations and events after the landmark; the features at the landmark are X, built above.
    drivers = list(truth.hazard_coefficients.index)
    outcomes = survival_frame(
        base, as_of=end, definition=Inactivity("365D"), landmarks=[landmark], features=False
    )
    frame = outcomes.join(X[drivers], on="organisation_id").dropna(subset=drivers)
    rng = np.random.default_rng(args.seed)
    test = rng.random(len(frame)) < 0.3
    y = Surv.from_frame(frame)
    model = ChurnModel(kind="cox", penalizer=0.01).fit(frame.loc[~test, drivers], y[~test])
    out.line(
        f"churn = no purchase for 365 days; at risk at the landmark: {len(frame):,}; "
        f"churned by the end: {int(frame['event'].sum()):,}"
    )
    out.line(
        f"held-out concordance (Harrell's C): {model.score(frame.loc[test, drivers], y[test]):.3f}"
    )
    out.frame(model.explain())

    # The generator planted a Cox hazard on these drivers for the true churn time: fit on it and
    # compare, to see how far observable churn (inactivity) is from the planted one.
    days, churned_by_end = landmark_survival(truth, end)
    on_truth = ChurnModel(kind="cox", penalizer=0.0).fit(
        truth.covariates[drivers], Surv.from_arrays(days, churned_by_end)
    )
    fitted = on_truth.explain()
    recovered = pd.DataFrame(
        {
            "planted": truth.hazard_coefficients,
            "fitted": fitted["coef"],
            "lower": np.log(fitted["hazard_ratio_lower"]),
            "upper": np.log(fitted["hazard_ratio_upper"]),
        }
    )
    out.line("\nplanted hazard vs a Cox model fitted on the true churn times (95% interval):")
    out.frame(recovered)

    alive = frame.set_index("organisation_id")[drivers]
    risk = pd.Series(model.predict_churn_probability(alive, horizon="180D"), index=alive.index)
    out.line("\nhighest 180-day churn probability as of the landmark:")
    top = risk.nlargest(5).to_frame("p_churn_180d")
    top["churned_at (truth)"] = truth.churned_at.reindex(top.index)
    out.frame(top)

    out.section(f"Buy-till-you-die: BG/NBD calibrated before {landmark.date()}, weekly")
    cal = calibration_holdout(base, calibration_end=landmark, holdout_end=end, freq="W")
    bg = BetaGeo().fit(cal)
    out.frame(bg.summary_)
    expected = bg.conditional_expected_purchases(cal["duration_holdout"].to_numpy(), cal)
    out.line(
        f"holdout purchases ({cal['duration_holdout'].iloc[0]:.0f} weeks): predicted "
        f"{float(np.sum(expected)):,.0f}, actual {cal['frequency_holdout'].sum():,.0f}"
    )
    p_alive = pd.Series(np.asarray(bg.p_alive(cal)), index=cal.index)
    churned = truth.churned_at.reindex(cal.index) < landmark
    out.line(
        f"mean P(alive) at the landmark: {p_alive[~churned].mean():.2f} for organisations still "
        f"active, {p_alive[churned].mean():.2f} for those that had already churned (truth)"
    )
    repeat = cal[(cal["frequency"] > 0) & (cal["monetary_value"] > 0)]
    gg = GammaGamma().fit(repeat)
    clv = pd.Series(
        np.asarray(gg.customer_lifetime_value(bg, repeat, time=12, discount_rate=0.01)),
        index=repeat.index,
    )
    out.line("\nhighest 12-month discounted lifetime value (BG/NBD x Gamma-Gamma):")
    out.frame(clv.nlargest(5).to_frame("clv_12m"), floatfmt="{:,.0f}")

    demo_recommendations(base, end, out)

    out.section("Saving and loading the churn model (JSON + .npy, no pickle)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "churn-model"
        save(model, path)
        again = load(path)
        same = np.array_equal(again.predict(alive), model.predict(alive))
        out.line(
            f"saved to a directory of {len(list(path.rglob('*')))} files; predictions identical after load: {same}"
        )
    out.section("Done")


def _report(args: argparse.Namespace, out: _Printer) -> None:
    from b2bclient.base import ClientBase
    from b2bclient.features import build_features

    source = str(args.source)
    if "://" in source:
        base = ClientBase.read_sql(source)
    else:
        path = Path(source)
        if (path / "organisations.parquet").exists():
            base = ClientBase.read_parquet(path)
        elif (path / "organisations.csv").exists():
            base = ClientBase.read_csv(path)
        else:
            raise InvalidParameterError(
                f"No client base at {source!r}: expected a directory with organisations.parquet "
                "or organisations.csv, or a SQLAlchemy URL such as sqlite:///clients.db."
            )
    out.section(f"Client base from {source}")
    out.frame(base.summary()[["rows", "columns", "first", "last"]])
    out.section(f"Features as of {args.as_of}")
    X = build_features(base, as_of=args.as_of)
    out.line(f"{X.shape[0]:,} organisations x {X.shape[1]} features")
    out.frame(X.describe().T[["count", "mean", "min", "max"]])
    if args.output is not None:
        X.to_csv(args.output)
        out.line(f"\nwritten to {args.output}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="b2bclient", description="Analytics for B2B client data.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the whole pipeline on the built-in synthetic client base"
    )
    demo.add_argument("-n", "--n-organisations", type=int, default=3_000)
    demo.add_argument("--seed", type=int, default=0)
    report = commands.add_parser(
        "report", help="summarise a client base and its features as of a date"
    )
    report.add_argument("source", help="directory of Parquet or CSV tables, or a SQLAlchemy URL")
    report.add_argument("--as-of", required=True, help="cut-off, e.g. 2025-01-01")
    report.add_argument("-o", "--output", type=Path, help="write the features to this CSV file")
    return parser


def main(argv: Sequence[str] | None = None, *, stream: Any = None) -> int:
    """Run the ``b2bclient`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    stream : file-like, optional
        Where to print; defaults to standard output.

    Returns
    -------
    int
        The exit status: 0 on success, 2 on bad input.

    Examples
    --------
    >>> import io
    >>> main(["report", "no/such/dir", "--as-of", "2025-01-01"], stream=io.StringIO())
    2
    """
    args = _parser().parse_args(argv)
    out = _Printer(stream if stream is not None else sys.stdout)
    try:
        if args.command == "demo":
            _demo(args, out)
        else:
            _report(args, out)
    except B2BClientError as exc:
        print(f"b2bclient {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0
