"""Product mix: breadth and concentration of what an organisation buys, goods versus services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from b2bclient.features._context import FeatureTables
from b2bclient.features._numeric import n_distinct, ratio, total, unique_inverse
from b2bclient.features._spec import (
    FeatureSpec,
    SpecExtractor,
    window_ns,
    window_suffix,
    windows_field,
)

__all__ = ["ProductMix"]


@attrs.frozen
class ProductMix(SpecExtractor):
    """Summarise the lines of purchases by product category and kind (good or service).

    Only lines of won deals closed before ``as_of`` count; a line whose product has no category
    counts for products and service share but not for categories or concentration.

    Parameters
    ----------
    windows : tuple of str, default ("90D", "365D")
        Trailing windows for category breadth, new categories and the service share.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2023-01-01"])})
    >>> products = pd.DataFrame({"product_id": ["P1", "P2"], "category": ["steel", "lifting"],
    ...                          "kind": ["good", "service"]})
    >>> deals = pd.DataFrame({"deal_id": ["D1"], "organisation_id": ["A"],
    ...     "created_at": pd.to_datetime(["2024-06-01"]), "closed_at": pd.to_datetime(["2024-06-02"]),
    ...     "status": ["won"], "amount": [100.0]})
    >>> lines = pd.DataFrame({"deal_id": ["D1", "D1"], "line_no": [1, 2], "product_id": ["P1", "P2"],
    ...                       "quantity": [1.0, 1.0], "amount": [75.0, 25.0]})
    >>> X = ProductMix().compute({"organisations": orgs, "products": products, "deals": deals,
    ...                           "deal_lines": lines}, pd.Timestamp("2025-01-01"))
    >>> X[["product_mix__categories_total", "product_mix__service_share", "product_mix__hhi"]].iloc[0].tolist()
    [2.0, 0.25, 0.625]
    """

    name: ClassVar[str] = "product_mix"
    requires: ClassVar[tuple[str, ...]] = ("deals", "deal_lines", "products")

    windows: tuple[str, ...] = windows_field()

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        specs = [
            FeatureSpec(
                c("products_total"),
                "Number of distinct products ever bought (0 when none); the group takes its largest member.",
                "max",
            ),
            FeatureSpec(
                c("categories_total"),
                "Number of distinct product categories ever bought (0 when none); the group takes its "
                "largest member.",
                "max",
            ),
            FeatureSpec(
                c("service_share"),
                "Share of the amount of purchased lines that is services (0 when none).",
                "mean",
            ),
            FeatureSpec(
                c("hhi"),
                "Herfindahl index of the purchased amount across categories, 1/k for k equal "
                "categories up to 1 for a single one (NaN when nothing was bought).",
                "mean",
            ),
        ]
        for w in self.windows:
            s = window_suffix(w)
            specs += [
                FeatureSpec(
                    c(f"categories_{s}"),
                    f"Number of distinct categories bought in the last {w}.",
                    "max",
                ),
                FeatureSpec(
                    c(f"new_categories_{s}"),
                    f"Number of categories bought in the last {w} and never before it.",
                    "max",
                ),
                FeatureSpec(
                    c(f"service_share_{s}"),
                    f"Share of the amount of lines bought in the last {w} that is services (0 when none).",
                    "mean",
                ),
            ]
        return tuple(specs)

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        n = ctx.n_orgs
        now = ctx.as_of_ns
        lines = ctx.purchased_lines()
        org, t, cat = lines["org"], lines["time"], lines["category"]
        amount, service = lines["amount"], lines["service"]
        c = self.col
        out: dict[str, Any] = {}
        out[c("products_total")] = n_distinct(org, lines["product"], n)
        out[c("categories_total")] = n_distinct(org, cat, n)
        spent = total(org, amount, n)
        out[c("service_share")] = ratio(total(org, np.where(service, amount, 0.0), n), spent, 0.0)

        # Amount per (organisation, category), then the sum of squared shares per organisation.
        has_cat = (cat >= 0) & (org >= 0)
        width = int(cat.max()) + 1 if has_cat.any() else 1
        key = org[has_cat].astype(np.int64) * width + cat[has_cat]
        keys, inverse = unique_inverse(key)
        per_key = np.bincount(inverse, weights=np.nan_to_num(amount[has_cat]), minlength=len(keys))
        key_org = keys // width
        cat_total = np.bincount(key_org, weights=per_key, minlength=n)
        share = per_key / np.where(cat_total[key_org] > 0, cat_total[key_org], 1.0)
        hhi = np.bincount(key_org, weights=share * share, minlength=n)
        out[c("hhi")] = np.where(cat_total > 0, hhi, np.nan)

        # First purchase time of each (organisation, category).
        first = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, inverse, t[has_cat])
        for w in self.windows:
            s = window_suffix(w)
            start = now - window_ns(w)
            recent = t >= start
            out[c(f"categories_{s}")] = n_distinct(org, cat, n, recent)
            out[c(f"new_categories_{s}")] = np.bincount(
                key_org[first >= start], minlength=n
            ).astype(np.float64)
            spent_w = total(org, amount, n, recent)
            services_w = total(org, np.where(service, amount, 0.0), n, recent)
            out[c(f"service_share_{s}")] = ratio(services_w, spent_w, 0.0)
        return out
