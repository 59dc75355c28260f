"""The health section: each client's score, band, trend, measures, movers and holding score.

A portrait scores the batch with the fitted :class:`~b2bclient.account._health.HealthScore` at
its time and one ``period`` earlier (for the trend and the measures that moved it), and rolls the
scores up to each holding, weighting its members by their orders in the last year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._time import to_duration
from b2bclient.account._core import _floats
from b2bclient.account._part_checks import fitted_as_of
from b2bclient.account._protocol import Batch
from b2bclient.account._ranks import ORGANISATION_EXTRACTORS

if TYPE_CHECKING:
    from b2bclient.account._health import HealthScore

__all__ = ["health_sections"]


def health_sections(health: HealthScore, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each organisation's score, band, trend, measures, movers and holding score."""
    fitted_as_of(health, "HealthScore")
    churn = batch.parts.get("churn")
    health._check_churn(churn)
    before = batch.as_of - to_duration(health.period)
    previous = batch.features_at(before, ORGANISATION_EXTRACTORS)
    frame, parts = health.score_frame(batch.features, previous, churn)
    holding = _holding_scores(batch, frame["score"])
    holding["band"] = health._band(holding["score"].to_numpy())
    names = list(health.measures_)
    weights = health.weights_.to_numpy()
    sub = parts[:, :, 0] / np.where(weights > 0, weights, 1.0)
    scores = _floats(np.round(frame["score"].to_numpy(), 2))
    previous_scores = _floats(np.round(frame["previous_score"].to_numpy(), 2))
    trends = _floats(np.round(frame["trend"].to_numpy(), 2))
    bands = frame["band"].tolist()
    h_top = holding["top_parent_id"].tolist()
    h_members = holding["members"].tolist()
    h_score = _floats(np.round(holding["score"].to_numpy(), 2))
    h_band = holding["band"].tolist()
    out: list[dict[str, Any] | None] = []
    for i in range(len(frame)):
        measures = [
            {
                "name": names[j],
                "subscore": round(float(sub[i, j]), 2),
                "weight": round(float(weights[j]), 4),
                "contribution": round(float(parts[i, j, 0]), 2),
            }
            for j in range(len(names))
        ]
        change = parts[i, :, 1]
        movers = []
        if np.isfinite(change).all():
            for j in np.argsort(-np.abs(change), kind="stable")[:3]:
                if abs(change[j]) >= 0.5:
                    movers.append({"name": names[j], "change": round(float(change[j]), 2)})
        out.append(
            {
                "score": scores[i],
                "band": bands[i],
                "previous_score": previous_scores[i],
                "trend": trends[i],
                "measures": measures,
                "movers": movers,
                "holding": {
                    "top_parent_id": h_top[i],
                    "members": int(h_members[i]),
                    "score": h_score[i],
                    "band": h_band[i],
                },
            }
        )
    return out


def _holding_scores(batch: Batch, score: pd.Series) -> pd.DataFrame:
    """The score of each organisation's holding: its members' scores weighted by last year's orders."""
    from b2bclient.account._tables import top_parents

    tops = top_parents(batch.tables).reindex(score.index)
    orders = batch.features["purchasing__orders_365d"].fillna(0.0).to_numpy() + 1.0
    frame = pd.DataFrame(
        {"top": tops.to_numpy(), "w": orders, "ws": orders * score.to_numpy()}, index=score.index
    )
    groups = frame.groupby("top", sort=False)
    totals = groups[["w", "ws"]].transform("sum")
    return pd.DataFrame(
        {
            "top_parent_id": tops.to_numpy(dtype=object),
            "members": groups["w"].transform("size").to_numpy(),
            "score": (totals["ws"] / totals["w"]).to_numpy(),
        },
        index=score.index,
    )
