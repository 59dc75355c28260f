"""Report section on buy-till-you-die models: calibration out of sample, P(alive) and value."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import ConvergenceError
from b2bclient.cli._context import Context

__all__ = ["btyd_section", "fit_beta_geo"]

_PENALTY = 0.001


def fit_beta_geo(summary: pd.DataFrame, ctx: Context) -> Any:
    """Fit BG/NBD; if dropout is not identified, refit with a small penalty and say so.

    Weak identification of dropout on a short window is common: the report then shows the
    penalised fit, flagged, instead of no result. BetaGeo reports it with a ConvergenceWarning.
    """
    from sklearn.exceptions import ConvergenceWarning

    from b2bclient.btyd import BetaGeo

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            return BetaGeo().fit(summary)
    except (ConvergenceError, ConvergenceWarning) as exc:
        ctx.out.note(
            f"The unpenalised BG/NBD fit is weakly identified or did not converge ({exc}) The "
            f"figures below use BetaGeo(penalizer={_PENALTY}), which keeps weakly identified "
            "parameters finite; read P(alive) as a ranking rather than a calibrated probability."
        )
        return BetaGeo(penalizer=_PENALTY).fit(summary)


def btyd_section(ctx: Context) -> None:
    """BG/NBD calibrated before the landmark and checked after it; P(alive) and value as of as_of."""
    from b2bclient._plotting import pyplot
    from b2bclient.btyd import (
        GammaGamma,
        calibration_holdout,
        plot_calibration_holdout,
        rfm_summary,
    )

    ctx.out.section("Buy-till-you-die: who is still buying, and what they are worth")
    cal = calibration_holdout(
        ctx.base, calibration_end=ctx.landmark, holdout_end=ctx.as_of, freq="W"
    )
    bg = fit_beta_geo(cal, ctx)
    ctx.out.frame(bg.summary_, caption=f"BG/NBD calibrated before {ctx.landmark.date()}, weekly")
    expected = bg.conditional_expected_purchases(cal["duration_holdout"].to_numpy(), cal)
    ctx.out.line(
        f"Purchases in the {cal['duration_holdout'].iloc[0]:.0f} weeks after "
        f"{ctx.landmark.date()}: predicted {float(np.sum(expected)):,.0f}, "
        f"actual {cal['frequency_holdout'].sum():,.0f}."
    )
    _, ax = pyplot().subplots(figsize=(7.5, 4.2))
    plot_calibration_holdout(bg, cal, ax=ax)
    ctx.out.figure(
        ax,
        caption="Calibration out of sample: mean purchases after the landmark, actual and "
        "predicted, by the number of repeat purchases before it.",
    )
    if ctx.truth is not None:
        p_alive_then = pd.Series(np.asarray(bg.p_alive(cal), dtype=float), index=cal.index)
        churned = ctx.truth.churned_at.reindex(cal.index) < ctx.landmark
        ctx.out.line(
            f"Mean P(alive) at the landmark: {p_alive_then[~churned].mean():.2f} for "
            f"organisations still active, {p_alive_then[churned].mean():.2f} for those that had "
            "already churned (planted truth)."
        )

    summary = rfm_summary(ctx.base, as_of=ctx.as_of, freq="W")
    bg_now = fit_beta_geo(summary, ctx)
    p_alive = pd.Series(np.asarray(bg_now.p_alive(summary), dtype=float), index=summary.index)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gg = GammaGamma().fit(repeat)
    clv = pd.Series(
        np.asarray(gg.customer_lifetime_value(bg_now, repeat, time=12, discount_rate=0.01)),
        index=repeat.index,
    )
    ctx.results["p_alive"] = p_alive
    ctx.results["clv_12m"] = clv
    _, ax = pyplot().subplots(figsize=(7.5, 4.2))
    ax.scatter(p_alive.reindex(clv.index), clv.clip(lower=1.0), s=8, alpha=0.5)
    ax.set_yscale("log")
    ax.set_xlabel(f"P(alive) as of {ctx.as_of.date()}")
    ax.set_ylabel("12-month discounted value")
    ax.set_title("Value against the chance the client is still buying")
    ctx.out.figure(
        ax,
        caption="Each point is a repeat client: bottom right are loyal small clients, top left "
        "valuable clients that may have gone quiet, the first to call.",
    )
    orgs = ctx.base.organisations.set_index("organisation_id")
    top = clv.nlargest(10).to_frame("clv_12m")
    top.insert(0, "name", orgs["name"].reindex(top.index))
    top["p_alive"] = p_alive.reindex(top.index)
    ctx.out.frame(
        top,
        floatfmt="{:,.2f}",
        caption="Highest 12-month discounted lifetime value (BG/NBD x Gamma-Gamma)",
    )
    at_risk = clv[p_alive.reindex(clv.index) < 0.5].nlargest(10).to_frame("clv_12m")
    if len(at_risk):
        at_risk.insert(0, "name", orgs["name"].reindex(at_risk.index))
        at_risk["p_alive"] = p_alive.reindex(at_risk.index)
        ctx.out.frame(
            at_risk, floatfmt="{:,.2f}", caption="Valuable clients with P(alive) below 0.5"
        )
