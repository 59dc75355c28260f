"""Rows at or after a cut-off, for checking that a computation "as of t" never looks ahead."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._time import to_timestamp
from b2bclient._typing import Tables
from b2bclient.base._schema import (
    CHANNELS,
    DEAL_CHANNELS,
    DEAL_STATUSES,
    RELATIONSHIP_KINDS,
    STAGES,
)
from b2bclient.features._context import complete_tables

__all__ = ["with_future_rows"]


def _offsets(rng: np.random.Generator, n: int, max_days: float) -> pd.TimedeltaIndex:
    """Return `n` offsets in [0, max_days] days; the first is 0 so an event lands exactly at t."""
    days = rng.uniform(0.0, max_days, size=n)
    if n:
        days[0] = 0.0
    return pd.to_timedelta(np.round(days * 86_400), unit="s")


def _amounts(rng: np.random.Generator, n: int, extreme: bool) -> np.ndarray:
    values = rng.lognormal(7.0, 2.0, size=n)
    if extreme and n:
        values[rng.random(n) < 0.3] = 1e12
        values[rng.random(n) < 0.2] = 0.0
    return values.astype(np.float64)


def _append(df: pd.DataFrame, rows: dict[str, Any]) -> pd.DataFrame:
    new = pd.DataFrame(rows)
    for column in df.columns:
        if column not in new.columns:
            new[column] = pd.Series([None] * len(new), dtype=object)
    new = new[list(df.columns)]
    for column in df.columns:
        dtype = df[column].dtype
        # A value outside the categories of an enum column keeps the column as object.
        with contextlib.suppress(TypeError, ValueError):
            new[column] = new[column].astype(dtype)
    return pd.concat([df, new], ignore_index=True)


def _not_before(
    times: pd.DatetimeIndex, owners: np.ndarray, created: pd.Series
) -> pd.DatetimeIndex:
    """Move each time to its owner's creation when it would come earlier."""
    floor = created.reindex(owners).to_numpy(dtype="datetime64[ns]")
    values = times.to_numpy(dtype="datetime64[ns]")
    return pd.DatetimeIndex(np.where(np.isnat(floor) | (values >= floor), values, floor))


def _contact_of(
    owners: np.ndarray, when: pd.DatetimeIndex, contacts: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """Pick for each row a contact of its own organisation known by then (or none)."""
    pools = dict(list(contacts.groupby("organisation_id", sort=False)))
    out = np.full(len(owners), None, dtype=object)
    for i, (org, t) in enumerate(zip(owners, when, strict=True)):
        pool = pools.get(org)
        if pool is None:
            continue
        ids = pool["contact_id"].to_numpy(dtype=object)[(pool["created_at"] <= t).to_numpy()]
        if len(ids) and rng.random() < 0.8:
            out[i] = ids[int(rng.integers(len(ids)))]
    return out


def _redraw(
    df: pd.DataFrame,
    status: str,
    closed: str,
    initial: str,
    statuses: tuple[str, ...],
    t: pd.Timestamp,
    when: Callable[[int], pd.DatetimeIndex],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Give the rows still in state `initial` at `t` another future: a new state at or after t."""
    created = "created_at"
    later = df[closed].isna() | (df[closed] >= t)
    pending = (df[created] < t) & ((df[status].astype(object) == initial) | (df[closed] >= t))
    rows = np.flatnonzero((pending & later).to_numpy())
    if not len(rows):
        return df
    df = df.copy()
    dtype = df[status].dtype
    new_status = rng.choice(list(statuses), size=len(rows))
    times = pd.Series(when(len(rows))).where(new_status != initial, pd.NaT)
    df = df.astype({status: object})
    df.loc[df.index[rows], status] = new_status
    df.loc[df.index[rows], closed] = times.to_numpy()
    df[status] = df[status].astype(dtype)
    return df


def _redraw_time(
    df: pd.DataFrame,
    start: str,
    end: str,
    t: pd.Timestamp,
    when: Callable[[int], pd.DatetimeIndex],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Give rows started before `t` whose `end` is unknown at `t` another end, at or after t."""
    pending = ((df[start] < t) & (df[end].isna() | (df[end] >= t))).to_numpy()
    rows = np.flatnonzero(pending)
    if not len(rows):
        return df
    df = df.copy()
    times = pd.Series(when(len(rows))).where(rng.random(len(rows)) < 0.6, pd.NaT)
    df.loc[df.index[rows], end] = times.to_numpy()
    return df


def with_future_rows(
    tables: Tables,
    as_of: Any,
    *,
    seed: int | np.random.Generator = 0,
    n_rows: int = 20,
    max_offset_days: float = 1_000.0,
    extreme: bool = True,
) -> dict[str, pd.DataFrame]:
    """Return the tables with rows at or after `as_of` added and later state changes applied.

    Nothing known before `as_of` changes, so every point-in-time computation must give the same
    result on the returned tables as on the input. The result is a valid client base when the
    input is one (``ClientBase(tables)`` accepts it): closed deals and projects have their
    closing time, stages follow the stage order, and no row predates its organisation (an
    interaction's contact belongs to its organisation and is known by then). Added, all timed at or after `as_of` (the
    first of each exactly at `as_of`): organisations (children of known ones, with a new
    industry), contacts (decision makers, with personal data), products of a new category, deals
    of every status with extreme amounts and their lines, projects and stages (including later
    stages of known projects), interactions on every channel, contracts and relationships.
    Changed: open deals won or lost at or after `as_of`, active projects completed or cancelled,
    running stages ended and contracts cancelled then.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Canonical tables (for example ``base.tables``).
    as_of : str or pandas.Timestamp
        The cut-off.
    seed : int or numpy.random.Generator
        Randomness of the rows.
    n_rows : int
        Rows added per table.
    max_offset_days : float
        Added times lie in ``[as_of, as_of + max_offset_days]``.
    extreme : bool
        Include extreme values (amounts of 0 and 1e12, huge head counts).

    Returns
    -------
    dict of str to pandas.DataFrame
        New tables (the input is not modified).

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": pd.to_datetime(["2024-01-01"])})
    >>> out = with_future_rows({"organisations": orgs}, "2025-01-01", n_rows=3)
    >>> bool((out["deals"]["created_at"] >= pd.Timestamp("2025-01-01")).all())
    True
    >>> len(out["organisations"])
    4
    """
    t = to_timestamp(as_of, name="as_of", owner="with_future_rows")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = complete_tables(tables)
    orgs = out["organisations"]
    known = orgs.loc[orgs["created_at"] < t, "organisation_id"].to_numpy(dtype=object)
    n = int(n_rows)

    def pick(values: np.ndarray, size: int) -> np.ndarray:
        if not len(values):
            return np.array([None] * size, dtype=object)
        return np.asarray(rng.choice(values, size=size), dtype=object)

    def when(size: int) -> pd.DatetimeIndex:
        return t + _offsets(rng, size, max_offset_days)

    def owners(size: int) -> np.ndarray:
        """Organisations of new rows; the first (timed exactly at t) is a known one."""
        chosen = pick(targets, size)
        if size and len(known):
            chosen[0] = pick(known, 1)[0]
        return chosen

    # Organisations: new ones created at or after t, children of known ones.
    new_orgs = np.array([f"F-ORG-{i}" for i in range(n)], dtype=object)
    out["organisations"] = _append(
        orgs,
        {
            "organisation_id": new_orgs,
            "name": [f"Future Org {i}" for i in range(n)],
            "industry": "future_industry",
            "region": "future_region",
            "size_band": pd.Series(rng.choice(["micro", "enterprise"], size=n), dtype=object),
            "employees": pd.array(
                rng.integers(0, 10**7 if extreme else 500, size=n), dtype="Int64"
            ),
            "annual_revenue": _amounts(rng, n, extreme),
            "parent_id": pick(known, n),
            "created_at": when(n),
        },
    )
    targets = np.concatenate((known, new_orgs)) if len(known) else new_orgs
    created_of = pd.Series(
        out["organisations"]["created_at"].to_numpy(dtype="datetime64[ns]"),
        index=out["organisations"]["organisation_id"].to_numpy(dtype=object),
    )

    # Contacts: decision makers with personal data.
    contacts = out["contacts"]
    new_contacts = np.array([f"F-CON-{i}" for i in range(n)], dtype=object)
    contact_orgs = owners(n)
    out["contacts"] = _append(
        contacts,
        {
            "contact_id": new_contacts,
            "organisation_id": contact_orgs,
            "role": pd.Series(rng.choice(["procurement", "management"], size=n), dtype=object),
            "is_decision_maker": pd.array(np.ones(n, dtype=bool), dtype="boolean"),
            "full_name": [f"Future Person {i}" for i in range(n)],
            "email": [f"future{i}@future.example" for i in range(n)],
            "phone": [f"+00 000 {i:04d}" for i in range(n)],
            "created_at": _not_before(when(n), contact_orgs, created_of),
        },
    )

    # Products of a new category (timeless, used only by future lines).
    products = out["products"]
    new_products = np.array(["F-PRD-good", "F-PRD-insurance"], dtype=object)
    out["products"] = _append(
        products,
        {
            "product_id": new_products,
            "name": ["Future good", "Future insurance"],
            "category": ["future_category", "insurance"],
            "kind": pd.Series(["good", "service"], dtype=object),
        },
    )
    all_products = np.concatenate((products["product_id"].to_numpy(dtype=object), new_products))

    # Deals of every status with extreme amounts, and their lines.
    deals = out["deals"]
    new_deals = np.array([f"F-DEAL-{i}" for i in range(n)], dtype=object)
    deal_orgs = owners(n)
    created = _not_before(when(n), deal_orgs, created_of)
    status = rng.choice(list(DEAL_STATUSES), size=n)
    closed = created + _offsets(rng, n, 60.0)
    closed = closed.where(status != "open", pd.NaT)
    amount = _amounts(rng, n, extreme)
    # Deals open at t get another future: open still, or won or lost at or after t.
    deals = _redraw(deals, "status", "closed_at", "open", ("open", "won", "lost"), t, when, rng)
    out["deals"] = _append(
        deals,
        {
            "deal_id": new_deals,
            "organisation_id": deal_orgs,
            "project_id": None,
            "created_at": created,
            "closed_at": closed,
            "status": pd.Series(status, dtype=object),
            "amount": amount,
            "channel": pd.Series(rng.choice(list(DEAL_CHANNELS), size=n), dtype=object),
        },
    )
    lines = out["deal_lines"]
    out["deal_lines"] = _append(
        lines,
        {
            "deal_id": new_deals,
            "line_no": pd.array(np.ones(n, dtype=np.int64), dtype="Int64"),
            "product_id": np.where(
                rng.random(n) < 0.5, new_products[rng.integers(0, 2, size=n)], pick(all_products, n)
            ),
            "quantity": rng.uniform(1.0, 1e6 if extreme else 10.0, size=n),
            "amount": amount,
        },
    )

    # Projects: new ones; active ones finish later; running stages end later; later stages start.
    projects = _redraw(
        out["projects"],
        "status",
        "closed_at",
        "active",
        ("active", "completed", "cancelled"),
        t,
        when,
        rng,
    )
    new_projects = np.array([f"F-PRJ-{i}" for i in range(n)], dtype=object)
    project_orgs = owners(n)
    project_start = _not_before(when(n), project_orgs, created_of)
    project_status = rng.choice(["active", "completed"], size=n)
    # A completed project needs the time it closed.
    project_closed = (project_start + _offsets(rng, n, 400.0)).where(
        project_status == "completed", pd.NaT
    )
    out["projects"] = _append(
        projects,
        {
            "project_id": new_projects,
            "organisation_id": project_orgs,
            "name": [f"Future project {i}" for i in range(n)],
            "created_at": project_start,
            "status": pd.Series(project_status, dtype=object),
            "expected_value": _amounts(rng, n, extreme),
            "closed_at": project_closed,
        },
    )
    stages = _redraw_time(out["stages"], "started_at", "ended_at", t, when, rng)
    # The next stage of known projects starts at or after t.
    stage_rank = pd.Categorical(stages["stage"], categories=list(STAGES)).codes
    by_project = pd.DataFrame(
        {
            "project_id": stages["project_id"].to_numpy(dtype=object),
            "rank": stage_rank,
            "started_at": stages["started_at"].to_numpy(dtype="datetime64[ns]"),
        }
    ).groupby("project_id")
    last = by_project["rank"].max()
    latest_start = by_project["started_at"].max()
    last = last[last < len(STAGES) - 1]
    chosen = (
        last.sample(n=min(n, len(last)), random_state=int(rng.integers(2**31)))
        if len(last)
        else last
    )
    # The next stage starts at or after t and after every stage of its project already recorded
    # (the input may hold stages after t); a new project starts with design when it starts.
    next_start = when(len(chosen)).to_numpy(dtype="datetime64[ns]")
    recorded = latest_start.reindex(chosen.index).to_numpy(dtype="datetime64[ns]")
    next_start = np.where(recorded > next_start, recorded, next_start)
    next_stages = {
        "project_id": np.concatenate((chosen.index.to_numpy(dtype=object), new_projects)),
        "stage": pd.Series(
            [STAGES[r + 1] for r in chosen.to_numpy()] + ["design"] * n, dtype=object
        ),
        "started_at": np.concatenate((next_start, project_start.to_numpy())),
        "ended_at": pd.NaT,
    }
    out["stages"] = _append(stages, next_stages)

    # Interactions on every channel, for known and new contacts.
    m = 3 * n
    inter_orgs = owners(m)
    occurred = _not_before(when(m), inter_orgs, created_of)
    out["interactions"] = _append(
        out["interactions"],
        {
            "interaction_id": [f"F-INT-{i}" for i in range(m)],
            "organisation_id": inter_orgs,
            "contact_id": _contact_of(inter_orgs, occurred, out["contacts"], rng),
            "project_id": None,
            "occurred_at": occurred,
            "channel": pd.Series(rng.choice(list(CHANNELS), size=m), dtype=object),
            "kind": pd.Series(rng.choice(["login", "ticket", "call"], size=m), dtype=object),
        },
    )

    # Contracts: running ones are cancelled later; new ones start later.
    contracts = _redraw_time(out["contracts"], "started_at", "cancelled_at", t, when, rng)
    contract_orgs = owners(n)
    start = _not_before(when(n), contract_orgs, created_of)
    out["contracts"] = _append(
        contracts,
        {
            "contract_id": [f"F-CTR-{i}" for i in range(n)],
            "organisation_id": contract_orgs,
            "kind": pd.Series(rng.choice(["supply", "framework"], size=n), dtype=object),
            "started_at": start,
            "ends_at": start + pd.to_timedelta(rng.integers(30, 1000, size=n), unit="D"),
            "cancelled_at": pd.NaT,
            "value": _amounts(rng, n, extreme),
        },
    )

    # Relationships established at or after t, between known and new organisations.
    rel = out["relationships"]
    source = owners(n)
    target = np.array([f"F-ORG-{i}" for i in range(n)], dtype=object)
    half = n // 2
    target[:half] = pick(known, half) if len(known) else target[:half]
    keep = source != target
    out["relationships"] = _append(
        rel,
        {
            "source_id": source[keep],
            "target_id": target[keep],
            "kind": pd.Series(
                rng.choice(list(RELATIONSHIP_KINDS), size=int(keep.sum())), dtype=object
            ),
            "since": _not_before(
                _not_before(when(int(keep.sum())), source[keep], created_of),
                target[keep],
                created_of,
            ),
        },
    )
    return out
