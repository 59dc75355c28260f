"""Long projects of the synthetic client base: the planted lifecycle, stages, deals and conversation.

A project goes through design -> production -> procurement -> delivery -> commissioning, each stage
starting when the previous one ends. What decides its course is planted and known:

* stage ``s`` lasts ``D_s`` days with ``log D_s = a_s + beta_s . x + sigma_s * z_s``, where ``x``
  are five covariates of the project observable at its creation (see :data:`PROJECT_COVARIATES`)
  and the ``z_s`` of one project are standard normal with pairwise correlation
  :data:`STAGE_CORRELATION` (a shared project factor): a log-normal accelerated failure time model
  per stage;
* the project is cancelled at the first event of a hazard ``lambda_s * exp(gamma . x)`` that is
  constant within stage ``s`` (a proportional hazard per stage, independent of the durations).

The covariates are taken as of the project's creation from rows the project process never produces
itself (the organisation's head count, its contracts, the creation times of its projects), so a
project's course depends on its past only and everything it depends on is in the tables. The rows a
stage leaves (deals, conversation) follow rates fixed at the stage's start: nothing seen before a
stage ends tells when it will end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, SERVICE_CATEGORIES, STAGES
from b2bclient.datasets._activity import KINDS, channel_kind_defaults, concat_columns, spread
from b2bclient.datasets._calendar import DAY, INF, NAT, Calendar, floor_seconds, window_sums
from b2bclient.datasets._firms import Columns, pick
from b2bclient.datasets._segments import TRAITS, signal_scale
from b2bclient.datasets._vocabulary import REGION_PLACES, SITE_OBJECTS

__all__ = [
    "PROJECT_COVARIATES",
    "STAGE_CORRELATION",
    "STAGE_MEDIANS",
    "STAGE_SIGMAS",
    "cancellation_model",
    "cancellation_rates",
    "duration_model",
    "make_projects",
    "project_covariates",
    "project_deal_specs",
    "project_interactions",
    "project_specs",
    "transition_model",
]

Array = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]

#: Covariates of a project, taken as of its creation ``t`` from rows strictly before ``t``.
PROJECT_COVARIATES: tuple[str, ...] = (
    "log_expected_value",  # log of the project's expected_value
    "firmographics__log_employees",  # log1p(employees)
    "log1p_projects_created_365d",  # log1p of its projects created in [t - 365 days, t)
    "contracts__active",  # 1 if a contract has started_at < t <= ends_at, not cancelled before t
    "contracts__cancellations_365d",  # its contracts cancelled in [t - 365 days, t)
)
#: The reference project: expected value 30 000, e^4 - 1 employees, nothing else.
REFERENCE_PROJECT = np.array([math.log(30_000.0), 4.0, 0.0, 0.0, 0.0])

#: Median days of each stage for the reference project, and sigma of the log.
STAGE_MEDIANS = np.array([75.0, 110.0, 40.0, 30.0, 21.0])
STAGE_SIGMAS = np.array([0.5, 0.45, 0.4, 0.5, 0.6])
#: Correlation of the log-durations of the stages of one project (a shared project effect).
STAGE_CORRELATION = 0.4
# Effect of each covariate (rows, PROJECT_COVARIATES) on the log-duration of each stage (columns,
# STAGES) at difficulty 0.5: bigger projects take longer, large organisations decide slowly
# (design, procurement), organisations that run many projects are faster, and a framework
# contract shortens procurement most.
_DURATION_EFFECTS = np.array(
    [
        [0.12, 0.10, 0.08, 0.06, 0.10],
        [0.06, 0.00, 0.10, 0.00, 0.04],
        [-0.15, -0.10, -0.08, -0.05, -0.05],
        [-0.08, -0.05, -0.30, -0.05, 0.00],
        [0.00, 0.00, 0.00, 0.00, 0.00],
    ]
)
# Cancellation: yearly rate per stage for the reference project, and the log hazard ratios of the
# covariates at difficulty 0.5 (big projects and contract holders cancel less, busy organisations
# and those that cancelled a contract lately cancel more).
_CANCEL_RATES = np.array([0.24, 0.13, 0.24, 0.15, 0.11])
_CANCEL_EFFECTS = np.array([-0.25, -0.15, 0.25, -0.6, 0.7])

_T = {t: i for i, t in enumerate(TRAITS)}
_K = {k: i for i, k in enumerate(KINDS)}
_CH = {c: i for i, c in enumerate(CHANNELS)}
_DCH = {c: i for i, c in enumerate(DEAL_CHANNELS)}
_SITES_PER_REGION = len(REGION_PLACES[0]) * len(SITE_OBJECTS)
_YEAR = 365 * DAY


def duration_model(difficulty: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the intercepts ``a_s``, effects ``beta`` (covariate x stage) and sigmas of the stages.

    The effects are the difficulty-0.5 ones times ``2 ** (1 - 2 * difficulty)``; the intercepts keep
    the reference project's median at :data:`STAGE_MEDIANS` whatever the difficulty.
    """
    beta = _DURATION_EFFECTS * signal_scale(difficulty)
    intercept = np.log(STAGE_MEDIANS) - REFERENCE_PROJECT @ beta
    return intercept, beta, STAGE_SIGMAS.copy()


def cancellation_model(difficulty: float) -> tuple[FloatArray, FloatArray]:
    """Return the baseline cancellation hazard per day of each stage and the coefficients ``gamma``.

    The hazard of a project in stage ``s`` is ``baseline_s * exp(gamma . x)``; the baseline absorbs
    the reference project, whose yearly rates are ``_CANCEL_RATES``.
    """
    gamma = _CANCEL_EFFECTS * signal_scale(difficulty)
    baseline = _CANCEL_RATES / 365.25 * np.exp(-(REFERENCE_PROJECT @ gamma))
    return baseline, gamma


def cancellation_rates() -> FloatArray:
    """Return the reference project's yearly cancellation rate in each stage."""
    return np.array(_CANCEL_RATES, dtype=np.float64)


def transition_model(difficulty: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return each stage's log-duration model given the covariates and the earlier log-durations.

    Conditioning the correlated Gaussian ``z`` on the earlier stages of the project gives, for
    stage ``s``, ``log D_s = c_s + b_s . x + sum_j d_sj * log D_j + tau_s * eps`` with ``eps``
    standard normal: a log-normal AFT model with the earlier log-durations as covariates. Returns
    ``c`` (stages), ``b`` (stages x covariates), ``d`` (stages x stages, zero on and above the
    diagonal) and ``tau`` (stages).
    """
    a, beta, sigma = duration_model(difficulty)
    n = len(STAGES)
    rho = STAGE_CORRELATION
    c = a.copy()
    b = beta.T.copy()
    d = np.zeros((n, n))
    tau = sigma.copy()
    for s in range(1, n):
        k = rho / (1.0 + (s - 1) * rho)
        c[s] = a[s] - sigma[s] * k * float(np.sum(a[:s] / sigma[:s]))
        b[s] = beta[:, s] - sigma[s] * k * (beta[:, :s] / sigma[:s]).sum(axis=1)
        d[s, :s] = sigma[s] * k / sigma[:s]
        tau[s] = sigma[s] * math.sqrt(1.0 - s * rho * k)
    return c, b, d, tau


def project_specs(rng: np.random.Generator, orgs: Columns, *, end: int, cal: Calendar) -> Columns:
    """Draw the ordinary projects of each organisation (rate from its project propensity)."""
    traits = orgs["traits"]
    rate = np.exp(traits[:, _T["log_project_rate"]])
    owner, created = spread(rng, rate, orgs["created"], np.full_like(orgs["created"], end), cal)
    m = owner.shape[0]
    region = np.where(rng.random(m) < 0.9, orgs["region"][owner], rng.integers(8, size=m))
    site = region * _SITES_PER_REGION + rng.integers(_SITES_PER_REGION, size=m)
    value = np.exp(traits[owner, _T["log_order_value"]] + 2.0 + 0.6 * rng.standard_normal(m))
    return {
        "org": owner.astype(np.int64),
        "created": created,
        "value": np.maximum(np.round(value, -2), 100.0),
        "site": site.astype(np.int64),
        "scope": rng.integers(8, size=m).astype(np.int64),
    }


def _pairs(
    owner: npt.NDArray[np.int64], rows_org: npt.NDArray[np.int64], n_orgs: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return (owner index, row index) for every row of the owner's organisation."""
    order = np.argsort(rows_org, kind="stable")
    count = np.bincount(rows_org, minlength=n_orgs)
    first = np.cumsum(count) - count
    k = count[owner]
    left = np.repeat(np.arange(owner.shape[0]), k)
    offset = np.arange(left.shape[0]) - np.repeat(np.cumsum(k) - k, k)
    return left, order[first[owner][left] + offset]


def project_covariates(specs: Columns, orgs: Columns, contracts: Columns) -> FloatArray:
    """Return the :data:`PROJECT_COVARIATES` of each project as of its creation.

    Rows strictly before the creation time ``t`` count; the contracts are those drawn by
    :func:`~b2bclient.datasets._activity.make_contracts` (churn changes none of them before ``t``).
    """
    org, t = specs["org"], specs["created"]
    m = org.shape[0]
    n = orgs["created"].shape[0]
    created_365d, _ = window_sums(org, t, None, org, t - _YEAR, t)
    left, row = _pairs(org, contracts["org"], n)
    tl = t[left]
    started, ends, cancelled = (contracts[k][row] for k in ("started", "ends", "cancelled"))
    was_cancelled = (cancelled != NAT) & (cancelled < tl)
    active = (started < tl) & (tl <= ends) & ~was_cancelled
    recent = was_cancelled & (cancelled >= tl - _YEAR)
    return np.column_stack(
        [
            np.log(specs["value"]),
            np.log1p(orgs["employees"][org].astype(np.float64)),
            np.log1p(created_365d),
            (np.bincount(left[active], minlength=m) > 0).astype(np.float64),
            np.bincount(left[recent], minlength=m).astype(np.float64),
        ]
    )


def make_projects(
    rng: np.random.Generator,
    specs: Columns,
    x: FloatArray,
    *,
    end: int,
    difficulty: float,
) -> tuple[Columns, Columns]:
    """Draw stage durations, cancellations and status of the projects in `specs`.

    `x` holds the :data:`PROJECT_COVARIATES` of each project. Durations follow
    :func:`duration_model` with correlated ``z``; the cancellation time is the first event of the
    piecewise-constant hazard of :func:`cancellation_model`, found by inverting its cumulative
    hazard at an exponential draw. A cancelled project stops inside a stage; that stage ends then.
    """
    m = specs["org"].shape[0]
    common = rng.standard_normal((m, 1))
    own = rng.standard_normal((m, len(STAGES)))
    z = np.sqrt(STAGE_CORRELATION) * common + np.sqrt(1.0 - STAGE_CORRELATION) * own
    a, beta, sigma = duration_model(difficulty)
    dur = floor_seconds(np.exp(a + x @ beta + sigma * z) * DAY)
    dur = np.maximum(dur, DAY)
    offset = np.concatenate([np.zeros((m, 1), dtype=np.int64), np.cumsum(dur, axis=1)[:, :-1]], 1)
    starts = specs["created"][:, None] + offset
    ends = starts + dur
    # Two draws of the former cancellation rule are kept so that the draw that decided whether a
    # project was cancelled (now its exponential clock) keeps its place in the stream.
    pick(rng, np.ones(len(STAGES)), m)
    rng.random(m)
    clock = -np.log1p(-rng.random(m))
    baseline, gamma = cancellation_model(difficulty)
    rate = baseline[None, :] * np.exp(x @ gamma)[:, None]  # per day
    cum = np.cumsum(rate * (dur / DAY), axis=1)
    stage = np.minimum((cum < clock[:, None]).sum(axis=1), len(STAGES) - 1)
    rows = np.arange(m)
    before = np.where(stage > 0, cum[rows, np.maximum(stage - 1, 0)], 0.0)
    inside = np.minimum((clock - before) / rate[rows, stage], dur[rows, stage] / DAY)
    cancel_at = starts[rows, stage] + floor_seconds(inside * DAY)
    cancel_at = np.where(clock < cum[:, -1], cancel_at, INF)
    stop = np.minimum(cancel_at, end)
    exists = starts < stop[:, None]
    ended = np.where(ends < cancel_at[:, None], ends, cancel_at[:, None])
    ended = np.where(ended < end, ended, NAT)
    closed = np.minimum(cancel_at, ends[:, -1])
    status = np.where(cancel_at < ends[:, -1], 2, 1)  # cancelled, completed
    status = np.where(closed < end, status, 0)
    closed = np.where(closed < end, closed, NAT)
    projects = dict(specs)
    projects.update(status=status.astype(np.int64), closed=closed, cancel_at=cancel_at)
    projects["stage_start"] = starts
    projects["stage_end"] = np.where(exists, ended, NAT)
    projects["stage_exists"] = exists
    p_idx, s_idx = np.nonzero(exists)
    stages = {
        "project": p_idx.astype(np.int64),
        "stage": s_idx.astype(np.int64),
        "started": starts[p_idx, s_idx],
        "ended": ended[p_idx, s_idx],
    }
    return projects, stages


def _stage_window(projects: Columns, s: int, *, end: int) -> tuple[Array, Array, Array]:
    exists = projects["stage_exists"][:, s]
    lo = projects["stage_start"][:, s]
    stage_end = projects["stage_end"][:, s]
    hi = np.where(stage_end == NAT, end, stage_end)
    return exists & (hi > lo), lo, hi


def project_deal_specs(
    rng: np.random.Generator, orgs: Columns, projects: Columns, *, end: int
) -> Columns:
    """Derive the deals of each project: goods at procurement, services around it.

    A stage's deal comes a uniform share (up to 30%) of the stage's reference median after the
    stage starts, if the stage is still running then; so its time says nothing about when the
    stage will end.
    """
    parts: list[Columns] = []
    segment = orgs["segment"]
    # (stage, probability, share of the project value, goods?, forced service)
    plan = (
        (0, 0.2, 0.03, False, SERVICE_CATEGORIES.index("design")),
        (2, 1.0, 0.75, True, -1),
        (3, 0.55, 0.05, False, SERVICE_CATEGORIES.index("lifting")),
        (4, 0.45, 0.04, False, SERVICE_CATEGORIES.index("installation")),
    )
    for stage, prob, share, goods, service in plan:
        ok, lo, hi = _stage_window(projects, stage, end=end)
        idx = np.flatnonzero(ok & (rng.random(ok.shape[0]) < prob))
        k = idx.shape[0]
        created = lo[idx] + floor_seconds(rng.random(k) * 0.3 * STAGE_MEDIANS[stage] * DAY)
        org = projects["org"][idx]
        if goods:
            p_tender = np.where(segment[org] == 1, 0.6, 0.35)
            channel = np.where(rng.random(k) < p_tender, _DCH["tender"], _DCH["sales_rep"])
        else:
            channel = np.full(k, _DCH["sales_rep"])
        boost = np.zeros((k, len(SERVICE_CATEGORIES)))
        if goods:
            boost[:, [0, 1, 5]] += 1.0  # insurance, credit and lifting come with big orders
        else:
            boost[:, SERVICE_CATEGORIES.index("logistics")] += 1.0 if stage == 3 else 0.0
        keep = created < hi[idx]
        part: Columns = {
            "org": org,
            "project": idx.astype(np.int64),
            "created": created,
            "channel": channel.astype(np.int64),
            "value": projects["value"][idx] * share * rng.uniform(0.6, 1.2, k),
            "stage": np.full(k, stage, dtype=np.int64),
            "extra_lines": np.full(k, 2 if goods else 0, dtype=np.int64),
            "goods": np.full(k, goods),
            "forced_service": np.full(k, service, dtype=np.int64),
            "forced_category": np.full(k, -1, dtype=np.int64),
            "boost": boost,
        }
        parts.append({key: v[keep] for key, v in part.items()})
    return concat_columns(parts)


def project_interactions(
    rng: np.random.Generator, projects: Columns, *, end: int, cal: Calendar
) -> Columns:
    """Draw the conversation around each project stage: meetings, mails, documents, tickets.

    Each stage talks at a constant rate (its expected count over the reference median), so the
    pace of the conversation says nothing about when the stage will end.
    """
    # Per stage: expected count, channel weights over CHANNELS, kind of the portal touchpoints.
    plan: tuple[tuple[float, tuple[float, ...], str], ...] = (
        (5.0, (0.15, 0.0, 0.4, 0.1, 0.35, 0.0, 0.0), "document"),
        (2.0, (0.0, 0.0, 0.5, 0.3, 0.2, 0.0, 0.0), "document"),
        (3.0, (0.4, 0.0, 0.35, 0.0, 0.25, 0.0, 0.0), "quote_request"),
        (1.5, (0.0, 0.0, 0.4, 0.4, 0.0, 0.2, 0.0), "document"),
        (1.5, (0.0, 0.0, 0.2, 0.0, 0.5, 0.3, 0.0), "document"),
    )
    generic = channel_kind_defaults()
    parts: list[Columns] = []
    for s, (lam, weights, portal_kind) in enumerate(plan):
        ok, lo, hi = _stage_window(projects, s, end=end)
        rate = np.where(ok, lam * 365.25 / STAGE_MEDIANS[s], 0.0)
        owner, t = spread(rng, rate, lo, np.where(ok, hi, lo), cal)
        k = owner.shape[0]
        channel = pick(rng, np.asarray(weights), k).astype(np.int64)
        kind = generic[channel]
        kind = np.where(channel == _CH["portal"], _K[portal_kind], kind)
        kind = np.where(
            channel == _CH["meeting"], _K["site_visit"] if s >= 3 else _K["meeting"], kind
        )
        parts.append(
            {
                "org": projects["org"][owner],
                "t": t,
                "channel": channel,
                "kind": kind.astype(np.int64),
                "project": owner.astype(np.int64),
                "wants_contact": np.ones(k, dtype=bool),
            }
        )
    return concat_columns(parts)
