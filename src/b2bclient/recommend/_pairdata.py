"""What PartnerMatcher reads from the tables cut at ``as_of``, as compact arrays.

Organisations are codes into the sorted ``organisation_id`` of the cut tables. Projects carry
their *site*, the part of the project name before ``" - "`` (``"Duisburg Rheinhafen Halle 3 -
Neubau"`` is on site ``"Duisburg Rheinhafen Halle 3"``); a name without ``" - "`` is its own site
and a project without a name has none. Site visits are ``interactions`` of kind ``site_visit``,
counted once per organisation and day. Every array holds events before ``as_of`` only.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.features._context import DAY_NS, NAT, FeatureTables
from b2bclient.features._groups import hierarchy
from b2bclient.recommend._logs import Firmographics

__all__ = ["LINK_KINDS", "PairData", "pair_key"]

#: Relationship kinds whose links count as already linked (all of them).
LINK_KINDS = ("parent", "supplier", "partner", "referral")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


def pair_key(a: IntArray, b: IntArray, n: int) -> IntArray:
    """Return an order-free integer key of the pairs (a, b) of organisation codes below `n`."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    return np.asarray(lo * np.int64(n) + hi, dtype=np.int64)


@attrs.frozen
class PairData:
    """Arrays PartnerMatcher scores pairs from (see the module docstring)."""

    as_of: int
    n: int
    industry: IntArray
    industry_names: ObjArray
    region: IntArray
    region_names: ObjArray
    size_band: IntArray
    employees: FloatArray
    top: IntArray  # top parent of the holding
    last_seen: IntArray  # last deal, interaction or project start (NAT when none)
    # projects sorted by (site, created)
    project_org: IntArray
    project_site: IntArray
    project_created: IntArray
    project_ids: ObjArray
    site_names: ObjArray
    # site visits: one row per (organisation, day), sorted by day
    visit_org: IntArray
    visit_day: IntArray
    # won deal lines per organisation and goods category, and the category names
    category_counts: FloatArray
    category_names: ObjArray
    # relationships: every link (order-free keys, sorted) and the supplier links
    linked: IntArray
    linked_since: IntArray  # first link time of each linked pair
    supplier_source: IntArray
    supplier_target: IntArray
    supplier_since: IntArray

    @classmethod
    def from_tables(cls, ctx: FeatureTables) -> PairData:
        """Read the pair data of the organisations known before ``ctx.as_of``."""
        n = ctx.n_orgs
        firms = Firmographics.from_tables(ctx)
        top, _, _ = hierarchy(ctx)

        projects = ctx["projects"]
        p_org = ctx.codes("projects")
        p_created = ctx.times("projects", "created_at")
        names = projects["name"].astype(object)
        site = names.where(names.isna(), names.astype(str).str.split(" - ", n=1).str[0])
        site_codes, site_names = pd.factorize(site, sort=True)
        keep = (p_org >= 0) & (site_codes >= 0)
        order = np.lexsort((p_created[keep], site_codes[keep]))
        project_ids = projects["project_id"].to_numpy(dtype=object)[keep][order]

        interactions = ctx["interactions"]
        i_org = ctx.codes("interactions")
        i_time = ctx.times("interactions", "occurred_at")
        visit = (interactions["kind"].astype(object) == "site_visit").to_numpy() & (i_org >= 0)
        day = i_time[visit] // DAY_NS
        key = np.unique(day * np.int64(n) + i_org[visit])
        visit_day, visit_org = key // n, key % n

        lines = ctx.purchased_lines()
        names_cat = ctx.category_names()
        goods = (lines["category"] >= 0) & ~lines["service"] & (lines["org"] >= 0)
        counts = np.zeros((n, names_cat.shape[0]))
        np.add.at(counts, (lines["org"][goods], lines["category"][goods]), 1.0)

        rel = ctx["relationships"]
        src = ctx.codes("relationships", "source_id")
        dst = ctx.codes("relationships", "target_id")
        ok = (src >= 0) & (dst >= 0) & (src != dst)
        kind = rel["kind"].astype(object).to_numpy()
        sup = ok & (kind == "supplier")
        since = ctx.times("relationships", "since")
        all_keys = pair_key(src[ok], dst[ok], n)
        by_time = np.lexsort((since[ok], all_keys))
        linked, first = np.unique(all_keys[by_time], return_index=True)
        linked_since = since[ok][by_time][first]

        last = np.full(n, NAT, dtype=np.int64)
        deal_org = ctx.codes("deals")
        deal_ok = deal_org >= 0
        np.maximum.at(last, deal_org[deal_ok], ctx.times("deals", "created_at")[deal_ok])
        i_ok = i_org >= 0
        np.maximum.at(last, i_org[i_ok], i_time[i_ok])
        p_ok = p_org >= 0
        np.maximum.at(last, p_org[p_ok], p_created[p_ok])

        return cls(
            as_of=ctx.as_of_ns,
            n=n,
            industry=firms.industry,
            industry_names=firms.industry_names,
            region=firms.region,
            region_names=firms.region_names,
            size_band=firms.size_band,
            employees=firms.employees,
            top=np.asarray(top, dtype=np.int64),
            last_seen=last,
            project_org=np.asarray(p_org[keep][order], dtype=np.int64),
            project_site=np.asarray(site_codes[keep][order], dtype=np.int64),
            project_created=np.asarray(p_created[keep][order], dtype=np.int64),
            project_ids=np.asarray(project_ids, dtype=object),
            site_names=np.asarray(site_names, dtype=object),
            visit_org=np.asarray(visit_org, dtype=np.int64),
            visit_day=np.asarray(visit_day, dtype=np.int64),
            category_counts=counts,
            category_names=np.asarray(names_cat, dtype=object),
            linked=np.asarray(linked, dtype=np.int64),
            linked_since=np.asarray(linked_since, dtype=np.int64),
            supplier_source=np.asarray(src[sup], dtype=np.int64),
            supplier_target=np.asarray(dst[sup], dtype=np.int64),
            supplier_since=np.asarray(since[sup], dtype=np.int64),
        )

    def to_state(self) -> dict[str, Any]:
        """Return the fields as a dict of arrays and ints (for saving)."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(PairData)}
