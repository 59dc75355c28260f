"""Services: adoption and recency of each adjacent service (insurance, credit, logistics, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base._schema import SERVICE_CATEGORIES
from b2bclient.features._context import FeatureTables
from b2bclient.features._numeric import count, days_between, group_max, total
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    duration_field,
    window_ns,
    window_suffix,
)

__all__ = ["Services"]

_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def _to_categories(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _check_categories(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    bad = [v for v in value if not isinstance(v, str) or not v or not set(v) <= _IDENT_CHARS]
    if not value or bad or len(set(value)) != len(value):
        raise InvalidParameterError(
            "The 'categories' parameter of Services must be distinct lower-case category names "
            f"such as ('insurance', 'lifting'). Got {value!r} instead."
        )


@attrs.frozen
class Services(SpecExtractor):
    """Describe which service categories an organisation buys and how recently.

    A service is a purchased line whose product has kind ``service``; its category is the
    product's ``category``.

    Parameters
    ----------
    categories : tuple of str, default SERVICE_CATEGORIES
        The service categories to report, each giving ``uses_<category>`` and
        ``<category>_recency_days``.
    window : str, default "365D"
        Trailing window of the service line counts and revenue.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2023-01-01"])})
    >>> products = pd.DataFrame({"product_id": ["S1"], "category": ["lifting"], "kind": ["service"]})
    >>> deals = pd.DataFrame({"deal_id": ["D1"], "organisation_id": ["A"],
    ...     "created_at": pd.to_datetime(["2024-12-01"]), "closed_at": pd.to_datetime(["2024-12-21"]),
    ...     "status": ["won"], "amount": [10.0]})
    >>> lines = pd.DataFrame({"deal_id": ["D1"], "line_no": [1], "product_id": ["S1"],
    ...                       "quantity": [1.0], "amount": [10.0]})
    >>> X = Services(categories=("lifting", "credit")).compute({"organisations": orgs,
    ...     "products": products, "deals": deals, "deal_lines": lines}, pd.Timestamp("2025-01-01"))
    >>> X.iloc[0, :4].tolist()
    [1.0, 11.0, 0.0, nan]
    """

    name: ClassVar[str] = "services"
    requires: ClassVar[tuple[str, ...]] = ("deals", "deal_lines", "products")

    categories: tuple[str, ...] = attrs.field(
        default=SERVICE_CATEGORIES, converter=_to_categories, validator=_check_categories
    )
    window: str = duration_field("365D")

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        specs = []
        for cat in self.categories:
            specs += [
                FeatureSpec(
                    c(f"uses_{cat}"), f"1 if a {cat!r} service was ever bought, else 0.", "max"
                ),
                FeatureSpec(
                    c(f"{cat}_recency_days"),
                    f"Days since a {cat!r} service was last bought (NaN when never).",
                    "min",
                ),
            ]
        s = window_suffix(self.window)
        specs += [
            FeatureSpec(
                c("service_categories"),
                "Number of the listed service categories ever bought (0 when none); the group takes "
                "its largest member.",
                "max",
            ),
            FeatureSpec(
                c(f"service_lines_{s}"),
                f"Number of purchased service lines in the last {self.window}.",
                "sum",
            ),
            FeatureSpec(
                c(f"service_revenue_{s}"),
                f"Amount of purchased service lines in the last {self.window}.",
                "sum",
            ),
        ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        lines = ctx.purchased_lines()
        org, t, service = lines["org"], lines["time"], lines["service"]
        names = list(ctx.category_names())
        c = self.col
        out: dict[str, Any] = {}
        adopted = np.zeros(n)
        for cat in self.categories:
            code = names.index(cat) if cat in names else -2
            mask = service & (lines["category"] == code)
            last = group_max(org, t, n, mask)
            uses = (last != np.iinfo(np.int64).min).astype(np.float64)
            adopted += uses
            out[c(f"uses_{cat}")] = uses
            out[c(f"{cat}_recency_days")] = days_between(now, last)
        s = window_suffix(self.window)
        recent = service & (t >= now - window_ns(self.window))
        out[c("service_categories")] = adopted
        out[c(f"service_lines_{s}")] = count(org, n, recent)
        out[c(f"service_revenue_{s}")] = total(org, lines["amount"], n, recent)
        return out
