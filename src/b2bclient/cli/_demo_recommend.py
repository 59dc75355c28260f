"""The recommendations section of ``b2bclient demo``: cross-sell and partner suggestions with reasons."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

__all__ = ["demo_recommendations"]


def demo_recommendations(base: Any, as_of: pd.Timestamp, out: Any, *, n_show: int = 3) -> None:
    """Print cross-sell and partner suggestions with their reasons for a few organisations.

    Parameters
    ----------
    base : ClientBase
        The client base.
    as_of : pandas.Timestamp
        The cut-off of both models.
    out : object
        The demo's printer: ``section(title)``, ``line(text)`` and ``frame(df)``.
    n_show : int, default=3
        Organisations shown.
    """
    from b2bclient.recommend import CrossSell, PartnerMatcher

    out.section(f"Cross-sell as of {as_of.date()}: next products and services, with reasons")
    t0 = time.perf_counter()
    cross = CrossSell().fit(base, as_of=as_of)
    recs = cross.recommend(None, k=3)
    out.line(
        f"{cross.organisation_ids_.shape[0]:,} organisations scored in "
        f"{time.perf_counter() - t0:.1f} s; blend {cross.blend_} on {cross.n_train_positives_:,} "
        "new purchases of the last 180 days"
    )
    names = pd.Series(cross.product_names_, index=cross.product_ids_)
    with_stage = recs.loc[recs["reason"].str.startswith("its project"), "organisation_id"]
    shown = list(dict.fromkeys([*with_stage.head(1), *recs["organisation_id"].head(n_show)]))
    for organisation_id in shown[:n_show]:
        out.line(f"\n{organisation_id}:")
        for row in recs[recs["organisation_id"] == organisation_id].itertuples():
            out.line(f"  {row.rank}. {names[row.product_id]} -- {row.reason}")

    out.section(f"Partner matching as of {as_of.date()}: clients that could do business together")
    t0 = time.perf_counter()
    matcher = PartnerMatcher().fit(base, as_of=as_of)
    matches = matcher.match(None, k=3)
    out.line(
        f"{matcher.organisation_ids_.shape[0]:,} organisations matched in "
        f"{time.perf_counter() - t0:.1f} s with the {matcher.model_} pair model "
        f"({matcher.n_links_:,} known supplier links)"
    )
    best = matches[matches["rank"] == 1].sort_values("score", ascending=False, kind="stable")
    pair = best[["organisation_id", "partner_id"]].apply(lambda r: tuple(sorted(r)), axis=1)
    best = best[~pair.duplicated()]
    for row in best.head(n_show).itertuples():
        out.line(f"\n{row.organisation_id} <-> {row.partner_id} (the partner as {row.role}):")
        for reason in row.reasons.split("; "):
            out.line(f"  - {reason}")
