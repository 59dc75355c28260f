"""Report section on long projects: the stage funnel and the projects where sales should engage now.

``lifecycle_section`` runs on any client base with projects and stages. Like the churn section it
fits :class:`~b2bclient.lifecycle.LifecycleModel` at the landmark, checks its forecast against
what happened up to ``as_of`` (and, in the demo, against the procurement oracle), and then
forecasts as of ``as_of`` for today's procurement alerts. The fitted model is handed on as
``ctx.results["lifecycle"]``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2bclient._exceptions import ConvergenceError, InvalidParameterError
from b2bclient.cli._context import Context

__all__ = ["lifecycle_section"]

_WITHIN = "90D"
_MIN_PROBABILITY = 0.5
_SHOWN = 10


def _fit(ctx: Context, at: pd.Timestamp) -> Any:
    """Fit the lifecycle model at `at`, or say in a note why the history does not allow it."""
    from b2bclient.lifecycle import LifecycleModel

    try:
        return LifecycleModel().fit(ctx.base, at)
    except (InvalidParameterError, ConvergenceError) as exc:
        ctx.out.note(f"No lifecycle model as of {at.date()}: {exc}")
        return None


def lifecycle_section(ctx: Context) -> None:
    """Show the stage funnel, the forecast checked after the landmark, and the procurement alerts."""
    from b2bclient._plotting import pyplot
    from b2bclient.lifecycle import (
        plot_procurement_calibration,
        plot_stage_funnel,
        stage_funnel,
    )
    from b2bclient.lifecycle._evaluate import procurement_scores

    ctx.out.section("Long projects: when procurement starts, so that sales can engage early")
    if len(ctx.base.stages) == 0:
        ctx.out.line("The client base holds no project stages: nothing to show about projects.")
        return
    funnel = stage_funnel(ctx.base, ctx.as_of)
    shown = funnel[["entered", "reached", "conversion", "median_days", "running"]].copy()
    services = [c for c in funnel.columns if c.startswith("service_")]
    ctx.out.frame(
        shown,
        caption=f"Stage funnel as of {ctx.as_of.date()} (conversion: moved on / left the stage; "
        "median days: Kaplan-Meier)",
    )
    attach = funnel[services].rename(columns=lambda c: c.removeprefix("service_"))
    ctx.out.frame(
        attach,
        floatfmt="{:.0%}",
        caption="Services ordered while a project is in the stage (share of the projects in it)",
    )
    _, ax = pyplot().subplots(figsize=(7.5, 3.6))
    plot_stage_funnel(funnel, ax=ax)
    ctx.out.figure(ax, caption="Projects entering each stage, with conversion and median days.")

    # Fitted at the landmark, checked on what happened up to as_of, then asked about today.
    horizon_end = ctx.landmark + pd.Timedelta("180D")
    past = _fit(ctx, ctx.landmark)
    if past is None:
        return
    ctx.results["lifecycle"] = past
    if horizon_end <= ctx.as_of:
        forecast = past.predict(ctx.base, ctx.landmark)
        scores = procurement_scores(forecast, ctx.base, ctx.landmark, ctx.as_of)
        line = (
            f"Fitted at {ctx.landmark.date()} and checked on the "
            f"{scores['projects']:.0f} projects then in design or production: concordance of the "
            f"180-day probability with the time to procurement {scores['concordance']:.3f}; "
            f"90-day procurement predicted / observed: design {scores['design_predicted']:.0%} / "
            f"{scores['design_observed']:.0%}, production {scores['production_predicted']:.0%} / "
            f"{scores['production_observed']:.0%}."
        )
        if ctx.truth is not None:
            from b2bclient.datasets import procurement_oracle

            oracle = procurement_oracle(ctx.base, ctx.truth, ctx.landmark)
            best = procurement_scores(oracle, ctx.base, ctx.landmark, ctx.as_of)
            line += (
                f" The oracle (the planted lifecycle, the ceiling) reaches {best['concordance']:.3f}"
                f" and predicts design {best['design_predicted']:.0%}, production "
                f"{best['production_predicted']:.0%}."
            )
        ctx.out.line(line)
        _, ax = pyplot().subplots(figsize=(7.5, 4.0))
        plot_procurement_calibration(past, ctx.base, ctx.landmark, until=ctx.as_of, ax=ax)
        ctx.out.figure(
            ax,
            caption=f"Projects in design or production at {ctx.landmark.date()}: predicted "
            "(dashed) and observed (Aalen-Johansen, solid) share whose procurement started.",
        )

    alerts = past.alerts(ctx.base, ctx.as_of, within=_WITHIN, min_probability=_MIN_PROBABILITY)
    label = f"p_procurement_{_WITHIN[:-1]}d"
    orgs = ctx.base.organisations.set_index("organisation_id")["name"].astype(object)
    table = alerts.head(_SHOWN).assign(
        organisation=lambda d: d["organisation_id"].map(orgs),
        expected=lambda d: pd.DatetimeIndex(d["expected_procurement_at"]).date,
    )
    ctx.out.line(
        f"{len(alerts)} active projects will likely (at least {_MIN_PROBABILITY:.0%}) reach "
        f"procurement within {_WITHIN[:-1]} days of {ctx.as_of.date()}: the time for sales to "
        "engage, before the tender is written."
    )
    if len(table):
        ctx.out.frame(
            table.set_index("project_id")[
                ["organisation", "stage", "days_in_stage", label, "expected", "p_cancel"]
            ],
            caption=f"Procurement alerts as of {ctx.as_of.date()}, most likely first",
            floatfmt="{:,.2f}",
        )
        for row in table.head(3).itertuples(index=False):
            ctx.out.line(f"{row.project_id} ({row.organisation}): {row.reason}")
