"""Turn the generator's integer-coded columns into the ten canonical pandas frames.

Rows of the event tables are numbered in order of time, as a CRM would number them; references
are remapped accordingly. String ids are formatted by whole-array operations and shared (not
copied) wherever a column repeats them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base._schema import (
    CHANNELS,
    CONTRACT_KINDS,
    DEAL_CHANNELS,
    DEAL_STATUSES,
    PRODUCT_KINDS,
    PROJECT_STATUSES,
    RELATIONSHIP_KINDS,
    ROLES,
    SIZE_BANDS,
    STAGES,
)
from b2bclient.datasets._activity import KINDS
from b2bclient.datasets._firms import Catalogue, Columns, size_band_codes
from b2bclient.datasets._vocabulary import (
    INDUSTRIES,
    PROJECT_SCOPES,
    REGION_PLACES,
    REGIONS,
    SITE_OBJECTS,
)

__all__ = ["build_frames", "format_ids"]


def format_ids(prefix: str, n: int, width: int | None = None) -> npt.NDArray[np.object_]:
    """Return ``n`` ids ``prefix`` + zero-padded ``1..n`` as an object array of ``str``.

    Examples
    --------
    >>> format_ids("O-", 3).tolist()
    ['O-000001', 'O-000002', 'O-000003']
    """
    w = max(6, len(str(n))) if width is None else width
    numbers = np.arange(1, n + 1)
    strings: Any = getattr(np, "strings", None)
    if strings is not None and hasattr(np.dtypes, "StringDType"):
        text = strings.add(prefix, strings.zfill(numbers.astype(np.dtypes.StringDType()), w))
    else:  # numpy < 2
        text = np.char.add(prefix, np.char.zfill(numbers.astype(str), w))
    return np.asarray(text.astype(object), dtype=object)


def _time(ns: npt.NDArray[np.int64]) -> pd.Series:
    return pd.Series(np.asarray(ns, dtype=np.int64).view("datetime64[ns]"))


def _category(codes: npt.NDArray[Any], values: tuple[str, ...], ordered: bool = False) -> Any:
    dtype = pd.CategoricalDtype(list(values), ordered=ordered)
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), dtype=dtype)


def _refs(ids: npt.NDArray[np.object_], idx: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Take ids at `idx`, with None where `idx` is -1."""
    ext = np.empty(ids.shape[0] + 1, dtype=object)
    ext[:-1] = ids
    ext[-1] = None
    return np.asarray(ext[idx], dtype=object)


def _order(times: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return the time order of rows and the map old row -> new row (with -1 -> -1)."""
    order = np.argsort(times, kind="stable").astype(np.int64)
    new = np.full(order.shape[0] + 1, -1, dtype=np.int64)
    new[order] = np.arange(order.shape[0])
    return order, new


def _sort(cols: Columns, order: npt.NDArray[np.int64]) -> Columns:
    return {k: v[order] for k, v in cols.items()}


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    # Without a copy, pandas keeps one block per column instead of consolidating large object
    # columns into a fresh 2-D block; the validator builds its own frame anyway.
    return pd.DataFrame(columns, copy=False)


def _site_names() -> npt.NDArray[np.object_]:
    return np.asarray(
        [f"{place} {obj}" for places in REGION_PLACES for place in places for obj in SITE_OBJECTS],
        dtype=object,
    )


def build_frames(
    orgs: Columns,
    catalogue: Catalogue,
    tables: dict[str, Columns],
) -> tuple[dict[str, pd.DataFrame], dict[str, npt.NDArray[Any]]]:
    """Build the canonical frames; also return the ids that label the truth.

    ``organisations``, ``projects`` and ``deals`` hold the ids in the frames' order;
    ``project_rows`` and ``deal_rows`` the frame position of each row of the generator's
    columns (the frames sort the rows by time).
    """
    n = orgs["created"].shape[0]
    org_ids = format_ids("O-", n)
    frames: dict[str, pd.DataFrame] = {}
    frames["organisations"] = _frame(
        {
            "organisation_id": org_ids,
            "name": orgs["name"],
            "industry": np.asarray(INDUSTRIES, dtype=object)[orgs["industry"]],
            "region": np.asarray(REGIONS, dtype=object)[orgs["region"]],
            "size_band": _category(size_band_codes(orgs["employees"]), SIZE_BANDS, ordered=True),
            "employees": pd.array(orgs["employees"], dtype="Int64"),
            "annual_revenue": orgs["revenue"].astype(np.float64),
            "parent_id": _refs(org_ids, orgs["parent"]),
            "created_at": _time(orgs["created"]),
        }
    )

    co = tables["contacts"]
    contact_ids = format_ids("C-", co["org"].shape[0], 7)
    frames["contacts"] = _frame(
        {
            "contact_id": contact_ids,
            "organisation_id": org_ids[co["org"]],
            "role": _category(co["role"], ROLES),
            "is_decision_maker": pd.array(co["decision"], dtype="boolean"),
            "full_name": co["full_name"],
            "email": co["email"],
            "phone": co["phone"],
            "created_at": _time(co["created"]),
        }
    )

    n_products = catalogue.name.shape[0]
    product_ids = format_ids("P-", n_products, 4)
    frames["products"] = _frame(
        {
            "product_id": product_ids,
            "name": catalogue.name,
            "category": catalogue.category,
            "kind": _category(catalogue.is_service.astype(np.int64), PRODUCT_KINDS),
        }
    )

    pr = tables["projects"]
    p_order, p_new = _order(pr["created"])
    pr = _sort(
        {k: pr[k] for k in ("org", "created", "status", "closed", "value", "site", "scope")},
        p_order,
    )
    project_ids = format_ids("PR-", pr["org"].shape[0])
    names = (
        _site_names()[pr["site"]] + " - " + np.asarray(PROJECT_SCOPES, dtype=object)[pr["scope"]]
    )
    frames["projects"] = _frame(
        {
            "project_id": project_ids,
            "organisation_id": org_ids[pr["org"]],
            "name": names,
            "created_at": _time(pr["created"]),
            "status": _category(pr["status"], PROJECT_STATUSES),
            "expected_value": pr["value"].astype(np.float64),
            "closed_at": _time(pr["closed"]),
        }
    )

    st = tables["stages"]
    st_project = p_new[st["project"]]
    s_order = np.lexsort((st["stage"], st_project)).astype(np.int64)
    frames["stages"] = _frame(
        {
            "project_id": project_ids[st_project[s_order]],
            "stage": _category(st["stage"][s_order], STAGES, ordered=True),
            "started_at": _time(st["started"][s_order]),
            "ended_at": _time(st["ended"][s_order]),
        }
    )

    de = tables["deals"]
    d_order, d_new = _order(de["created"])
    de = _sort(de, d_order)
    deal_ids = format_ids("D-", de["org"].shape[0], 8)
    frames["deals"] = _frame(
        {
            "deal_id": deal_ids,
            "organisation_id": org_ids[de["org"]],
            "project_id": _refs(project_ids, p_new[de["project"]]),
            "created_at": _time(de["created"]),
            "closed_at": _time(de["closed"]),
            "status": _category(de["status"], DEAL_STATUSES),
            "amount": de["amount"].astype(np.float64),
            "channel": _category(de["channel"], DEAL_CHANNELS),
        }
    )

    li = tables["lines"]
    l_deal = d_new[li["deal"]]
    l_order = np.lexsort((li["line_no"], l_deal)).astype(np.int64)
    frames["deal_lines"] = _frame(
        {
            "deal_id": deal_ids[l_deal[l_order]],
            "line_no": pd.array(li["line_no"][l_order], dtype="Int64"),
            "product_id": product_ids[li["product"][l_order]],
            "quantity": li["quantity"][l_order].astype(np.float64),
            "amount": li["amount"][l_order].astype(np.float64),
        }
    )

    it = tables["interactions"]
    i_order, _ = _order(it["t"])
    it = _sort(it, i_order)
    frames["interactions"] = _frame(
        {
            "interaction_id": format_ids("I-", it["org"].shape[0], 9),
            "organisation_id": org_ids[it["org"]],
            "contact_id": _refs(contact_ids, it["contact"]),
            "project_id": _refs(project_ids, p_new[it["project"]]),
            "occurred_at": _time(it["t"]),
            "channel": _category(it["channel"], CHANNELS),
            "kind": np.asarray(KINDS, dtype=object)[it["kind"]],
        }
    )

    ct = tables["contracts"]
    c_order, _ = _order(ct["started"])
    ct = _sort(ct, c_order)
    frames["contracts"] = _frame(
        {
            "contract_id": format_ids("K-", ct["org"].shape[0]),
            "organisation_id": org_ids[ct["org"]],
            "kind": np.asarray(CONTRACT_KINDS, dtype=object)[ct["kind"]],
            "started_at": _time(ct["started"]),
            "ends_at": _time(ct["ends"]),
            "cancelled_at": _time(ct["cancelled"]),
            "value": ct["value"].astype(np.float64),
        }
    )

    re = tables["relationships"]
    r_order, _ = _order(re["since"])
    re = _sort(re, r_order)
    frames["relationships"] = _frame(
        {
            "source_id": org_ids[re["source"]],
            "target_id": org_ids[re["target"]],
            "kind": _category(re["kind"], RELATIONSHIP_KINDS),
            "since": _time(re["since"]),
        }
    )
    ids = {
        "organisations": org_ids,
        "projects": project_ids,
        "project_rows": p_new[:-1],
        "deals": deal_ids,
        "deal_rows": d_new[:-1],
    }
    return frames, ids
