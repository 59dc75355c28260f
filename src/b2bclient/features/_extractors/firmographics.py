"""Firmographics: what an organisation is and where it sits in its holding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient.base._schema import SIZE_BANDS
from b2bclient.features._context import FeatureTables
from b2bclient.features._groups import hierarchy
from b2bclient.features._numeric import days_between
from b2bclient.features._spec import FeatureSpec, SpecExtractor

__all__ = ["Firmographics"]


def _categorical(values: pd.Series, order: np.ndarray) -> pd.Categorical:
    """Return `values` in `order` as a categorical whose categories are the sorted distinct values."""
    aligned = values.to_numpy(dtype=object)[order]
    present = pd.isna(aligned)
    categories = sorted({str(v) for v in aligned[~present]})
    as_str = np.where(present, None, aligned.astype(str)) if len(aligned) else aligned
    return pd.Categorical(as_str, categories=categories)


@attrs.frozen
class Firmographics(SpecExtractor):
    """Describe each organisation: industry, region, size, age and place in its holding.

    Columns (prefix ``firmographics__``): ``industry``, ``region`` and ``size_band`` (category),
    ``employees``, ``log_employees`` (log1p of employees), ``annual_revenue``, ``log_revenue``,
    ``age_days``, ``holding_size``, ``hierarchy_depth`` and ``subsidiaries``.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "parent_id": [None, "A"],
    ...     "employees": pd.array([120, None], dtype="Int64"),
    ...     "created_at": pd.to_datetime(["2024-01-01", "2024-07-01"])})
    >>> X = Firmographics().compute({"organisations": orgs}, pd.Timestamp("2025-01-01"))
    >>> X[["firmographics__holding_size", "firmographics__hierarchy_depth"]].to_numpy().tolist()
    [[2.0, 0.0], [2.0, 1.0]]
    """

    name: ClassVar[str] = "firmographics"
    requires: ClassVar[tuple[str, ...]] = ("organisations",)

    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        c = self.col
        return (
            FeatureSpec(
                c("industry"),
                "Industry of the organisation (null when unknown).",
                "first",
                "category",
            ),
            FeatureSpec(
                c("region"), "Region of the organisation (null when unknown).", "first", "category"
            ),
            FeatureSpec(
                c("size_band"),
                "Size band, ordered micro < small < medium < large < enterprise (null when unknown).",
                "first",
                "category",
            ),
            FeatureSpec(c("employees"), "Number of employees (NaN when unknown).", "sum"),
            FeatureSpec(
                c("log_employees"),
                "log1p of the number of employees (NaN when unknown); the group takes its largest member.",
                "max",
            ),
            FeatureSpec(c("annual_revenue"), "Annual revenue (NaN when unknown).", "sum"),
            FeatureSpec(
                c("log_revenue"),
                "log1p of the annual revenue (NaN when unknown); the group takes its largest member.",
                "max",
            ),
            FeatureSpec(
                c("age_days"), "Days since the organisation was created in the base.", "max"
            ),
            FeatureSpec(
                c("holding_size"),
                "Number of known organisations in its holding (top parent and all descendants), itself included.",
                "first",
            ),
            FeatureSpec(
                c("hierarchy_depth"),
                "Number of parent links from the organisation up to its top parent (0 for a top parent).",
                "min",
            ),
            FeatureSpec(
                c("subsidiaries"), "Number of known organisations whose parent it is.", "sum"
            ),
        )

    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]:
        orgs = ctx["organisations"]
        n = ctx.n_orgs
        codes = ctx.codes("organisations")
        order = np.empty(n, dtype=np.intp)
        order[codes] = np.arange(n)

        employees = ctx.floats("organisations", "employees")[order]
        revenue = ctx.floats("organisations", "annual_revenue")[order]
        created = ctx.times("organisations", "created_at")[order]
        size_band = pd.Categorical(
            orgs["size_band"].astype(object).to_numpy()[order],
            categories=list(SIZE_BANDS),
            ordered=True,
        )
        top, depth, parent = hierarchy(ctx)
        members = np.bincount(top, minlength=n)
        children = np.bincount(parent[parent >= 0], minlength=n)
        c = self.col
        with np.errstate(invalid="ignore"):
            log_employees = np.log1p(employees)
            log_revenue = np.log1p(revenue)
        return {
            c("industry"): _categorical(orgs["industry"], order),
            c("region"): _categorical(orgs["region"], order),
            c("size_band"): size_band,
            c("employees"): employees,
            c("log_employees"): log_employees,
            c("annual_revenue"): revenue,
            c("log_revenue"): log_revenue,
            c("age_days"): days_between(ctx.as_of_ns, created),
            c("holding_size"): members[top].astype(np.float64),
            c("hierarchy_depth"): depth.astype(np.float64),
            c("subsidiaries"): children.astype(np.float64),
        }
