"""Deals with lines, interactions and contracts of the synthetic client base.

Every table is drawn for the whole span ``[created_at, end)`` of each organisation; churn cuts the
rows afterwards (see :mod:`b2bclient.datasets._churn`). Rows are integer codes and int64-nanosecond
times in dicts of numpy arrays; no Python loop runs over organisations or rows. Projects live in
:mod:`b2bclient.datasets._projects`; whether a deal is won is decided in
:mod:`b2bclient.datasets._winning`, once the rows it depends on exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, SERVICE_CATEGORIES
from b2bclient.datasets._calendar import DAY, HOUR, NAT, SECOND, Calendar, floor_seconds
from b2bclient.datasets._firms import Catalogue, Columns, _choice_rows, pick
from b2bclient.datasets._segments import CHANNEL_WEIGHTS, CONTRACT_KIND_WEIGHTS, TRAITS
from b2bclient.datasets._vocabulary import INDUSTRY_FAVOURITES

__all__ = [
    "CLOSE_MEDIAN_DAYS",
    "CLOSE_SIGMAS",
    "HOURS_SD",
    "KINDS",
    "OTHER_DISCOUNT",
    "SERVICE_A",
    "SERVICE_B",
    "SERVICE_CAPS",
    "SERVICE_PRICE_SD",
    "SERVICE_TERMS",
    "TENDER_DISCOUNT",
    "VALUE_MULTIPLIERS",
    "assign_contacts",
    "channel_kind_defaults",
    "concat_columns",
    "deal_interactions",
    "make_contracts",
    "make_deals",
    "org_interactions",
    "regular_deal_specs",
    "sigmoid",
    "spread",
]

Array = npt.NDArray[Any]

KINDS: tuple[str, ...] = (
    "login",
    "page_view",
    "quote_request",
    "document",
    "order_tracking",
    "download",
    "webinar",
    "contact_form",
    "email_in",
    "email_out",
    "newsletter_click",
    "call",
    "meeting",
    "visit",
    "site_visit",
    "ticket",
    "edi_message",
    "order",
    "tender_document",
)
_K = {k: i for i, k in enumerate(KINDS)}
_CH = {c: i for i, c in enumerate(CHANNELS)}
_DCH = {c: i for i, c in enumerate(DEAL_CHANNELS)}
_T = {t: i for i, t in enumerate(TRAITS)}

# Deals by channel (portal, sales_rep, tender, edi, other).
#: Time from creation to closing: lognormal with this median in days and sigma of the log.
CLOSE_MEDIAN_DAYS = np.array([0.2, 12.0, 40.0, 0.05, 5.0])
CLOSE_SIGMAS = np.array([1.0, 0.8, 0.5, 0.8, 0.9])
#: Value of an ordinary deal relative to the organisation's order value, by channel.
VALUE_MULTIPLIERS = np.array([0.55, 1.2, 3.0, 0.8, 0.9])
# Service lines by SERVICE_CATEGORIES (insurance, credit, logistics, design, installation,
# lifting): logit offset and slope on the log of the order value (lifting goes with big orders).
SERVICE_A = np.array([-2.7, -3.1, -1.0, -2.9, -1.8, -2.3])
SERVICE_B = np.array([0.6, 0.4, 0.2, 0.3, 0.4, 0.9])
#: How a service line is priced from the deal's value ``v``, by SERVICE_CATEGORIES: insurance and
#: credit cost a unit price plus this share of ``v``; lifting and logistics take 1 + Poisson(v /
#: this value, capped) units; design and installation take about 4 + v / this value hours.
SERVICE_TERMS = np.array([0.004, 0.012, 25_000.0, 4_000.0, 1_500.0, 40_000.0])
SERVICE_CAPS = np.array([0.0, 0.0, 30.0, 0.0, 0.0, 20.0])
#: Spread of a service's unit price around the catalogue price, and of the hours.
SERVICE_PRICE_SD = 0.15
HOURS_SD = 0.4
#: Discount on goods lines: uniform on this range for tenders, on the other for other deals.
TENDER_DISCOUNT = (0.05, 0.2)
OTHER_DISCOUNT = (0.0, 0.12)

# Rates per organisation and year (before the trait), calibrated for the row volume.
ORDER_SCALE = 0.55
INTERACTION_SCALE = 0.32


def sigmoid(x: Array) -> npt.NDArray[np.float64]:
    """Return the logistic function of `x`."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64))), dtype=np.float64)


def concat_columns(parts: list[Columns]) -> Columns:
    """Concatenate column dicts that share their keys."""
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def spread(rng: np.random.Generator, rate: Array, lo: Array, hi: Array, cal: Calendar) -> Any:
    """Draw a Poisson number of events per owner at `rate` per year and their times in [lo, hi)."""
    ok = hi > lo
    mass = np.where(ok, cal.mass(lo, np.where(ok, hi, lo)), 0.0)
    k = rng.poisson(rate * mass / 365.25)
    owner = np.repeat(np.arange(k.shape[0]), k)
    return owner, cal.sample(rng, lo[owner], hi[owner])


# ------------------------------------------------------------------------------------------ deals


def regular_deal_specs(
    rng: np.random.Generator, orgs: Columns, *, end: int, cal: Calendar
) -> Columns:
    """Draw the day-to-day orders and quotes of each organisation, seasonally."""
    traits = orgs["traits"]
    rate = ORDER_SCALE * np.exp(traits[:, _T["log_order_rate"]])
    owner, created = spread(rng, rate, orgs["created"], np.full_like(orgs["created"], end), cal)
    k = owner.shape[0]
    seg = orgs["segment"]
    p_portal = 0.9 * sigmoid(traits[:, _T["portal_logit"]] - 0.3)
    probs = np.concatenate([p_portal[:, None], (1.0 - p_portal)[:, None] * CHANNEL_WEIGHTS[seg]], 1)
    channel = _choice_rows(rng, probs[owner]).astype(np.int64)
    value = np.exp(traits[owner, _T["log_order_value"]] + 0.7 * rng.standard_normal(k))
    return {
        "org": owner.astype(np.int64),
        "project": np.full(k, -1, dtype=np.int64),
        "created": created,
        "channel": channel,
        "value": value * VALUE_MULTIPLIERS[channel],
        "stage": np.full(k, -1, dtype=np.int64),
        "extra_lines": np.where(channel == _DCH["tender"], 1, 0).astype(np.int64),
        "goods": np.ones(k, dtype=bool),
        "forced_service": np.full(k, -1, dtype=np.int64),
        "forced_category": np.full(k, -1, dtype=np.int64),
        "boost": np.zeros((k, len(SERVICE_CATEGORIES))),
    }


def make_deals(
    rng: np.random.Generator,
    specs: Columns,
    orgs: Columns,
    catalogue: Catalogue,
    *,
    end: int,
) -> tuple[Columns, Columns]:
    """Turn deal specs into deals (closing time, amount) and their lines.

    Goods lines come from the organisation's industry favourites most of the time; service lines
    (insurance, credit, logistics, design, installation, lifting) are drawn per deal with a
    probability rising with the organisation's service propensity and the order value. The status
    is left undecided: ``deals["u_status"]`` holds the uniform draw that
    :func:`~b2bclient.datasets._winning.decide_status` compares with the deal's win probability.
    """
    m = specs["org"].shape[0]
    org = specs["org"]
    channel = specs["channel"]
    lag = np.exp(
        np.log(CLOSE_MEDIAN_DAYS[channel]) + CLOSE_SIGMAS[channel] * rng.standard_normal(m)
    )
    closed = specs["created"] + floor_seconds(lag * DAY) + SECOND
    u_status = rng.random(int(m))
    value = np.maximum(specs["value"], 20.0)
    log_value = np.log(value)
    discount = np.where(
        channel == _DCH["tender"], rng.uniform(*TENDER_DISCOUNT, m), rng.uniform(*OTHER_DISCOUNT, m)
    )

    # Goods lines: the value is split over the lines with gamma weights.
    n_goods = np.where(specs["goods"], 1 + rng.poisson(0.55, m) + specs["extra_lines"], 0)
    g_deal = np.repeat(np.arange(m), n_goods)
    g_first = np.cumsum(n_goods) - n_goods
    g_rank = np.arange(g_deal.shape[0]) - np.repeat(g_first, n_goods)
    weight = rng.gamma(2.0, size=g_deal.shape[0])
    share = weight / np.bincount(g_deal, weights=weight, minlength=m)[g_deal]
    industry = orgs["industry"][org[g_deal]]
    category = _goods_categories(rng, industry)
    forced = specs["forced_category"][g_deal]
    category = np.where((g_rank == 0) & (forced >= 0), forced, category)
    product = catalogue.goods_start[category] + np.floor(
        rng.random(g_deal.shape[0]) * catalogue.goods_count[category]
    ).astype(np.int64)
    unit = np.exp(catalogue.log_price[product]) * np.exp(0.05 * rng.standard_normal(product.shape))
    quantity = np.maximum(np.rint(value[g_deal] * share / unit), 1.0)
    amount = np.round(quantity * unit * (1.0 - discount[g_deal]), 2)

    # Service lines.
    service_logit = orgs["traits"][org, _T["service_logit"]]
    s_parts: list[tuple[Array, Array, Array, Array]] = []
    for c, _category in enumerate(SERVICE_CATEGORIES):
        logit = service_logit + SERVICE_A[c] + SERVICE_B[c] * (log_value - 9.0)
        logit = logit + specs["boost"][:, c]
        has = (rng.random(m) < sigmoid(logit)) | (specs["forced_service"] == c)
        idx = np.flatnonzero(has)
        choices = catalogue.service_products[c]
        prod = choices[rng.integers(choices.shape[0], size=idx.shape[0])]
        base = np.exp(
            catalogue.log_price[prod] + SERVICE_PRICE_SD * rng.standard_normal(idx.shape[0])
        )
        v = value[idx]
        qty: Array
        amt: Array
        if SERVICE_CATEGORIES[c] in ("insurance", "credit"):
            qty = np.ones(idx.shape[0])
            amt = base + SERVICE_TERMS[c] * v
        elif SERVICE_CATEGORIES[c] in ("lifting", "logistics"):
            qty = 1.0 + rng.poisson(np.minimum(v / SERVICE_TERMS[c], SERVICE_CAPS[c]))
            amt = qty * base
        else:  # design, installation: hours
            scale = SERVICE_TERMS[c]
            qty = np.maximum(
                np.rint(np.exp(np.log(4.0 + v / scale) + HOURS_SD * rng.normal(size=v.shape))), 1
            )
            amt = qty * base
        s_parts.append((idx.astype(np.int64), prod, qty.astype(np.float64), np.round(amt, 2)))

    line_deal = np.concatenate([g_deal] + [p[0] for p in s_parts])
    line_product = np.concatenate([product] + [p[1] for p in s_parts])
    line_qty = np.concatenate([quantity] + [p[2] for p in s_parts])
    line_amount = np.concatenate([amount] + [p[3] for p in s_parts])
    order = np.argsort(line_deal, kind="stable")
    line_deal = line_deal[order]
    counts = np.bincount(line_deal, minlength=m)
    first = np.cumsum(counts) - counts
    line_no = np.arange(line_deal.shape[0]) - first[line_deal] + 1
    lines = {
        "deal": line_deal,
        "line_no": line_no.astype(np.int64),
        "product": line_product[order],
        "quantity": line_qty[order],
        "amount": line_amount[order],
    }
    deals: Columns = {
        "org": org,
        "project": specs["project"],
        "stage": specs["stage"],
        "created": specs["created"],
        "closed": closed,
        "u_status": u_status,
        "channel": channel,
        "amount": np.bincount(line_deal, weights=lines["amount"], minlength=m),
    }
    return deals, lines


def _goods_categories(rng: np.random.Generator, industry: Array) -> Any:
    """Draw a goods category per line: an industry favourite 75% of the time, else any."""
    n_fav = np.array([len(f) for f in INDUSTRY_FAVOURITES])
    table = np.zeros((len(INDUSTRY_FAVOURITES), n_fav.max()), dtype=np.int64)
    for i, fav in enumerate(INDUSTRY_FAVOURITES):
        table[i, : len(fav)] = fav
    k = industry.shape[0]
    fav_pick = table[industry, np.floor(rng.random(k) * n_fav[industry]).astype(np.int64)]
    n_categories = int(table.max()) + 1
    return np.where(rng.random(k) < 0.75, fav_pick, rng.integers(n_categories, size=k))


# ------------------------------------------------------------------------------------ interactions


def channel_kind_defaults() -> npt.NDArray[np.int64]:
    return np.array(
        [
            _K["login"],
            _K["page_view"],
            _K["email_in"],
            _K["call"],
            _K["meeting"],
            _K["ticket"],
            _K["edi_message"],
        ],
        dtype=np.int64,
    )


def org_interactions(
    rng: np.random.Generator, orgs: Columns, *, end: int, cal: Calendar
) -> Columns:
    """Draw the everyday touchpoints of each organisation by channel."""
    traits = orgs["traits"]
    n = traits.shape[0]
    contact = np.exp(traits[:, _T["log_contact_rate"]])
    rates = (
        ("portal", 24.0 * sigmoid(traits[:, _T["portal_logit"]]) ** 2),
        ("web", 3.0 * np.exp(0.6 * rng.standard_normal(n))),
        ("email", 0.55 * contact),
        ("phone", 0.3 * contact),
        ("meeting", 0.1 * contact),
        ("support", np.exp(traits[:, _T["log_ticket_rate"]])),
    )
    kinds: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
        "portal": (("login", "page_view", "document", "order_tracking"), (0.45, 0.33, 0.1, 0.12)),
        "web": (("page_view", "download", "webinar", "contact_form"), (0.7, 0.15, 0.05, 0.1)),
        "email": (("email_in", "email_out", "newsletter_click"), (0.45, 0.45, 0.1)),
        "phone": (("call",), (1.0,)),
        "meeting": (("meeting", "visit"), (0.6, 0.4)),
        "support": (("ticket",), (1.0,)),
    }
    hi = np.full(n, end, dtype=np.int64)
    parts: list[Columns] = []
    for name, rate in rates:
        scale = 1.0 if name == "support" else INTERACTION_SCALE
        owner, t = spread(rng, scale * rate, orgs["created"], hi, cal)
        k = owner.shape[0]
        names, probs = kinds[name]
        kind = np.asarray([_K[x] for x in names])[pick(rng, np.asarray(probs), k)]
        wants = np.ones(k, dtype=bool) if name != "web" else rng.random(k) < 0.3
        parts.append(
            {
                "org": owner.astype(np.int64),
                "t": t,
                "channel": np.full(k, _CH[name], dtype=np.int64),
                "kind": kind.astype(np.int64),
                "project": np.full(k, -1, dtype=np.int64),
                "wants_contact": wants,
            }
        )
    return concat_columns(parts)


def deal_interactions(rng: np.random.Generator, deals: Columns) -> Columns:
    """Derive the touchpoint that opens each deal: a portal order, an EDI message, a mail or call.

    The touchpoint never depends on how the deal will end: a portal deal opens with an ``order``
    whether it is later fulfilled (won) or rejected (lost).
    """
    channel = deals["channel"]
    m = channel.shape[0]
    portal = channel == _DCH["portal"]
    edi = channel == _DCH["edi"]
    rep = channel == _DCH["sales_rep"]
    tender = channel == _DCH["tender"]
    keep = portal | edi | tender | (rep & (rng.random(m) < 0.6))
    call = rng.random(m) < 0.4
    i_channel = np.select(
        [portal, edi, tender, call],
        [_CH["portal"], _CH["edi"], _CH["email"], _CH["phone"]],
        _CH["email"],
    )
    i_kind = np.select(
        [portal, edi, tender, call],
        [_K["order"], _K["edi_message"], _K["tender_document"], _K["call"]],
        _K["email_out"],
    )
    idx = np.flatnonzero(keep)
    return {
        "org": deals["org"][idx],
        "t": deals["created"][idx],
        "channel": i_channel[idx].astype(np.int64),
        "kind": i_kind[idx].astype(np.int64),
        "project": deals["project"][idx],
        "wants_contact": ~edi[idx],
    }


def assign_contacts(
    rng: np.random.Generator, interactions: Columns, contacts: Columns
) -> npt.NDArray[np.int64]:
    """Pick a contact known at the time of each interaction that wants one (-1 otherwise).

    A random contact of the organisation is drawn; if it joined after the interaction, the first
    contact (created with the organisation) takes its place.
    """
    org = interactions["org"]
    count = contacts["count"]
    first = np.cumsum(count) - count
    k = np.floor(rng.random(org.shape[0]) * count[org]).astype(np.int64)
    idx = first[org] + k
    idx = np.where(contacts["created"][idx] <= interactions["t"], idx, first[org])
    return np.where(interactions["wants_contact"], idx, -1).astype(np.int64)


# --------------------------------------------------------------------------------------- contracts


def make_contracts(rng: np.random.Generator, orgs: Columns, *, end: int) -> Columns:
    """Draw framework, supply and service contracts with renewals and cancellations.

    A renewal starts exactly when the contract it renews ends; a cancelled contract is not renewed.
    """
    traits = orgs["traits"]
    n = traits.shape[0]
    logit = traits[:, _T["contract_logit"]]
    holder = np.flatnonzero(rng.random(n) < sigmoid(logit))
    start = orgs["created"][holder] + floor_seconds(rng.exponential(150.0, holder.shape[0]) * DAY)
    kind = _choice_rows(rng, CONTRACT_KIND_WEIGHTS[orgs["segment"][holder]]).astype(np.int64)
    renew_p = 0.55 + 0.35 * sigmoid(logit[holder])
    yearly = np.exp(
        traits[holder, _T["log_order_value"]] + traits[holder, _T["log_order_rate"]] - 0.5
    )
    parts: list[Columns] = []
    while holder.shape[0]:
        live = start < end
        holder, start, kind = holder[live], start[live], kind[live]
        renew_p, yearly = renew_p[live], yearly[live]
        k = holder.shape[0]
        years = pick(rng, np.array([0.5, 0.3, 0.2]), k) + 1
        ends = start + years * 365 * DAY
        cancelled = start + floor_seconds(rng.random(k) * (ends - start)) + HOUR
        cancelled = np.where(rng.random(k) < 0.07, cancelled, NAT)
        cancelled = np.where(cancelled < end, cancelled, NAT)
        value = np.round(yearly * years * np.exp(0.3 * rng.standard_normal(k)), -2)
        parts.append(
            {
                "org": holder,
                "kind": kind,
                "started": start,
                "ends": ends,
                "cancelled": cancelled,
                "value": value,
            }
        )
        renew = (cancelled == NAT) & (rng.random(k) < renew_p)
        holder, start, kind = holder[renew], ends[renew], kind[renew]
        renew_p, yearly = renew_p[renew], yearly[renew]
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        return {
            "org": empty_i,
            "kind": empty_i,
            "started": empty_i,
            "ends": empty_i,
            "cancelled": empty_i,
            "value": np.zeros(0),
        }
    return concat_columns(parts)
