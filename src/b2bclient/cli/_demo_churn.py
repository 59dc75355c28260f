"""Report sections on churn: a Cox model of inactivity, survival curves, the riskiest accounts.

``churn_section`` runs on any client base; ``planted_churn_section`` compares with the hazard the
synthetic generator planted, so it runs only in the demo.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import ConvergenceError, InvalidParameterError
from b2bclient.cli._context import Context

__all__ = ["CHURN_DRIVERS", "ChurnResult", "churn_section", "planted_churn_section"]

#: Observable behaviour the churn model reads: size, purchasing, self-service, tickets, contracts.
CHURN_DRIVERS = (
    "firmographics__log_employees",
    "purchasing__orders_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active",
)
_INACTIVITY = "365D"
_HORIZON = "180D"
_FALLBACK_PENALIZER = 0.1


@attrs.frozen(kw_only=True)
class ChurnResult:
    """What the churn section hands on (``ctx.results["churn"]``).

    ``model`` is a scikit-learn pipeline, ``bc.features.preprocessor()`` then a Cox
    :class:`~b2bclient.churn.ChurnModel`, fitted on the raw driver columns (missing values and all)
    of the rows of ``frame`` not marked in ``test``; ``frame`` is the survival frame at the landmark
    joined with the drivers.
    """

    model: Any
    drivers: list[str]
    frame: pd.DataFrame
    test: np.ndarray

    @property
    def cox(self) -> Any:
        """The fitted ChurnModel, the last step of the pipeline."""
        return self.model[-1]

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model matrix of the driver columns `X`, through the fitted preprocessor."""
        Z: pd.DataFrame = self.model[:-1].transform(X[self.drivers])
        return Z

    def probability(self, X: pd.DataFrame, horizon: str) -> pd.Series:
        """Probability of churning within `horizon` of every row of `X`, indexed like `X`."""
        p = self.cox.predict_churn_probability(self.matrix(X), horizon=horizon)
        return pd.Series(np.asarray(p, dtype=float), index=X.index)


def _drivers(X: pd.DataFrame) -> list[str]:
    """The churn drivers `X` holds that vary (an absent table gives a constant or empty column).

    Missing values are kept: the preprocessor imputes them and adds a missing-indicator column.
    """
    usable = [c for c in CHURN_DRIVERS if c in X.columns and X[c].nunique(dropna=False) > 1]
    if not usable:
        raise InvalidParameterError(
            f"None of the churn drivers {list(CHURN_DRIVERS)} varies across the organisations; "
            "the churn model needs deals, interactions or contracts."
        )
    return usable


def _groups(ctx: Context, ids: pd.Series) -> tuple[pd.Series, str]:
    """Segment labels when a segmentation section has run, the size band otherwise."""
    segments = ctx.results.get("segments")
    if isinstance(segments, pd.Series):
        return segments.reindex(ids.to_numpy()).astype(object).fillna("unknown"), "segment"
    bands = ctx.base.organisations.set_index("organisation_id")["size_band"]
    return bands.reindex(ids.to_numpy()).astype(object).fillna("unknown"), "size band"


def churn_section(ctx: Context) -> None:
    """Fit a Cox model of inactivity at the landmark; show the accounts most at risk as of as_of."""
    from sklearn.pipeline import make_pipeline

    from b2bclient._plotting import pyplot
    from b2bclient.churn import ChurnModel, Inactivity, Surv, plot_survival_curves, survival_frame
    from b2bclient.features import preprocessor

    ctx.out.section("Churn as survival: who stops buying, and why")
    at_landmark = ctx.features_at(ctx.landmark)
    drivers = _drivers(at_landmark)
    outcomes = survival_frame(
        ctx.base,
        as_of=ctx.as_of,
        definition=Inactivity(_INACTIVITY),
        landmarks=[ctx.landmark],
        features=False,
    )
    frame = outcomes.join(at_landmark[drivers], on="organisation_id")
    events = int(frame["event"].sum())
    if len(frame) < 20 or events < 5:
        raise InvalidParameterError(
            f"Only {len(frame)} organisations at risk at {ctx.landmark.date()} with {events} "
            f"churn events before {ctx.as_of.date()}: too few to fit a churn model. Choose an "
            "earlier landmark or a longer history."
        )
    test = np.random.default_rng(ctx.seed).random(len(frame)) < 0.3
    y = Surv.from_frame(frame)
    # The raw driver columns, missing values included: the shared preprocessor turns them into
    # the model matrix (log of counts, medians and missing indicators, constants dropped).
    pipe = make_pipeline(preprocessor(), ChurnModel(kind="cox", penalizer=0.01))
    pipe.fit(frame.loc[~test, drivers], y[~test])
    result = ChurnResult(model=pipe, drivers=drivers, frame=frame, test=test)
    ctx.results["churn"] = result
    model = result.cox
    missing = int(frame[drivers].isna().any(axis=1).sum())
    ctx.out.line(
        f"Churn = no purchase for {_INACTIVITY[:-1]} days. At risk at {ctx.landmark.date()}: "
        f"{len(frame):,} organisations; churned before {ctx.as_of.date()}: {events:,}. "
        f"Cox model on {len(drivers)} drivers through bc.features.preprocessor() "
        f"({len(model.coef_)} model columns"
        + (
            f"; {missing:,} organisations miss a driver: median and a missing indicator"
            if missing
            else ""
        )
        + "), fitted on 70% of them."
    )
    ctx.out.line(
        f"held-out concordance (Harrell's C) on the other 30%: "
        f"{pipe.score(frame.loc[test, drivers], y[test]):.3f} (0.5 = random ranking)"
    )
    ctx.out.frame(
        model.explain(),
        caption="Hazard ratios per standard deviation of each model column (counts and money on "
        "a log scale; above 1: churn sooner)",
    )

    groups, by = _groups(ctx, frame["organisation_id"])
    _, ax = pyplot().subplots(figsize=(7.5, 4.2))
    plot_survival_curves(y, by=groups.to_numpy(), model=model, X=result.matrix(frame), ax=ax)
    ctx.out.figure(
        ax,
        caption=f"Share still a client after the landmark by {by}: observed (Kaplan-Meier, "
        "solid) and predicted by the Cox model (dashed).",
    )

    # Score the clients of today: those with a purchase in the year before as_of.
    X = ctx.features
    alive = X[X["purchasing__orders_365d"] > 0] if "purchasing__orders_365d" in X else X
    alive = alive.reindex(columns=drivers)
    if alive.empty:
        ctx.out.line(f"No organisation bought in the year before {ctx.as_of.date()}.")
        return
    risk = result.probability(alive, _HORIZON)
    top = risk.nlargest(10)
    Z = result.matrix(alive.loc[top.index])
    reference = result.matrix(frame.loc[~test]).mean()
    coef = pd.Series(np.asarray(model.coef_, dtype=float), index=Z.columns)
    push = (Z - reference) * coef
    orgs = ctx.base.organisations.set_index("organisation_id")
    table = pd.DataFrame(
        {
            "name": orgs["name"].reindex(top.index),
            "size_band": orgs["size_band"].reindex(top.index).astype(object),
            f"p_churn_{_HORIZON[:-1]}d": top,
            "main drivers (value, + log-hazard vs average)": [
                ", ".join(
                    f"{_short(c)}={_value(alive, i, c)} (+{push.at[i, c]:.2f})"
                    for c in push.loc[i].nlargest(2).index
                    if push.at[i, c] > 0
                )
                for i in top.index
            ],
        }
    )
    ctx.out.frame(
        table,
        caption=f"Riskiest clients as of {ctx.as_of.date()}: probability of churning within "
        f"{_HORIZON[:-1]} days",
    )
    ctx.out.note(
        "Drivers are the model columns that raise this client's hazard most above an average "
        "client's (coefficient times the difference from the training mean), shown with the "
        "feature's value."
    )


def _short(column: str) -> str:
    """A model column without its extractor prefix: ``purchasing__orders_365d`` -> ``orders_365d``."""
    return column.split("__", 1)[1] if "__" in column else column


def _value(X: pd.DataFrame, i: Any, column: str) -> str:
    """The feature value behind a model column (a missing indicator reads as 'missing')."""
    if column in X.columns:
        value = X.at[i, column]
        return "missing" if pd.isna(value) else f"{value:.3g}"
    return "missing" if column.endswith("__missing") else "?"


def planted_churn_section(ctx: Context) -> None:
    """Compare the churn model with the hazard the generator planted (demo only)."""
    if ctx.truth is None or "churn" not in ctx.results:
        return
    from b2bclient.churn import ChurnModel, Surv
    from b2bclient.datasets._signals import heldout_concordance, landmark_survival

    truth = ctx.truth
    result: ChurnResult = ctx.results["churn"]
    frame = result.frame
    ctx.out.section("Churn against the planted truth")
    ceiling = heldout_concordance(truth, ctx.as_of, seed=ctx.seed)
    ctx.out.line(
        f"The planted hazard ranks the true churn times with C = {ceiling:.3f} on held-out "
        "organisations: the ceiling for the planted target, which the model above never sees "
        "(it sees inactivity, a noisy trace of churn)."
    )
    # The generator planted a Cox hazard on these drivers for the true churn time: fit on it and
    # compare, to see how far observable churn (inactivity) is from the planted one.
    days, churned_by_end = landmark_survival(truth, ctx.as_of)
    planted = list(truth.hazard_coefficients.index)
    target = Surv.from_arrays(days, churned_by_end)
    try:
        on_truth = ChurnModel(kind="cox", penalizer=0.0).fit(truth.covariates[planted], target)
    except ConvergenceError:
        # A few dozen organisations can separate the churned from the others perfectly; the
        # unpenalised estimate then does not exist. Show a penalised one and say so.
        on_truth = ChurnModel(kind="cox", penalizer=_FALLBACK_PENALIZER).fit(
            truth.covariates[planted], target
        )
        ctx.out.note(
            f"The unpenalised Cox fit on the true churn times does not converge on "
            f"{len(days):,} organisations (the data separate churned from surviving ones); the "
            f"coefficients below carry penalizer={_FALLBACK_PENALIZER}, which shrinks them and "
            "narrows their intervals, so they are not expected to cover the planted values."
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
    ctx.out.frame(
        recovered, caption="Planted hazard vs a Cox model fitted on the true churn times (95%)"
    )

    risk = result.probability(frame.set_index("organisation_id"), _HORIZON)
    churned_at = truth.churned_at.reindex(risk.index)
    within = (churned_at < ctx.landmark + pd.Timedelta(_HORIZON)).to_numpy()
    top = risk.rank(ascending=False, method="first") <= max(1, len(risk) // 10)
    ctx.out.line(
        f"Of the 10% riskiest organisations at {ctx.landmark.date()}, {within[top.to_numpy()].mean():.0%} "
        f"truly churned within {_HORIZON[:-1]} days, against {within.mean():.0%} of all at risk."
    )
    shown = risk.nlargest(5).to_frame(f"p_churn_{_HORIZON[:-1]}d")
    shown["churned_at (truth)"] = churned_at.reindex(shown.index)
    ctx.out.frame(shown, caption=f"Highest churn probability as of {ctx.landmark.date()}")
