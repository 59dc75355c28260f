"""Covariates of a project as known at its start: the project's value and its organisation's features.

Each covariate of a project created at ``t`` is computed from rows strictly before ``t``, with the
definition of the feature extractor whose name it carries (``contracts__active`` is what
:class:`~b2bclient.features.Contracts` would report for the organisation as of ``t``). They are
computed for every project at once, by searching sorted event times, instead of running the
extractors once per distinct creation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base import ClientBase

__all__ = [
    "COVARIATES",
    "DEFAULT_COVARIATES",
    "DEFAULT_LOSS_COVARIATES",
    "project_covariates",
    "window_counts",
]

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_DAY = np.int64(86_400_000_000_000)
_YEAR = 365 * _DAY

#: Every covariate a LifecycleModel can use, with its definition as of the project's start ``t``.
COVARIATES: dict[str, str] = {
    "log_expected_value": "log of the project's expected_value",
    "firmographics__log_employees": "log1p of the organisation's employees",
    "log1p_projects_created_365d": (
        "log1p of the organisation's projects created in [t - 365 days, t) (projects__created_365d)"
    ),
    "contracts__active": (
        "1 if a contract of the organisation has started_at < t <= ends_at and is not cancelled "
        "before t, else 0"
    ),
    "contracts__cancellations_365d": "the organisation's contracts cancelled in [t - 365 days, t)",
    "purchasing__orders_365d": (
        "the organisation's won deals closed in [t - 365 days, t) (created_at when closed_at is "
        "missing)"
    ),
    "engagement__portal_share_365d": (
        "portal interactions / all interactions of the organisation in [t - 365 days, t) "
        "(0 when none)"
    ),
    "engagement__tickets_365d": "the organisation's support interactions in [t - 365 days, t)",
}

#: Covariates of the stage durations and of the project's own cancellation, by default.
DEFAULT_COVARIATES: tuple[str, ...] = (
    "log_expected_value",
    "firmographics__log_employees",
    "log1p_projects_created_365d",
    "contracts__active",
    "contracts__cancellations_365d",
)
#: Covariates of the exit "organisation lost" (the organisation's churn risk), by default.
DEFAULT_LOSS_COVARIATES: tuple[str, ...] = (
    "firmographics__log_employees",
    "purchasing__orders_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active",
)


def _ns(values: Any) -> Int64s:
    """Return datetime64 values as int64 nanoseconds (NaT as the smallest int64)."""
    return np.asarray(pd.DatetimeIndex(values).asi8, dtype=np.int64)


def window_counts(
    event_org: Int64s, event_time: Int64s, org: Int64s, lo: Int64s, hi: Int64s
) -> Int64s:
    """Return, per query, the events of organisation ``org`` timed in ``[lo, hi)``.

    Events and queries are integer organisation codes and int64 nanosecond times; the count is
    exact (the times are ranked together, then searched within each organisation's block).

    Examples
    --------
    >>> e_org = np.array([0, 0, 1, 0]); e_t = np.array([5, 10, 3, 20])
    >>> window_counts(e_org, e_t, np.array([0, 1, 0]), np.array([5, 0, 11]), np.array([20, 3, 21])).tolist()
    [2, 0, 1]
    """
    if len(org) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(event_org) == 0:
        return np.zeros(len(org), dtype=np.int64)
    times = np.concatenate([event_time, lo, hi])
    _, rank = np.unique(times, return_inverse=True)
    rank = rank.astype(np.int64)
    n_e, n_q = len(event_time), len(org)
    width = np.int64(rank.max() + 2)
    key = np.sort(event_org.astype(np.int64) * width + rank[:n_e])
    q = org.astype(np.int64) * width
    low = np.searchsorted(key, q + rank[n_e : n_e + n_q], side="left")
    high = np.searchsorted(key, q + rank[n_e + n_q :], side="left")
    return np.asarray(high - low, dtype=np.int64)


def _org_codes(view: ClientBase, table: str) -> Int64s:
    return np.asarray(view.reference_positions(table, "organisation_id"), dtype=np.int64)


def project_covariates(view: ClientBase, rows: Int64s, names: Sequence[str]) -> pd.DataFrame:
    """Return the covariates `names` of the projects at positions `rows` of ``view.projects``.

    `view` is a client base cut at the point in time of the computation; each covariate of a
    project is taken as of the project's ``created_at`` from rows strictly before it. Missing
    values (an unknown head count, a missing or non-positive expected value) stay NaN.

    Parameters
    ----------
    view : ClientBase
        The client base, usually cut with :meth:`ClientBase.as_of`.
    rows : numpy.ndarray of int
        Row positions in ``view.projects``.
    names : sequence of str
        Keys of :data:`COVARIATES`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``project_id``, one float64 column per name.
    """
    projects = view.projects
    org = _org_codes(view, "projects")[rows]
    t = _ns(projects["created_at"].to_numpy()[rows])
    index = pd.Index(projects["project_id"].to_numpy()[rows], name="project_id")
    out = pd.DataFrame(index=index)
    wanted = set(names)
    lo = t - _YEAR
    if "log_expected_value" in wanted:
        value = pd.to_numeric(projects["expected_value"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_expected_value"] = np.where(value > 0, np.log(value), np.nan)
    if "firmographics__log_employees" in wanted:
        employees = view.organisations["employees"].to_numpy(dtype=np.float64, na_value=np.nan)
        out["firmographics__log_employees"] = np.log1p(employees[org])
    if "log1p_projects_created_365d" in wanted:
        created = _ns(projects["created_at"].to_numpy())
        n = window_counts(_org_codes(view, "projects"), created, org, lo, t)
        out["log1p_projects_created_365d"] = np.log1p(n.astype(np.float64))
    if wanted & {"contracts__active", "contracts__cancellations_365d"}:
        _contracts(view, org, t, out, wanted)
    if "purchasing__orders_365d" in wanted:
        deals = view.deals
        won = (deals["status"].astype(object) == "won").to_numpy()
        closed = deals["closed_at"].where(deals["closed_at"].notna(), deals["created_at"])
        n = window_counts(_org_codes(view, "deals")[won], _ns(closed.to_numpy()[won]), org, lo, t)
        out["purchasing__orders_365d"] = n.astype(np.float64)
    if wanted & {"engagement__portal_share_365d", "engagement__tickets_365d"}:
        inter = view.interactions
        codes = _org_codes(view, "interactions")
        when = _ns(inter["occurred_at"].to_numpy())
        channel = inter["channel"].astype(object).to_numpy()
        if "engagement__portal_share_365d" in wanted:
            total = window_counts(codes, when, org, lo, t).astype(np.float64)
            portal = channel == "portal"
            n = window_counts(codes[portal], when[portal], org, lo, t).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                out["engagement__portal_share_365d"] = np.where(total > 0, n / total, 0.0)
        if "engagement__tickets_365d" in wanted:
            support = channel == "support"
            n = window_counts(codes[support], when[support], org, lo, t)
            out["engagement__tickets_365d"] = n.astype(np.float64)
    return out[list(names)]


def _contracts(
    view: ClientBase, org: Int64s, t: Int64s, out: pd.DataFrame, wanted: set[str]
) -> None:
    contracts = view.contracts
    c_org = _org_codes(view, "contracts")
    started = _ns(contracts["started_at"].to_numpy())
    ends = _ns(contracts["ends_at"].to_numpy())
    cancelled = _ns(contracts["cancelled_at"].to_numpy())
    has_cancel = contracts["cancelled_at"].notna().to_numpy()
    if "contracts__cancellations_365d" in wanted:
        n = window_counts(c_org[has_cancel], cancelled[has_cancel], org, t - _YEAR, t)
        out["contracts__cancellations_365d"] = n.astype(np.float64)
    if "contracts__active" in wanted:
        # Pair every project with its organisation's contracts (a few per organisation).
        order = np.argsort(c_org, kind="stable")
        counts = np.bincount(
            c_org, minlength=int(max(org.max(initial=-1), c_org.max(initial=-1)) + 1)
        )
        first = np.cumsum(counts) - counts
        k = counts[org] if len(org) else np.zeros(0, dtype=np.int64)
        left = np.repeat(np.arange(len(org)), k)
        offset = np.arange(len(left)) - np.repeat(np.cumsum(k) - k, k)
        row = order[first[org][left] + offset]
        tl = t[left]
        gone = has_cancel[row] & (cancelled[row] < tl)
        valid = contracts["ends_at"].notna().to_numpy()[row]
        active = (started[row] < tl) & valid & (tl <= ends[row]) & ~gone
        out["contracts__active"] = (np.bincount(left[active], minlength=len(org)) > 0).astype(
            np.float64
        )
