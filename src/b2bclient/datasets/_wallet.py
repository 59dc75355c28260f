"""Each organisation's wallet: its yearly need for the catalogue, of which it buys a share from us.

What an organisation buys from us is set by its traits: how often it orders, how big its orders and
projects are, which channels and services it uses and how often its deals are won. Its expected
yearly won spend ``E`` follows from the generator's own rules (:func:`expected_spend`). The
organisation's need -- its wallet -- is larger: it buys a latent share ``s`` of it from us,

    logit s = logit(share_median) + share_slope * (log E - log need) + share_sd * eps,
    need = exp(need_intercept + industry_need[industry] + need_elasticity * log1p(employees)),
    wallet = E / s,

so an organisation buying much more than firms of its size and industry typically need holds a
large share of its wallet, one buying little a small share. The wallet grows with the size, the
industry's need and the purchasing traits; ``eps`` is standard normal and ``share_sd`` grows with
the difficulty.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from numpy.polynomial.hermite_e import hermegauss
from scipy.stats import poisson

from b2bclient.base._schema import DEAL_CHANNELS, SERVICE_CATEGORIES
from b2bclient.datasets._activity import (
    HOURS_SD,
    INTERACTION_SCALE,
    ORDER_SCALE,
    OTHER_DISCOUNT,
    SERVICE_A,
    SERVICE_B,
    SERVICE_CAPS,
    SERVICE_PRICE_SD,
    SERVICE_TERMS,
    TENDER_DISCOUNT,
    VALUE_MULTIPLIERS,
    sigmoid,
)
from b2bclient.datasets._calendar import DAY
from b2bclient.datasets._firms import Catalogue, Columns
from b2bclient.datasets._projects import STAGE_MEDIANS, STAGE_SIGMAS, cancellation_rates
from b2bclient.datasets._segments import CHANNEL_WEIGHTS, TRAITS
from b2bclient.datasets._winning import WinModel

__all__ = [
    "INDUSTRY_NEED",
    "WALLET_PARAMETERS",
    "expected_spend",
    "need",
    "plant_wallets",
    "share_sd",
]

FloatArray = npt.NDArray[np.float64]

#: Log need per head by industry, relative to the mean (construction, steel, ...).
INDUSTRY_NEED = np.array([0.35, 0.3, 0.1, -0.2, 0.0, -0.1, -0.35, 0.3, 0.2, -0.15])
#: The parameters of the share (``share_sd`` at difficulty 0.5; see :func:`share_sd`).
WALLET_PARAMETERS: dict[str, float] = {
    "need_intercept": 5.5,
    "need_elasticity": 0.8,
    "share_median": 0.3,
    "share_slope": 0.6,
    "share_sd": 0.7,
}
_T = {t: i for i, t in enumerate(TRAITS)}
_DCH = {c: i for i, c in enumerate(DEAL_CHANNELS)}
_SC = {c: i for i, c in enumerate(SERVICE_CATEGORIES)}
# Goods amount per unit of deal value after the mean discount, by DEAL_CHANNELS.
_GOODS = np.where(
    np.arange(len(DEAL_CHANNELS)) == DEAL_CHANNELS.index("tender"),
    1.0 - sum(TENDER_DISCOUNT) / 2.0,
    1.0 - sum(OTHER_DISCOUNT) / 2.0,
)
# Whole units inflate small goods orders: about ``1 + (_ROUNDING / value) ** 2``.
_ROUNDING = 300.0
_ZETA, _ZETA_W = hermegauss(8)
_ZETA_W = _ZETA_W / _ZETA_W.sum()
# Gauss-Legendre nodes of the uniform(0.6, 1.2) factor on the value of a project's deals.
_U, _U_W = np.polynomial.legendre.leggauss(3)
_U = 0.9 + 0.3 * _U
_U_W = _U_W / _U_W.sum()


def share_sd(difficulty: float) -> float:
    """Return the spread of the latent share's logit: 0.3 at difficulty 0, 1.1 at 1."""
    return 0.3 + 0.8 * difficulty


def _service_prices(catalogue: Catalogue) -> FloatArray:
    """Mean price of one unit of each service category (its products drawn uniformly)."""
    return np.array(
        [
            float(np.mean(np.exp(catalogue.log_price[idx] + SERVICE_PRICE_SD**2 / 2.0)))
            for idx in catalogue.service_products
        ]
    )


def _services(v: FloatArray, logit0: FloatArray, boost: FloatArray, forced: int, price: Any) -> Any:
    """Expected amount of the service lines of a deal of value `v` (any shape, broadcast)."""
    lv = np.log(v)
    total = np.zeros_like(v)
    for c, name in enumerate(SERVICE_CATEGORIES):
        p = sigmoid(logit0 + SERVICE_A[c] + SERVICE_B[c] * (lv - 9.0) + boost[c])
        if c == forced:
            p = np.ones_like(v)
        if name in ("insurance", "credit"):
            amount = price[c] + SERVICE_TERMS[c] * v
        elif name in ("lifting", "logistics"):
            amount = (1.0 + np.minimum(v / SERVICE_TERMS[c], SERVICE_CAPS[c])) * price[c]
        else:  # hours
            amount = (4.0 + v / SERVICE_TERMS[c]) * math.exp(HOURS_SD**2 / 2.0) * price[c]
        total = total + p * amount
    return total


def _log1p_poisson(mean: FloatArray) -> FloatArray:
    """Return E[log1p(N)] for N Poisson with `mean` (exact sum over the bulk of the mass)."""
    top = int(
        np.ceil(float(mean.max(initial=0.0)) + 12.0 * math.sqrt(float(mean.max(initial=0.0)) + 1.0))
    )
    k = np.arange(top + 1, dtype=np.float64)
    out = np.zeros_like(mean)
    for lo in range(0, mean.shape[0], 20_000):
        chunk = mean[lo : lo + 20_000]
        out[lo : lo + 20_000] = poisson.pmf(k[None, :], chunk[:, None]) @ np.log1p(k)
    return out


@attrs.frozen
class _Kind:
    """Deals of one kind: who places them, at what yearly rate, and how they are priced."""

    org: npt.NDArray[np.int64]
    rate: FloatArray
    log_value: FloatArray
    value_sd: float
    uniform: bool
    channel: npt.NDArray[np.int64]
    stage: int
    goods: bool
    boost: FloatArray
    forced: int


def _reach() -> FloatArray:
    """Chance that a reference project reaches each stage (cancellation at the reference rates)."""
    exposure = cancellation_rates() / 365.25 * STAGE_MEDIANS * np.exp(STAGE_SIGMAS**2 / 2.0)
    return np.concatenate([[1.0], np.exp(-np.cumsum(exposure))[:-1]])


def _project_kinds(
    org: npt.NDArray[np.int64],
    rate: FloatArray,
    log_value: FloatArray,
    value_sd: float,
    p_tender: FloatArray,
) -> list[_Kind]:
    """The deals of projects of `log_value` started at `rate` a year (see ``_projects``)."""
    reach = _reach()
    none = np.zeros(len(SERVICE_CATEGORIES))
    goods_boost = none.copy()
    goods_boost[[_SC["insurance"], _SC["credit"], _SC["lifting"]]] = 1.0
    delivery_boost = none.copy()
    delivery_boost[_SC["logistics"]] = 1.0
    rep = np.full(org.shape[0], _DCH["sales_rep"])
    tender = np.full(org.shape[0], _DCH["tender"])
    out = []
    for share, prob, stage, goods, boost, forced, channel, weight in (
        (0.03, 0.2, 0, False, none, _SC["design"], rep, 1.0),
        (0.75, 1.0, 2, True, goods_boost, -1, tender, p_tender),
        (0.75, 1.0, 2, True, goods_boost, -1, rep, 1.0 - p_tender),
        (0.05, 0.55, 3, False, delivery_boost, _SC["lifting"], rep, 1.0),
        (0.04, 0.45, 4, False, none, _SC["installation"], rep, 1.0),
    ):
        out.append(
            _Kind(
                org=org,
                rate=rate * prob * reach[stage] * weight,
                log_value=log_value + math.log(share),
                value_sd=value_sd,
                uniform=True,
                channel=channel,
                stage=stage,
                goods=goods,
                boost=boost,
                forced=forced,
            )
        )
    return out


def expected_spend(
    orgs: Columns,
    catalogue: Catalogue,
    wins: WinModel,
    org_effect: FloatArray,
    *,
    end: int,
    partner_projects: Columns,
    partner_deals: Columns,
) -> FloatArray:
    """Return each organisation's expected yearly won spend, from its traits and the rules.

    Ordinary deals (rate, channel mix, lognormal value, goods after discount and rounding to whole
    units, expected service lines, win probability given the amount relative to the
    organisation's usual order and its expected touchpoints) and project deals (project rate, the
    share of the project's value each stage orders, the chance the project gets that far) are
    integrated by quadrature over the value noise; the deal effect of the win logit is integrated
    with the probit approximation. The joint projects and orders of partner episodes
    (`partner_projects`, `partner_deals`) add their expected spend spread over the organisation's
    years up to `end`.
    """
    t = orgs["traits"]
    n = t.shape[0]
    every = np.arange(n)
    segment = orgs["segment"]
    lov = t[:, _T["log_order_value"]]
    p_portal = 0.9 * sigmoid(t[:, _T["portal_logit"]] - 0.3)
    mix = np.concatenate(
        [p_portal[:, None], (1.0 - p_portal)[:, None] * CHANNEL_WEIGHTS[segment]], 1
    )
    order_rate = ORDER_SCALE * np.exp(t[:, _T["log_order_rate"]])
    project_rate = np.exp(t[:, _T["log_project_rate"]])
    p_tender = np.where(segment == 1, 0.6, 0.35)
    none = np.zeros(len(SERVICE_CATEGORIES))
    years = np.maximum((end - orgs["created"]) / (365.25 * DAY), 1.0 / 365.25)

    kinds = [
        _Kind(
            org=every,
            rate=order_rate * mix[:, c],
            log_value=lov + math.log(VALUE_MULTIPLIERS[c]),
            value_sd=0.7,
            uniform=False,
            channel=np.full(n, c),
            stage=-1,
            goods=True,
            boost=none,
            forced=-1,
        )
        for c in range(len(DEAL_CHANNELS))
    ]
    kinds += _project_kinds(every, project_rate, lov + 2.0, 0.6, p_tender)
    po = partner_projects["org"]
    kinds += _project_kinds(
        po, 1.0 / years[po], np.log(partner_projects["value"]), 0.0, p_tender[po]
    )
    do = partner_deals["org"]
    kinds.append(
        _Kind(
            org=do,
            rate=1.0 / years[do],
            log_value=np.log(np.maximum(partner_deals["value"], 20.0)),
            value_sd=0.0,
            uniform=False,
            channel=partner_deals["channel"],
            stage=-1,
            goods=True,
            boost=none,
            forced=-1,
        )
    )

    # Touchpoints in 90 days: everyday personal contact, the opening mails and calls of ordinary
    # deals, and the conversation of projects.
    by_stage = np.array([5.0 * 0.85, 2.0, 3.0 * 0.6, 1.5 * 0.8, 1.5 * 0.7])
    per_project = float((by_stage * np.exp(STAGE_SIGMAS**2 / 2.0) * _reach()).sum())
    personal = INTERACTION_SCALE * 0.95 * np.exp(t[:, _T["log_contact_rate"]])
    personal += order_rate * (mix[:, _DCH["tender"]] + 0.6 * mix[:, _DCH["sales_rep"]])
    personal += project_rate * (per_project + 0.12 + p_tender + 0.6 * (1 - p_tender) + 0.6)
    touch = _log1p_poisson(personal * 90.0 / 365.25)

    # The organisation's usual log amount: the rate-weighted mean over its own kinds.
    own = [k for k in kinds if k.org is every]
    weights = np.column_stack([k.rate for k in own])
    usual_each = np.column_stack(
        [k.log_value + (np.log(_GOODS[k.channel]) if k.goods else 0.0) for k in own]
    )
    usual = (weights * usual_each).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    fixed = (
        wins.touch * (touch - math.log1p(3.0))
        + wins.trait * t[:, _T["contract_logit"]]
        + wins.org_sd * org_effect
    )
    price = _service_prices(catalogue)
    service0 = t[:, _T["service_logit"]]
    total = np.zeros(n)
    for kind in kinds:
        total += np.bincount(
            kind.org,
            weights=kind.rate * _mean_won(kind, wins, usual, fixed, service0, price),
            minlength=n,
        )
    return np.asarray(total, dtype=np.float64)


def _mean_won(
    kind: _Kind,
    wins: WinModel,
    usual: FloatArray,
    fixed: FloatArray,
    service0: FloatArray,
    price: FloatArray,
) -> FloatArray:
    """Return the expected won amount of one deal of `kind` per row, by quadrature."""
    org = kind.org
    zeta, zeta_w = (_ZETA, _ZETA_W) if kind.value_sd > 0 else (np.zeros(1), np.ones(1))
    u, u_w = (_U, _U_W) if kind.uniform else (np.ones(1), np.ones(1))
    v = np.exp(kind.log_value[:, None, None] + kind.value_sd * zeta[None, :, None])
    v = np.maximum(v * u[None, None, :], 20.0)
    amount = _services(v, service0[org][:, None, None], kind.boost, kind.forced, price)
    if kind.goods:
        amount = amount + _GOODS[kind.channel][:, None, None] * v * (1.0 + (_ROUNDING / v) ** 2)
    stage = wins.stage[kind.stage] if kind.stage >= 0 else 0.0
    logit = (
        wins.channel[kind.channel][:, None, None]
        + stage
        + wins.amount * (np.log(amount) - usual[org][:, None, None])
        + fixed[org][:, None, None]
    )
    shrink = 1.0 / math.sqrt(1.0 + math.pi * wins.deal_sd**2 / 8.0)
    weight = zeta_w[None, :, None] * u_w[None, None, :]
    return np.asarray(
        (amount * sigmoid(logit * shrink) * weight).sum(axis=(1, 2)), dtype=np.float64
    )


def need(orgs: Columns) -> FloatArray:
    """Return the typical yearly need of a firm of each organisation's size and industry."""
    p = WALLET_PARAMETERS
    log_need = (
        p["need_intercept"]
        + INDUSTRY_NEED[orgs["industry"]]
        + p["need_elasticity"] * np.log1p(orgs["employees"].astype(np.float64))
    )
    return np.asarray(np.exp(log_need), dtype=np.float64)


def plant_wallets(
    rng: np.random.Generator,
    orgs: Columns,
    catalogue: Catalogue,
    wins: WinModel,
    org_effect: FloatArray,
    *,
    end: int,
    partner_projects: Columns,
    partner_deals: Columns,
    difficulty: float,
) -> Columns:
    """Draw each organisation's share and return its expected spend, share and wallet."""
    p = WALLET_PARAMETERS
    spend = expected_spend(
        orgs,
        catalogue,
        wins,
        org_effect,
        end=end,
        partner_projects=partner_projects,
        partner_deals=partner_deals,
    )
    eps = rng.standard_normal(spend.shape[0])
    logit = (
        math.log(p["share_median"] / (1.0 - p["share_median"]))
        + p["share_slope"] * (np.log(spend) - np.log(need(orgs)))
        + share_sd(difficulty) * eps
    )
    share = sigmoid(logit)
    return {"expected_spend": spend, "share": share, "wallet": spend / share}
