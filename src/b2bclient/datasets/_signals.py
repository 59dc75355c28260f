"""Measures of how observable the planted signals of a synthetic client base are.

The figures quoted in ``docs/datasets.md`` and the bounds the tests hold the generator to are
computed here, once: the survival target of the planted churn, the held-out concordance of the true
hazard, per-organisation aggregates a segmentation can see, the AUC of a simple partner score, and
the ceilings later models are judged against: the true win probabilities, the procurement oracle,
and a supervised regression on the true wallets.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.churn.metrics import concordance_index_harrell
from b2bclient.datasets._truth import SyntheticTruth

__all__ = [
    "heldout_concordance",
    "landmark_survival",
    "observable_aggregates",
    "partner_auc",
    "procurement_ceiling",
    "stage_history",
    "wallet_ceiling",
    "win_ceiling",
]

_YEAR = pd.Timedelta(days=365.25)


def landmark_survival(
    truth: SyntheticTruth, end: pd.Timestamp
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return the days from the landmark to churn (censored at `end`) and the event flags.

    Rows follow ``truth.covariates``: the organisations known and alive at the landmark.
    """
    churned = truth.churned_at.reindex(truth.covariates.index)
    days = (churned.fillna(end) - truth.landmark) / pd.Timedelta(days=1)
    return days.to_numpy(dtype=np.float64), churned.notna().to_numpy()


def heldout_concordance(truth: SyntheticTruth, end: pd.Timestamp, seed: int = 0) -> float:
    """Return Harrell's concordance of the true hazard on a random half of the organisations.

    The true risk is ``truth.covariates @ truth.hazard_coefficients``; the half is drawn with
    `seed`.
    """
    duration, event = landmark_survival(truth, end)
    risk = (truth.covariates @ truth.hazard_coefficients).to_numpy()
    half = np.random.default_rng(seed).random(len(risk)) < 0.5
    return concordance_index_harrell(duration[half], event[half], risk[half])


def observable_aggregates(base: ClientBase, end: pd.Timestamp) -> pd.DataFrame:
    """Return 14 per-organisation aggregates over the whole span that the segments drive.

    Log head count, orders per year, log median order value, shares of portal, tender and EDI
    deals, share of service lines, projects per year, interactions per year, portal share of
    interactions, tickets per year, personal touches per year and whether a contract is held;
    rates are per year since the organisation's creation (at least a quarter), logged with
    ``log1p``.
    """
    orgs = base.organisations.set_index("organisation_id")
    years = ((end - orgs["created_at"]) / _YEAR).clip(lower=0.25)
    deals = base.deals
    won = deals[deals["status"] == "won"]
    lines = base.deal_lines.merge(base.products[["product_id", "kind"]], on="product_id")
    lines = lines.merge(deals[["deal_id", "organisation_id"]], on="deal_id")
    counts = (
        base.interactions.groupby(["organisation_id", "channel"], observed=True)
        .size()
        .unstack(fill_value=0)
        .reindex(
            index=orgs.index, columns=base.interactions["channel"].cat.categories, fill_value=0
        )
    )
    f = pd.DataFrame(index=orgs.index)
    f["log_employees"] = np.log1p(orgs["employees"].astype("float64"))
    orders = won.groupby("organisation_id").size().reindex(orgs.index, fill_value=0)
    f["orders"] = np.log1p(orders / years)
    median = won.groupby("organisation_id")["amount"].median().reindex(orgs.index)
    f["value"] = np.log(median.fillna(deals["amount"].median()))
    for channel in ("portal", "tender", "edi"):
        share = (deals["channel"] == channel).groupby(deals["organisation_id"]).mean()
        f[f"deals_{channel}"] = share.reindex(orgs.index, fill_value=0.0)
    service = (lines["kind"] == "service").groupby(lines["organisation_id"]).mean()
    f["service"] = service.reindex(orgs.index, fill_value=0.0)
    projects = base.projects.groupby("organisation_id").size().reindex(orgs.index, fill_value=0)
    f["projects"] = np.log1p(projects / years)
    f["touches"] = np.log1p(counts.sum(axis=1) / years)
    f["portal"] = counts["portal"] / counts.sum(axis=1).clip(lower=1)
    f["tickets"] = np.log1p(counts["support"] / years)
    f["personal"] = np.log1p((counts["email"] + counts["phone"] + counts["meeting"]) / years)
    f["contract"] = orgs.index.isin(base.contracts["organisation_id"]).astype("float64")
    return f


def partner_auc(base: ClientBase, truth: SyntheticTruth) -> float:
    """Return the AUC of a simple partner score, hidden pairs against same-industry look-alikes.

    For each supplier of ``truth.partner_pairs``, every organisation of its buyer's industry is a
    candidate, scored *same region + 2 x same-site projects opened within 45 days + 3 x same-day
    site visits*; the AUC of the true buyers against the others is averaged over suppliers.
    """
    orgs = base.organisations.set_index("organisation_id")
    pairs = truth.partner_pairs.rename(columns={"organisation_id": "s", "partner_id": "b"})
    pairs["industry"] = pairs["b"].map(orgs["industry"])
    pool = orgs.reset_index()[["organisation_id", "industry"]]
    cand = pairs[["s", "industry"]].drop_duplicates().merge(pool, on="industry")
    cand = cand.rename(columns={"organisation_id": "b"})[["s", "b"]].reset_index(drop=True)
    true_keys = pd.MultiIndex.from_frame(pairs[["s", "b"]])
    cand["true"] = pd.MultiIndex.from_frame(cand[["s", "b"]]).isin(true_keys)

    region = orgs["region"]
    score = (cand["s"].map(region) == cand["b"].map(region)).astype(float).to_numpy()
    projects = base.projects.assign(site=base.projects["name"].str.split(" - ").str[0])
    projects = projects[["organisation_id", "site", "created_at"]]
    m = cand.reset_index().merge(projects, left_on="s", right_on="organisation_id")
    m = m.merge(projects, left_on=["b", "site"], right_on=["organisation_id", "site"])
    close = (m["created_at_x"] - m["created_at_y"]).abs() < pd.Timedelta(days=45)
    score += 2.0 * m[close].groupby("index").size().reindex(cand.index, fill_value=0).to_numpy()
    visits = base.interactions[base.interactions["kind"] == "site_visit"]
    visits = visits.assign(day=visits["occurred_at"].dt.floor("D"))
    visits = visits[["organisation_id", "day"]].drop_duplicates()
    m = cand.reset_index().merge(visits, left_on="s", right_on="organisation_id")
    m = m.merge(visits, left_on=["b", "day"], right_on=["organisation_id", "day"])
    score += 3.0 * m.groupby("index").size().reindex(cand.index, fill_value=0).to_numpy()
    cand["score"] = score

    aucs = []
    for _, group in cand.groupby("s"):
        pos = group.loc[group["true"], "score"].to_numpy()
        neg = group.loc[~group["true"], "score"].to_numpy()
        aucs.append((pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean())
    return float(np.mean(aucs))


# ---------------------------------------------------------------------------------- deal outcomes


def win_ceiling(base: ClientBase, truth: SyntheticTruth) -> dict[str, float]:
    """Return how well the true win probabilities score the closed deals, and a channel baseline.

    Brier score and AUC of ``truth.win_probability`` on every won or lost deal; the largest gap
    between the mean true probability and the win rate over the deciles of the true probability;
    and the Brier score and AUC of the channel's win rate (measured on the same deals).
    """
    deals = base.deals[base.deals["status"] != "open"]
    won = (deals["status"] == "won").to_numpy()
    p = truth.win_probability.reindex(deals["deal_id"]).to_numpy()
    channel = (deals["status"] == "won").groupby(deals["channel"], observed=True).transform("mean")
    decile = pd.qcut(p, 10, labels=False, duplicates="drop")
    by_decile = pd.DataFrame({"p": p, "won": won, "decile": decile}).groupby("decile").mean()
    return {
        "deals": float(len(deals)),
        "won_rate": float(won.mean()),
        "brier": float(brier_score_loss(won, p)),
        "auc": float(roc_auc_score(won, p)),
        "calibration_gap": float((by_decile["p"] - by_decile["won"]).abs().max()),
        "channel_brier": float(brier_score_loss(won, channel.to_numpy())),
        "channel_auc": float(roc_auc_score(won, channel.to_numpy())),
    }


# -------------------------------------------------------------------------------- project stages


def stage_history(base: ClientBase, truth: SyntheticTruth) -> pd.DataFrame:
    """Return one row per project stage with its outcome, covariates and earlier durations.

    ``days`` runs from the stage's start to its end, or to the end of the data when it is still
    running; ``completed`` says the stage ended by handing over to the next (or, for
    commissioning, by completing the project), ``cancelled`` that the project was cancelled in it,
    and ``churn`` that this cancellation came at or after the organisation's churn (outside the
    planted cancellation hazard). The covariates are ``truth.project_covariates``;
    ``log_days_<stage>`` are the log-durations of the project's earlier stages.
    """
    stages = base.stages.merge(
        base.projects[["project_id", "organisation_id", "status"]], on="project_id"
    )
    stages = stages.sort_values(["project_id", "stage"]).reset_index(drop=True)
    end = _end_of(base)
    last = stages["project_id"].ne(stages["project_id"].shift(-1))
    ended = stages["ended_at"].notna()
    completed = ended & (~last | (stages["status"] == "completed"))
    stop = stages["ended_at"].fillna(end)
    out = pd.DataFrame(
        {
            "project_id": stages["project_id"],
            "organisation_id": stages["organisation_id"],
            "stage": stages["stage"],
            "started_at": stages["started_at"],
            "days": (stop - stages["started_at"]) / pd.Timedelta(days=1),
            "completed": completed.to_numpy(),
            "cancelled": (ended & ~completed).to_numpy(),
        }
    )
    churned = stages["organisation_id"].map(truth.churned_at)
    out["churn"] = out["cancelled"] & (stages["ended_at"] >= churned).to_numpy()
    out = out.join(truth.project_covariates, on="project_id")
    wide = out.pivot(index="project_id", columns="stage", values="days")
    for stage in STAGES[:-1]:
        done = out[out["stage"] == stage].set_index("project_id")["completed"]
        log_days = np.log(wide[stage]).where(done.reindex(wide.index, fill_value=False))
        out[f"log_days_{stage}"] = out["project_id"].map(log_days)
    return out


def _end_of(base: ClientBase) -> pd.Timestamp:
    """Return the first day after the last event of a generated base (its ``end``)."""
    last = max(
        base.interactions["occurred_at"].max(),
        base.deals["created_at"].max(),
        base.stages["started_at"].max(),
    )
    return pd.Timestamp(last).ceil("D")


def procurement_ceiling(
    base: ClientBase,
    truth: SyntheticTruth,
    as_of: pd.Timestamp,
    end: pd.Timestamp,
    horizon: str = "90D",
) -> dict[str, float]:
    """Return the oracle's concordance for time to procurement and its calibration per stage.

    The oracle (:func:`~b2bclient.datasets.procurement_oracle`) at `as_of` scores the projects
    active then in design or production. Concordance is Harrell's C of its probability of
    procurement within 180 days against the days from `as_of` to procurement, projects that do
    not reach procurement before `end` (cancelled or still running) being censored at `end`.
    Calibration compares, per current stage, the mean predicted probability of procurement within
    `horizon` with the share that reached it (`as_of` + `horizon` must not pass `end`).
    """
    from b2bclient.datasets._oracle import procurement_oracle

    span = pd.Timedelta(horizon)
    if as_of + span > end:
        raise ValueError(f"as_of + horizon ({as_of + span}) passes the end of the data ({end}).")
    oracle = procurement_oracle(base, truth, as_of, horizons=(horizon, "180D"))
    reached = base.stages[base.stages["stage"] == "procurement"].set_index("project_id")
    start = oracle["project_id"].map(reached["started_at"])
    event = start.notna().to_numpy()
    days = ((start.fillna(end) - as_of) / pd.Timedelta(days=1)).to_numpy()
    label = f"p_procurement_{span.days}d"
    out = {
        "projects": float(len(oracle)),
        "concordance": concordance_index_harrell(days, event, oracle["p_procurement_180d"]),
    }
    within = (start < as_of + span).to_numpy()
    for stage in ("design", "production"):
        rows = (oracle["stage"] == stage).to_numpy()
        out[f"{stage}_projects"] = float(rows.sum())
        out[f"{stage}_predicted"] = float(oracle.loc[rows, label].mean())
        out[f"{stage}_observed"] = float(within[rows].mean())
    return out


# ------------------------------------------------------------------------------------------ wallets


def wallet_ceiling(
    base: ClientBase, truth: SyntheticTruth, as_of: pd.Timestamp, seed: int = 0
) -> dict[str, float]:
    """Return how well the planted wallets can be ranked from what is observable at `as_of`.

    Organisations known for at least a year and not churned before `as_of` count. A gradient
    boosting regression of the log wallet on every default feature as of `as_of` (firmographics
    and behaviour), cross-validated over five folds, gives the ceiling: the Spearman correlation
    of its out-of-fold predictions with the planted wallets. The baseline is the Spearman
    correlation of plain last-year spend (``purchasing__revenue_365d``).
    """
    from scipy.stats import spearmanr
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_predict
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from b2bclient.features import build_features

    orgs = base.organisations.set_index("organisation_id")
    known = orgs["created_at"] <= as_of - _YEAR
    alive = ~(truth.churned_at.reindex(orgs.index) < as_of)
    ids = orgs.index[(known & alive).to_numpy()]
    features = build_features(base, as_of=as_of).loc[ids]
    target = np.log(truth.wallet.loc[ids].to_numpy())
    model = HistGradientBoostingRegressor(random_state=seed)
    folds = KFold(5, shuffle=True, random_state=seed)
    with threadpool_limits(1):  # one thread: the fits are small, and the machine may be shared
        predicted = cross_val_predict(model, features, target, cv=folds)
    spend = features["purchasing__revenue_365d"].to_numpy()
    return {
        "organisations": float(len(ids)),
        "spearman_supervised": float(spearmanr(predicted, target).statistic),
        "spearman_last_year_spend": float(spearmanr(spend, target).statistic),
    }
