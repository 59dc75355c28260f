"""The suggestion sections: the cross-sell's products and the partner matcher's partners.

:class:`~b2bclient.account._parts_market.CrossSellSuggestions` and
:class:`~b2bclient.account._parts_market.PartnerSuggestions` list ranked suggestions from the
recommender's snapshot of the base at the bundle's ``as_of``: an organisation the recommender
does not know (created after it) has no section, and the products an organisation bought since
are left out. Both sections share one JSON Schema envelope (``as_of`` and the ranked rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient.account._core import _floats, group_rows
from b2bclient.account._part_checks import fitted_as_of
from b2bclient.account._protocol import Batch

if TYPE_CHECKING:
    from b2bclient.account._parts_market import CrossSellSuggestions, PartnerSuggestions

__all__ = ["cross_sell_sections", "partner_sections", "suggestions_schema"]

_SUGGESTIONS_NOTE = (
    "Suggestions come from the recommender's snapshot of the base at the bundle's as_of; an "
    "organisation created after it has no section."
)


def suggestions_schema(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema of a section listing ranked suggestions with the item `fields`.

    Every field is required; ``rank`` (from 1) comes first, as in the section's rows.
    """
    properties = {"rank": {"type": "integer", "minimum": 1}, **fields}
    return {
        "type": "object",
        "required": ["as_of", "suggestions"],
        "additionalProperties": False,
        "description": _SUGGESTIONS_NOTE,
        "properties": {
            "as_of": {"type": "string", "format": "date-time"},
            "suggestions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": list(properties),
                    "additionalProperties": False,
                    "properties": properties,
                },
            },
        },
    }


def _known_to(model: Any, ids: pd.Index) -> pd.Index:
    """The ids of the batch that the fitted recommender knows (created before its as_of)."""
    return ids[ids.isin(model.organisation_ids_)]


def _bought(batch: Batch) -> set[tuple[str, str]]:
    """(organisation, product) pairs of the batch's won deal lines before ``batch.as_of``."""
    deals = batch.tables["deals"]
    won = deals.loc[deals["status"].astype(object) == "won", ["deal_id", "organisation_id"]]
    lines = batch.tables["deal_lines"]
    pairs = lines[["deal_id", "product_id"]].merge(won, on="deal_id")
    return set(
        zip(
            pairs["organisation_id"].astype(str).tolist(),
            pairs["product_id"].astype(str).tolist(),
            strict=True,
        )
    )


def _envelopes(
    as_of: Any,
    batch: Batch,
    known: pd.Index,
    groups: list[np.ndarray],
    item: Callable[[int], dict[str, Any]],
) -> list[dict[str, Any] | None]:
    """Return each organisation's section: ``as_of`` and its ranked items, None if unknown.

    `groups` holds, per organisation of the batch, the rows of its items in rank order; `item`
    turns one row into the fields of a suggestion after its ``rank``.
    """
    stamp = pd.Timestamp(as_of).isoformat()
    in_model = set(known.tolist())
    return [
        {
            "as_of": stamp,
            "suggestions": [{"rank": r, **item(i)} for r, i in enumerate(rows.tolist(), start=1)],
        }
        if oid in in_model
        else None
        for oid, rows in zip(batch.ids.tolist(), groups, strict=True)
    ]


def cross_sell_sections(part: CrossSellSuggestions, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each organisation's top `k` suggestions, leaving out what it bought since."""
    fitted_as_of(part, "CrossSellSuggestions")
    k = int(part.k)
    known = _known_to(part.model_, batch.ids)
    fitted_at = pd.Timestamp(part.model_.as_of_)
    extra = k + 10 if batch.as_of > fitted_at else k
    recs = (
        part.model_.recommend(list(known), k=extra)
        if len(known)
        else pd.DataFrame(columns=["organisation_id", "product_id", "score", "reason"])
    )
    if batch.as_of > fitted_at and len(recs):
        bought = _bought(batch)
        keep = [
            (o, p) not in bought
            for o, p in zip(
                recs["organisation_id"].astype(str), recs["product_id"].astype(str), strict=True
            )
        ]
        recs = recs[np.asarray(keep, dtype=bool)]
    groups = group_rows(recs["organisation_id"], batch.ids)
    product = recs["product_id"].astype(str).tolist()
    score = _floats(np.round(recs["score"].to_numpy(dtype=np.float64), 4))
    reason = recs["reason"].astype(str).tolist()
    return _envelopes(
        part.model_.as_of_,
        batch,
        known,
        [rows[:k] for rows in groups],
        lambda i: {
            "product_id": product[i],
            "product": part.product_names_.get(product[i]),
            "score": score[i] if score[i] is not None else 0.0,
            "reason": reason[i],
        },
    )


def partner_sections(part: PartnerSuggestions, batch: Batch) -> list[dict[str, Any] | None]:
    """Return each organisation's `k` best partners with their role and reasons."""
    fitted_as_of(part, "PartnerSuggestions")
    known = _known_to(part.model_, batch.ids)
    matches = (
        part.model_.match(list(known), k=int(part.k))
        if len(known)
        else pd.DataFrame(
            columns=["organisation_id", "rank", "partner_id", "score", "role", "reasons"]
        )
    )
    groups = group_rows(matches["organisation_id"], batch.ids)
    partner = matches["partner_id"].astype(str).tolist()
    score = _floats(np.round(matches["score"].to_numpy(dtype=np.float64), 4))
    role = matches["role"].astype(str).tolist()
    reasons = [[r for r in str(text).split("; ") if r] for text in matches["reasons"].tolist()]
    return _envelopes(
        part.model_.as_of_,
        batch,
        known,
        groups,
        lambda i: {
            "partner_id": partner[i],
            "score": score[i] if score[i] is not None else 0.0,
            "role": role[i],
            "reasons": reasons[i],
        },
    )
