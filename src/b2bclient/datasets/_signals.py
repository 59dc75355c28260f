"""Measures of how observable the planted signals of a synthetic client base are.

The figures quoted in ``docs/datasets.md`` and the bounds the tests hold the generator to are
computed here, once: the survival target of the planted churn, the held-out concordance of the true
hazard, per-organisation aggregates a segmentation can see, and the AUC of a simple partner score.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.churn.metrics import concordance_index_harrell
from b2bclient.datasets._truth import SyntheticTruth

__all__ = ["heldout_concordance", "landmark_survival", "observable_aggregates", "partner_auc"]

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
