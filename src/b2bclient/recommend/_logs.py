"""Compact event logs read once from tables cut at ``as_of``: purchases, project stages, firmographics.

The recommenders learn from these integer arrays only. Organisations are codes into the sorted
``organisation_id`` of the cut tables (:attr:`FeatureTables.org_ids`), products are rows of
``products``, times are int64 nanoseconds. Every event in a log happened before ``as_of``; a
stage still running at ``as_of`` ends at :data:`OPEN` (it is open, whatever happened later).
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base._schema import SIZE_BANDS, STAGES
from b2bclient.features._context import NAT, FeatureTables

__all__ = ["OPEN", "Firmographics", "PurchaseLog", "StageLog", "categorical_codes"]

#: End time of a stage still running at ``as_of`` (later than any time).
OPEN = np.iinfo(np.int64).max

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]


def categorical_codes(values: pd.Series) -> tuple[IntArray, ObjArray]:
    """Return integer codes (-1 for missing) and the sorted distinct values of a column."""
    codes, uniques = pd.factorize(values.astype(object), sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


@attrs.frozen
class Firmographics:
    """Per known organisation: industry, region and size band codes, and creation time."""

    industry: IntArray
    industry_names: ObjArray
    region: IntArray
    region_names: ObjArray
    size_band: IntArray
    employees: npt.NDArray[np.float64]
    created: IntArray

    @classmethod
    def from_tables(cls, ctx: FeatureTables) -> Firmographics:
        """Read the firmographics of the organisations known before ``ctx.as_of``."""
        orgs = ctx["organisations"]
        codes = ctx.codes("organisations")
        n = ctx.n_orgs

        def aligned(values: npt.NDArray[np.generic], fill: object) -> npt.NDArray[np.generic]:
            out = np.full(n, fill, dtype=values.dtype)
            out[codes] = values
            return out

        industry, industry_names = categorical_codes(orgs["industry"])
        region, region_names = categorical_codes(orgs["region"])
        band = ctx.enum_codes("organisations", "size_band", SIZE_BANDS).astype(np.int64)
        employees = ctx.floats("organisations", "employees")
        return cls(
            industry=np.asarray(aligned(industry, -1), dtype=np.int64),
            industry_names=industry_names,
            region=np.asarray(aligned(region, -1), dtype=np.int64),
            region_names=region_names,
            size_band=np.asarray(aligned(band, -1), dtype=np.int64),
            employees=np.asarray(aligned(employees, np.nan), dtype=np.float64),
            created=np.asarray(aligned(ctx.times("organisations", "created_at"), NAT)),
        )


@attrs.frozen
class PurchaseLog:
    """One row per line of a won deal closed before ``as_of``, sorted by time."""

    org: IntArray
    product: IntArray
    deal: IntArray
    time: IntArray
    category: IntArray

    @classmethod
    def from_tables(cls, ctx: FeatureTables) -> PurchaseLog:
        """Read the purchased lines (won deals closed before ``ctx.as_of``) of known products."""
        deal = ctx.positions("deal_lines", "deal_id")
        keep = deal >= 0
        keep[keep] = ctx.purchases()[deal[keep]]
        product = ctx.positions("deal_lines", "product_id")
        keep &= product >= 0
        deal = deal[keep]
        product = product[keep]
        org = ctx.codes("deals")[deal]
        time = ctx.purchase_times()[deal]
        categories, _ = ctx.product_categories()
        order = np.lexsort((product, deal, time))
        return cls(
            org=np.asarray(org[order], dtype=np.int64),
            product=np.asarray(product[order], dtype=np.int64),
            deal=np.asarray(deal[order], dtype=np.int64),
            time=np.asarray(time[order], dtype=np.int64),
            category=np.asarray(categories[product[order]], dtype=np.int64),
        )

    def before(self, t: int) -> PurchaseLog:
        """Return the lines purchased strictly before `t` (ns)."""
        n = int(np.searchsorted(self.time, t, side="left"))
        return PurchaseLog(
            org=self.org[:n],
            product=self.product[:n],
            deal=self.deal[:n],
            time=self.time[:n],
            category=self.category[:n],
        )

    def between(self, lo: int, hi: int) -> PurchaseLog:
        """Return the lines purchased in ``[lo, hi)`` (ns)."""
        a = int(np.searchsorted(self.time, lo, side="left"))
        b = int(np.searchsorted(self.time, hi, side="left"))
        return PurchaseLog(
            org=self.org[a:b],
            product=self.product[a:b],
            deal=self.deal[a:b],
            time=self.time[a:b],
            category=self.category[a:b],
        )

    def __len__(self) -> int:
        return int(self.org.shape[0])


@attrs.frozen
class StageLog:
    """One row per project stage started before ``as_of``: organisation, project, stage, times.

    ``end`` is :data:`OPEN` for a stage still running at ``as_of``.
    """

    org: IntArray
    project: IntArray
    stage: IntArray
    start: IntArray
    end: IntArray

    @classmethod
    def from_tables(cls, ctx: FeatureTables) -> StageLog:
        """Read the stages of the projects of known organisations."""
        project = ctx.positions("stages", "project_id")
        stage = ctx.enum_codes("stages", "stage", STAGES).astype(np.int64)
        start = ctx.times("stages", "started_at")
        end = ctx.times("stages", "ended_at")
        keep = (project >= 0) & (stage >= 0) & (start != NAT)
        project = project[keep]
        org = ctx.codes("projects")[project]
        keep2 = org >= 0
        end = np.where(end[keep] == NAT, OPEN, end[keep])
        return cls(
            org=np.asarray(org[keep2], dtype=np.int64),
            project=np.asarray(project[keep2], dtype=np.int64),
            stage=np.asarray(stage[keep][keep2], dtype=np.int64),
            start=np.asarray(start[keep][keep2], dtype=np.int64),
            end=np.asarray(end[keep2], dtype=np.int64),
        )

    def open_at(self, t: int) -> npt.NDArray[np.bool_]:
        """Return the mask of stages running at `t`: started before it and not ended before it."""
        return (self.start < t) & (self.end >= t)
