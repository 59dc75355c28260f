"""The planted churn: covariates as of the landmark, the hazard, and the cut of later rows.

Before the landmark a low background churn removes a few clients. Each organisation known and alive
at the landmark then churns at a time drawn from a Cox proportional hazard with a Weibull baseline,

    H(t | x) = (t / scale_days) ** shape * exp(beta . x),    t = days since the landmark,

on five covariates computed from the generated rows as of the landmark, exactly as the feature
extractors define them. Organisations that become clients after the landmark churn at a constant
rate set by their segment. After churning an organisation stops buying and interacting: its later
rows are removed, its open deals are lost, its running projects cancelled and its contracts
cancelled shortly after.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from b2bclient.datasets._calendar import DAY, HOUR, INF, NAT, floor_seconds
from b2bclient.datasets._firms import Columns
from b2bclient.datasets._segments import BACKGROUND_CHURN, NEW_CLIENT_CHURN

__all__ = [
    "FEATURES",
    "WEIBULL_SHAPE",
    "coefficients",
    "covariates_at",
    "cut_after_churn",
    "draw_churn",
    "weibull_scale",
]

FEATURES: tuple[str, ...] = (
    "firmographics__log_employees",
    "purchasing__orders_365d",
    "engagement__portal_share_365d",
    "engagement__tickets_365d",
    "contracts__active",
)
_BASE_COEFFICIENTS = np.array([-0.42, -0.15, -2.0, 0.3, -1.4])
# A typical client; the baseline scale is set for it, so that the churn rate barely moves with
# the difficulty while the spread of the hazard does.
_REFERENCE = np.array([4.0, 2.0, 0.35, 1.5, 0.3])
WEIBULL_SHAPE = 1.3
_REFERENCE_SCALE_DAYS = 2500.0

_CHANNEL_PORTAL = 0
_CHANNEL_SUPPORT = 5
_WON = 1


def coefficients(difficulty: float) -> npt.NDArray[np.float64]:
    """Return the hazard coefficients: the base ones times ``2 ** (1 - 2 * difficulty)``."""
    return np.asarray(_BASE_COEFFICIENTS * 2.0 ** (1.0 - 2.0 * difficulty), dtype=np.float64)


def weibull_scale(difficulty: float) -> float:
    """Return the Weibull scale in days for the uncentred linear predictor ``beta . x``."""
    beta = coefficients(difficulty)
    return float(_REFERENCE_SCALE_DAYS * np.exp(float(beta @ _REFERENCE) / WEIBULL_SHAPE))


def covariates_at(
    t: int,
    orgs: Columns,
    deals: Columns,
    interactions: Columns,
    contracts: Columns,
) -> npt.NDArray[np.float64]:
    """Return the five covariates of every organisation as of `t` (rows strictly before `t`)."""
    n = orgs["created"].shape[0]
    lo = t - 365 * DAY
    won = (deals["status"] == _WON) & (deals["closed"] >= lo) & (deals["closed"] < t)
    orders = np.bincount(deals["org"][won], minlength=n).astype(np.float64)
    window = (interactions["t"] >= lo) & (interactions["t"] < t)
    org_w = interactions["org"][window]
    ch = interactions["channel"][window]
    total = np.bincount(org_w, minlength=n).astype(np.float64)
    portal = np.bincount(org_w[ch == _CHANNEL_PORTAL], minlength=n).astype(np.float64)
    tickets = np.bincount(org_w[ch == _CHANNEL_SUPPORT], minlength=n).astype(np.float64)
    share = np.divide(portal, total, out=np.zeros(n), where=total > 0)
    cancelled = contracts["cancelled"]
    active_rows = (
        (contracts["started"] < t)
        & (t <= contracts["ends"])
        & ((cancelled == NAT) | (cancelled >= t))
    )
    active = (np.bincount(contracts["org"][active_rows], minlength=n) > 0).astype(np.float64)
    log_emp = np.log1p(orgs["employees"].astype(np.float64))
    return np.column_stack([log_emp, orders, share, tickets, active])


def draw_churn(
    rng: np.random.Generator,
    orgs: Columns,
    x: npt.NDArray[np.float64],
    *,
    landmark: int,
    end: int,
    difficulty: float,
    pre_churn: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Return the churn time of each organisation (INF when it does not churn before `end`).

    `pre_churn` are background churn times drawn beforehand; an organisation known at the
    landmark whose background time falls before it churned then. The others known at the
    landmark follow the Cox-Weibull hazard on `x`; later clients churn at their segment's rate.
    Also returns the mask of organisations alive at the landmark.
    """
    created = orgs["created"]
    n = created.shape[0]
    known = created < landmark
    alive = known & (pre_churn >= landmark)
    churn = np.full(n, INF, dtype=np.int64)
    churn[known & ~alive] = pre_churn[known & ~alive]

    beta = coefficients(difficulty)
    eta = x[alive] @ beta
    e = rng.exponential(size=int(alive.sum()))
    days = weibull_scale(difficulty) * (e / np.exp(eta)) ** (1.0 / WEIBULL_SHAPE)
    churn[alive] = landmark + np.maximum(floor_seconds(np.minimum(days, 36_500.0) * DAY), HOUR)

    new = ~known
    rate = NEW_CLIENT_CHURN[orgs["segment"][new]]
    churn[new] = (
        created[new]
        + floor_seconds(
            np.minimum(rng.exponential(size=int(new.sum())) / rate, 100.0) * 365.25 * DAY
        )
        + HOUR
    )
    churn = np.where(churn < end, churn, INF)
    return churn, alive


def background_churn(rng: np.random.Generator, orgs: Columns) -> npt.NDArray[np.int64]:
    """Draw a background churn time per organisation from its segment's low yearly rate."""
    rate = BACKGROUND_CHURN[orgs["segment"]]
    years = np.minimum(rng.exponential(size=rate.shape[0]) / rate, 100.0)
    return np.asarray(orgs["created"] + floor_seconds(years * 365.25 * DAY) + HOUR, dtype=np.int64)


def _take(cols: Columns, keep: npt.NDArray[np.bool_]) -> Columns:
    return {k: v[keep] for k, v in cols.items()}


def _reindex(keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Return old row -> new row (-1 when dropped), with one extra slot mapping -1 to -1."""
    new = np.full(keep.shape[0] + 1, -1, dtype=np.int64)
    new[:-1][keep] = np.arange(int(keep.sum()))
    return new


def cut_after_churn(
    rng: np.random.Generator,
    churn: npt.NDArray[np.int64],
    tables: dict[str, Columns],
    *,
    end: int,
) -> dict[str, Columns]:
    """Remove what a churned organisation would no longer do and close what it leaves open.

    * contacts, deals, projects, stages, interactions and contracts starting at or after the churn
      time are dropped (with the lines of dropped deals);
    * deals created before and still open at churn are lost within 45 days (in-flight quotes);
    * projects running at churn are cancelled within 30 days, their running stage ends then;
    * contracts running at churn are cancelled within 30 days (unless they end first);
    * links created at or after the churn of either side are dropped (parent links are kept).
    """
    con = {k: v for k, v in tables["contacts"].items() if k != "count"}
    keep_con = con["created"] < churn[con["org"]]
    contacts = _take(con, keep_con)
    contact_map = _reindex(keep_con)

    # Projects and stages.
    pr = tables["projects"]
    c = churn[pr["org"]]
    keep_p = pr["created"] < c
    m = c.shape[0]
    affected = keep_p & (c < INF) & ((pr["closed"] == NAT) | (pr["closed"] >= c))
    stop = c + floor_seconds(rng.random(m) * 30 * DAY) + HOUR
    stop = np.where(pr["closed"] == NAT, stop, np.minimum(stop, pr["closed"]))
    status = np.where(affected, np.where(stop < end, 2, 0), pr["status"])
    closed = np.where(affected, np.where(stop < end, stop, NAT), pr["closed"])
    projects = dict(pr, status=status, closed=closed)
    project_stop = np.where(affected, stop, INF)
    projects = _take(projects, keep_p)
    project_map = _reindex(keep_p)

    st = tables["stages"]
    c_st = churn[pr["org"][st["project"]]]
    ps = project_stop[st["project"]]
    keep_s = (st["started"] < c_st) & keep_p[st["project"]]
    running = (st["ended"] == NAT) | (st["ended"] >= c_st)
    ended = np.where(running & (ps < INF), np.where(ps < end, ps, NAT), st["ended"])
    stages = _take(dict(st, ended=ended), keep_s)
    stages["project"] = project_map[stages["project"]]

    # Deals and lines.
    de = tables["deals"]
    c = churn[de["org"]]
    keep_d = de["created"] < c
    k = c.shape[0]
    inflight = keep_d & (c < INF) & ((de["closed"] == NAT) | (de["closed"] >= c))
    lost_at = c + floor_seconds((1.0 + rng.random(k) * 44.0) * DAY)
    lost_at = np.where(de["closed"] == NAT, lost_at, np.minimum(lost_at, de["closed"]))
    status = np.where(inflight, np.where(lost_at < end, 2, 0), de["status"])
    closed = np.where(inflight, np.where(lost_at < end, lost_at, NAT), de["closed"])
    deals = _take(dict(de, status=status, closed=closed), keep_d)
    deals["project"] = project_map[deals["project"]]
    deal_map = _reindex(keep_d)
    li = tables["lines"]
    lines = _take(li, keep_d[li["deal"]])
    lines["deal"] = deal_map[lines["deal"]]

    it = tables["interactions"]
    keep_i = it["t"] < churn[it["org"]]
    interactions = _take(it, keep_i)
    interactions["project"] = project_map[interactions["project"]]
    interactions["contact"] = contact_map[interactions["contact"]]

    co = tables["contracts"]
    c = churn[co["org"]]
    keep_c = co["started"] < c
    running_c = (
        keep_c & (c < INF) & (co["ends"] > c) & ((co["cancelled"] == NAT) | (co["cancelled"] >= c))
    )
    cancel = c + floor_seconds(rng.random(c.shape[0]) * 30 * DAY) + HOUR
    cancel = np.where(co["cancelled"] == NAT, cancel, np.minimum(cancel, co["cancelled"]))
    cancel = np.where((cancel < co["ends"]) & (cancel < end), cancel, NAT)
    contracts = _take(dict(co, cancelled=np.where(running_c, cancel, co["cancelled"])), keep_c)

    re = tables["relationships"]
    first_churn = np.minimum(churn[re["source"]], churn[re["target"]])
    keep_r = (re["kind"] == 0) | (re["since"] < first_churn)
    relationships = _take(re, keep_r)

    return {
        "contacts": contacts,
        "projects": projects,
        "stages": stages,
        "deals": deals,
        "lines": lines,
        "interactions": interactions,
        "contracts": contracts,
        "relationships": relationships,
    }
