"""The core of every portrait, from the tables alone: who the client is, what is open, engagement.

Every function takes a :class:`~b2bclient.account._protocol.Batch` and returns one JSON-ready
section per organisation of ``batch.ids``, built column-wise (no per-organisation pandas lookups,
so a batch of 100 000 organisations takes seconds). Personal data (contacts' names, e-mails and
phones) is read only by :func:`contacts_section`, which runs only when the caller opts in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.account._protocol import Batch
from b2bclient.base._schema import STAGES

__all__ = [
    "CORE_SECTIONS",
    "MAX_LISTED",
    "active_projects_section",
    "clean",
    "contacts_section",
    "engagement_section",
    "group_rows",
    "holding_section",
    "iso",
    "open_deals_section",
    "organisation_section",
]

#: Open deals and active projects listed per portrait, largest first (all are counted).
MAX_LISTED = 20
_DAY = pd.Timedelta(days=1)
_ROLES = ("procurement", "engineering", "finance", "management", "operations", "other")


def clean(value: Any) -> Any:
    """Return `value` as a JSON type: NaN and NaT become None, NumPy scalars Python ones.

    Examples
    --------
    >>> clean(np.float64("nan")) is None, clean(np.int64(3)), clean(pd.NA) is None
    (True, 3, True)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _floats(values: Any) -> list[float | None]:
    x = np.asarray(values, dtype=np.float64)
    out: list[float | None] = x.tolist()
    if not np.isfinite(x).all():
        bad = ~np.isfinite(x)
        for i in np.flatnonzero(bad):
            out[i] = None
    return out


def iso(times: pd.Series) -> list[str | None]:
    """Return ISO 8601 strings of a datetime column (None for NaT)."""
    text = times.dt.strftime("%Y-%m-%dT%H:%M:%S")
    return [None if isinstance(t, float) or t is None else str(t) for t in text.tolist()]


def _strings(values: pd.Series) -> list[str | None]:
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in values.astype(object).tolist()
    ]


def group_rows(organisation_ids: pd.Series, ids: pd.Index) -> list[np.ndarray]:
    """Return, for each id of `ids`, the positions of the rows that belong to it, in row order."""
    codes = ids.get_indexer(organisation_ids.to_numpy(dtype=object))
    keep = np.flatnonzero(codes >= 0)
    order = keep[np.argsort(codes[keep], kind="stable")]
    counts = np.bincount(codes[keep], minlength=len(ids))
    return np.split(order, np.cumsum(counts)[:-1]) if len(ids) else []


def _in_order(frame: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    return frame.set_index("organisation_id").reindex(ids)


def organisation_section(batch: Batch) -> list[dict[str, Any]]:
    """Firmographics: name, industry, region, size band, head count, revenue, creation, age."""
    orgs = _in_order(batch.tables["organisations"], batch.ids)
    age = (batch.as_of - orgs["created_at"]) / _DAY
    columns = {
        "organisation_id": list(batch.ids),
        "name": _strings(orgs["name"]),
        "industry": _strings(orgs["industry"]),
        "region": _strings(orgs["region"]),
        "size_band": _strings(orgs["size_band"]),
        "employees": _floats(orgs["employees"]),
        "annual_revenue": _floats(orgs["annual_revenue"]),
        "created_at": iso(orgs["created_at"]),
        "age_days": _floats(age),
    }
    return _rows(columns, len(batch.ids))


def _rows(columns: Mapping[str, Sequence[Any]], n: int) -> list[dict[str, Any]]:
    keys = list(columns)
    return (
        [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        if n
        else []
    )


def holding_section(batch: Batch) -> list[dict[str, Any]]:
    """Holding: parent, top parent, depth in the hierarchy, size of the holding, subsidiaries."""
    from b2bclient.account._tables import top_parents
    from b2bclient.features._groups import hierarchy

    ctx = batch.tables
    top, depth, parent = hierarchy(ctx)
    ids = ctx.org_ids.to_numpy()
    size = np.bincount(top, minlength=ctx.n_orgs)[top]
    children = np.bincount(parent[parent >= 0], minlength=ctx.n_orgs)
    pos = ctx.org_ids.get_indexer(batch.ids)
    tops = top_parents(ctx)
    columns = {
        "parent_id": [None if parent[p] < 0 else str(ids[parent[p]]) for p in pos],
        "top_parent_id": [str(v) for v in tops.to_numpy()[pos]],
        "depth": depth[pos].tolist(),
        "holding_size": size[pos].tolist(),
        "subsidiaries": children[pos].tolist(),
    }
    return _rows(columns, len(batch.ids))


def open_deals_section(batch: Batch) -> list[dict[str, Any]]:
    """Open deals: count, total amount and the largest ones (amount, channel, age, project)."""
    deals = batch.tables["deals"]
    deals = deals[deals["status"].astype(object) == "open"]
    groups = group_rows(deals["organisation_id"], batch.ids)
    amount = _floats(deals["amount"])
    records = _rows(
        {
            "deal_id": _strings(deals["deal_id"]),
            "project_id": _strings(deals["project_id"]),
            "created_at": iso(deals["created_at"]),
            "age_days": _floats((batch.as_of - deals["created_at"]) / _DAY),
            "amount": amount,
            "channel": _strings(deals["channel"]),
        },
        len(deals),
    )
    raw = np.asarray(deals["amount"].to_numpy(dtype=np.float64))
    out = []
    for rows in groups:
        ranked = rows[np.argsort(-raw[rows], kind="stable")][:MAX_LISTED]
        out.append(
            {
                "count": len(rows),
                "value": float(raw[rows].sum()),
                "deals": [records[i] for i in ranked],
            }
        )
    return out


def _current_stages(batch: Batch, projects: pd.DataFrame) -> tuple[list[Any], list[Any]]:
    """The latest stage started before ``as_of`` of each project, and when it started."""
    stages = batch.tables["stages"]
    order = {s: i for i, s in enumerate(STAGES)}
    st = stages.assign(rank=stages["stage"].astype(object).map(order).astype(np.float64))
    st = st.sort_values(["project_id", "rank"], kind="stable").drop_duplicates(
        "project_id", keep="last"
    )
    st = st.set_index("project_id").reindex(projects["project_id"].to_numpy())
    return _strings(st["stage"]), iso(st["started_at"])


def active_projects_section(batch: Batch) -> list[dict[str, Any]]:
    """Active projects: count, expected value and each project's current stage and time in it."""
    projects = batch.tables["projects"]
    projects = projects[projects["status"].astype(object) == "active"].reset_index(drop=True)
    stage, started = _current_stages(batch, projects)
    started_at = pd.to_datetime(pd.Series(started, dtype=object))
    days_in_stage = (batch.as_of - started_at) / _DAY
    value = projects["expected_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    records = _rows(
        {
            "project_id": _strings(projects["project_id"]),
            "name": _strings(projects["name"]),
            "created_at": iso(projects["created_at"]),
            "stage": stage,
            "stage_started_at": started,
            "days_in_stage": _floats(days_in_stage),
            "expected_value": _floats(value),
        },
        len(projects),
    )
    groups = group_rows(projects["organisation_id"], batch.ids)
    sortable = np.nan_to_num(value, nan=-1.0)
    out = []
    for rows in groups:
        ranked = rows[np.argsort(-sortable[rows], kind="stable")][:MAX_LISTED]
        out.append(
            {
                "count": len(rows),
                "expected_value": float(np.nansum(value[rows])) if len(rows) else 0.0,
                "projects": [records[i] for i in ranked],
            }
        )
    return out


_ENGAGEMENT = {
    "interactions_365d": "engagement__interactions_365d",
    "portal_logins_90d": "engagement__portal_logins_90d",
    "portal_logins_365d": "engagement__portal_logins_365d",
    "portal_share_365d": "engagement__portal_share_365d",
    "self_service_share_365d": "engagement__self_service_share_365d",
    "tickets_365d": "engagement__tickets_365d",
    "last_touch_days": "engagement__last_touch_days",
    "active_contacts_365d": "engagement__active_contacts_365d",
    "decision_makers_reached_365d": "engagement__decision_makers_reached_365d",
}


def _role_counts(roles: pd.Series, owners: pd.Series, ids: pd.Index) -> list[dict[str, int]]:
    codes = ids.get_indexer(owners.to_numpy(dtype=object))
    role_code = pd.Index(_ROLES).get_indexer(roles.astype(object).fillna("other").to_numpy())
    role_code = np.where(role_code < 0, len(_ROLES) - 1, role_code)
    keep = codes >= 0
    table = np.zeros((len(ids), len(_ROLES)), dtype=np.int64)
    np.add.at(table, (codes[keep], role_code[keep]), 1)
    return [{r: int(c) for r, c in zip(_ROLES, row, strict=True) if c} for row in table.tolist()]


def engagement_section(batch: Batch) -> list[dict[str, Any]]:
    """Portal and self-service use, support load and contacts by role (counts only)."""
    X = batch.features
    columns: dict[str, Sequence[Any]] = {
        key: (_floats(X[col]) if col in X.columns else [None] * len(X))
        for key, col in _ENGAGEMENT.items()
    }
    contacts = batch.tables["contacts"]
    columns["contacts_by_role"] = _role_counts(
        contacts["role"], contacts["organisation_id"], batch.ids
    )
    inter = batch.tables["interactions"]
    recent = inter[
        inter["contact_id"].notna() & (inter["occurred_at"] >= batch.as_of - pd.Timedelta("365D"))
    ].drop_duplicates("contact_id")
    role_of = contacts.set_index("contact_id")["role"]
    reached_roles = role_of.reindex(recent["contact_id"].to_numpy())
    reached_roles.index = recent.index
    columns["contacts_reached_by_role_365d"] = _role_counts(
        reached_roles, recent["organisation_id"], batch.ids
    )
    return _rows(columns, len(batch.ids))


def contacts_section(batch: Batch) -> list[list[dict[str, Any]]]:
    """Contacts with their personal data: only with ``include_personal_data=True``."""
    contacts = batch.tables["contacts"]
    records = _rows(
        {
            "contact_id": _strings(contacts["contact_id"]),
            "role": _strings(contacts["role"]),
            "is_decision_maker": [
                None if v is None or v is pd.NA else bool(v)
                for v in contacts["is_decision_maker"].astype(object).tolist()
            ],
            "full_name": _strings(contacts["full_name"]),
            "email": _strings(contacts["email"]),
            "phone": _strings(contacts["phone"]),
        },
        len(contacts),
    )
    return [
        [records[i] for i in rows] for rows in group_rows(contacts["organisation_id"], batch.ids)
    ]


#: The core sections, in portrait order (``contacts`` only on request).
CORE_SECTIONS = (
    ("organisation", organisation_section),
    ("holding", holding_section),
    ("open_deals", open_deals_section),
    ("active_projects", active_projects_section),
    ("engagement", engagement_section),
)
