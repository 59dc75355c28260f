"""Projects with stages, deals with lines, interactions and contracts of the synthetic client base.

Every table is drawn for the whole span ``[created_at, end)`` of each organisation; churn cuts the
rows afterwards (see :mod:`b2bclient.datasets._churn`). Rows are integer codes and int64-nanosecond
times in dicts of numpy arrays; no Python loop runs over organisations or rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import CHANNELS, DEAL_CHANNELS, SERVICE_CATEGORIES, STAGES
from b2bclient.datasets._calendar import DAY, HOUR, INF, NAT, SECOND, Calendar, floor_seconds
from b2bclient.datasets._firms import Catalogue, Columns, _choice_rows, pick
from b2bclient.datasets._segments import CHANNEL_WEIGHTS, CONTRACT_KIND_WEIGHTS, TRAITS
from b2bclient.datasets._vocabulary import INDUSTRY_FAVOURITES, REGION_PLACES, SITE_OBJECTS

__all__ = [
    "KINDS",
    "STAGE_CORRELATION",
    "STAGE_MEDIANS",
    "STAGE_SIGMAS",
    "assign_contacts",
    "concat_columns",
    "deal_interactions",
    "make_contracts",
    "make_deals",
    "make_projects",
    "org_interactions",
    "project_deal_specs",
    "project_interactions",
    "project_specs",
    "regular_deal_specs",
    "sigmoid",
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

#: Per-stage lognormal durations: median in days and sigma of the log, design .. commissioning.
STAGE_MEDIANS = np.array([75.0, 110.0, 40.0, 30.0, 21.0])
STAGE_SIGMAS = np.array([0.5, 0.45, 0.4, 0.5, 0.6])
#: Correlation of the log-durations of the stages of one project (a shared project effect).
STAGE_CORRELATION = 0.4
_CANCEL_PROB = 0.12
_CANCEL_STAGE = np.array([0.35, 0.3, 0.2, 0.1, 0.05])

# Deals by channel (portal, sales_rep, tender, edi, other).
_WON_P = np.array([0.92, 0.6, 0.3, 0.97, 0.7])
_LAG_MEDIAN = np.array([0.2, 12.0, 40.0, 0.05, 5.0])
_LAG_SIGMA = np.array([1.0, 0.8, 0.5, 0.8, 0.9])
_VALUE_MULT = np.array([0.55, 1.2, 3.0, 0.8, 0.9])
# Service lines by SERVICE_CATEGORIES (insurance, credit, logistics, design, installation,
# lifting): logit offset and slope on the log of the order value (lifting goes with big orders).
_SERVICE_A = np.array([-2.7, -3.1, -1.0, -2.9, -1.8, -2.3])
_SERVICE_B = np.array([0.6, 0.4, 0.2, 0.3, 0.4, 0.9])

# Rates per organisation and year (before the trait), calibrated for the row volume.
_ORDER_SCALE = 0.55
_INTERACTION_SCALE = 0.32
_SITES_PER_REGION = len(REGION_PLACES[0]) * len(SITE_OBJECTS)


def sigmoid(x: Array) -> npt.NDArray[np.float64]:
    """Return the logistic function of `x`."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64))), dtype=np.float64)


def concat_columns(parts: list[Columns]) -> Columns:
    """Concatenate column dicts that share their keys."""
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _spread(rng: np.random.Generator, rate: Array, lo: Array, hi: Array, cal: Calendar) -> Any:
    """Draw a Poisson number of events per owner at `rate` per year and their times in [lo, hi)."""
    ok = hi > lo
    mass = np.where(ok, cal.mass(lo, np.where(ok, hi, lo)), 0.0)
    k = rng.poisson(rate * mass / 365.25)
    owner = np.repeat(np.arange(k.shape[0]), k)
    return owner, cal.sample(rng, lo[owner], hi[owner])


# --------------------------------------------------------------------------------------- projects


def project_specs(rng: np.random.Generator, orgs: Columns, *, end: int, cal: Calendar) -> Columns:
    """Draw the ordinary projects of each organisation (rate from its project propensity)."""
    traits = orgs["traits"]
    rate = np.exp(traits[:, _T["log_project_rate"]])
    owner, created = _spread(rng, rate, orgs["created"], np.full_like(orgs["created"], end), cal)
    m = owner.shape[0]
    region = np.where(rng.random(m) < 0.9, orgs["region"][owner], rng.integers(8, size=m))
    site = region * _SITES_PER_REGION + rng.integers(_SITES_PER_REGION, size=m)
    value = np.exp(traits[owner, _T["log_order_value"]] + 2.0 + 0.6 * rng.standard_normal(m))
    return {
        "org": owner.astype(np.int64),
        "created": created,
        "value": np.round(value, -2),
        "site": site.astype(np.int64),
        "scope": rng.integers(8, size=m).astype(np.int64),
    }


def make_projects(rng: np.random.Generator, specs: Columns, *, end: int) -> tuple[Columns, Columns]:
    """Draw stage durations, cancellations and status of the projects in `specs`.

    Stage ``s`` of a project lasts ``median_s * exp(sigma_s * z_s)`` days, where the ``z_s`` of one
    project are standard normal with pairwise correlation :data:`STAGE_CORRELATION`; so each stage
    duration is exactly lognormal with the median and sigma of :data:`STAGE_MEDIANS` and
    :data:`STAGE_SIGMAS`. A cancelled project stops inside a stage; that stage ends then.
    """
    m = specs["org"].shape[0]
    common = rng.standard_normal((m, 1))
    own = rng.standard_normal((m, len(STAGES)))
    z = np.sqrt(STAGE_CORRELATION) * common + np.sqrt(1.0 - STAGE_CORRELATION) * own
    dur = floor_seconds(np.exp(np.log(STAGE_MEDIANS) + STAGE_SIGMAS * z) * DAY)
    dur = np.maximum(dur, DAY)
    offset = np.concatenate([np.zeros((m, 1), dtype=np.int64), np.cumsum(dur, axis=1)[:, :-1]], 1)
    starts = specs["created"][:, None] + offset
    ends = starts + dur
    rows = np.arange(m)
    cancel_stage = pick(rng, _CANCEL_STAGE, m)
    cancel_at = starts[rows, cancel_stage] + floor_seconds(rng.random(m) * dur[rows, cancel_stage])
    cancel_at = np.where(rng.random(m) < _CANCEL_PROB, cancel_at, INF)
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
    """Derive the deals of each project: goods at procurement, services around it."""
    parts: list[Columns] = []
    segment = orgs["segment"]
    # (stage, probability, share of the project value, goods?, forced service, won probability)
    plan = (
        (0, 0.2, 0.03, False, SERVICE_CATEGORIES.index("design"), 0.8),
        (2, 1.0, 0.75, True, -1, 0.0),
        (3, 0.55, 0.05, False, SERVICE_CATEGORIES.index("lifting"), 0.85),
        (4, 0.45, 0.04, False, SERVICE_CATEGORIES.index("installation"), 0.85),
    )
    for stage, prob, share, goods, service, won in plan:
        ok, lo, hi = _stage_window(projects, stage, end=end)
        idx = np.flatnonzero(ok & (rng.random(ok.shape[0]) < prob))
        k = idx.shape[0]
        created = lo[idx] + floor_seconds(rng.random(k) * 0.3 * (hi[idx] - lo[idx]))
        org = projects["org"][idx]
        if goods:
            p_tender = np.where(segment[org] == 1, 0.6, 0.35)
            channel = np.where(rng.random(k) < p_tender, _DCH["tender"], _DCH["sales_rep"])
            won_p = np.where(channel == _DCH["tender"], 0.45, 0.65)
        else:
            channel = np.full(k, _DCH["sales_rep"])
            won_p = np.full(k, won)
        boost = np.zeros((k, len(SERVICE_CATEGORIES)))
        if goods:
            boost[:, [0, 1, 5]] += 1.0  # insurance, credit and lifting come with big orders
        else:
            boost[:, SERVICE_CATEGORIES.index("logistics")] += 1.0 if stage == 3 else 0.0
        parts.append(
            {
                "org": org,
                "project": idx.astype(np.int64),
                "created": created,
                "channel": channel.astype(np.int64),
                "value": projects["value"][idx] * share * rng.uniform(0.6, 1.2, k),
                "won_p": won_p,
                "extra_lines": np.full(k, 2 if goods else 0, dtype=np.int64),
                "goods": np.full(k, goods),
                "forced_service": np.full(k, service, dtype=np.int64),
                "forced_category": np.full(k, -1, dtype=np.int64),
                "boost": boost,
            }
        )
    return concat_columns(parts)


def project_interactions(
    rng: np.random.Generator, projects: Columns, *, end: int, cal: Calendar
) -> Columns:
    """Draw the conversation around each project stage: meetings, mails, documents, tickets."""
    # Per stage: expected count, channel weights over CHANNELS, kind of the portal touchpoints.
    plan: tuple[tuple[float, tuple[float, ...], str], ...] = (
        (5.0, (0.15, 0.0, 0.4, 0.1, 0.35, 0.0, 0.0), "document"),
        (2.0, (0.0, 0.0, 0.5, 0.3, 0.2, 0.0, 0.0), "document"),
        (3.0, (0.4, 0.0, 0.35, 0.0, 0.25, 0.0, 0.0), "quote_request"),
        (1.5, (0.0, 0.0, 0.4, 0.4, 0.0, 0.2, 0.0), "document"),
        (1.5, (0.0, 0.0, 0.2, 0.0, 0.5, 0.3, 0.0), "document"),
    )
    generic = _channel_kind_defaults()
    parts: list[Columns] = []
    for s, (lam, weights, portal_kind) in enumerate(plan):
        ok, lo, hi = _stage_window(projects, s, end=end)
        # A yearly rate that yields about `lam` touches over the observed part of the stage.
        rate = np.where(ok, lam * 365.25 / np.maximum((hi - lo) / DAY, 1.0), 0.0)
        owner, t = _spread(rng, rate, lo, np.where(ok, hi, lo), cal)
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


# ------------------------------------------------------------------------------------------ deals


def regular_deal_specs(
    rng: np.random.Generator, orgs: Columns, *, end: int, cal: Calendar
) -> Columns:
    """Draw the day-to-day orders and quotes of each organisation, seasonally."""
    traits = orgs["traits"]
    rate = _ORDER_SCALE * np.exp(traits[:, _T["log_order_rate"]])
    owner, created = _spread(rng, rate, orgs["created"], np.full_like(orgs["created"], end), cal)
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
        "value": value * _VALUE_MULT[channel],
        "won_p": _WON_P[channel],
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
    """Turn deal specs into deals (status, closing time, amount) and their lines.

    Goods lines come from the organisation's industry favourites most of the time; service lines
    (insurance, credit, logistics, design, installation, lifting) are drawn per deal with a
    probability rising with the organisation's service propensity and the order value.
    """
    m = specs["org"].shape[0]
    org = specs["org"]
    channel = specs["channel"]
    lag = np.exp(np.log(_LAG_MEDIAN[channel]) + _LAG_SIGMA[channel] * rng.standard_normal(m))
    closed = specs["created"] + floor_seconds(lag * DAY) + SECOND
    won = rng.random(m) < specs["won_p"]
    status = np.where(won, 1, 2)  # won, lost
    is_open = closed >= end
    status = np.where(is_open, 0, status).astype(np.int64)
    closed = np.where(is_open, NAT, closed)
    value = np.maximum(specs["value"], 20.0)
    log_value = np.log(value)
    discount = np.where(
        channel == _DCH["tender"], rng.uniform(0.05, 0.2, m), rng.uniform(0.0, 0.12, m)
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
        logit = service_logit + _SERVICE_A[c] + _SERVICE_B[c] * (log_value - 9.0)
        logit = logit + specs["boost"][:, c]
        has = (rng.random(m) < sigmoid(logit)) | (specs["forced_service"] == c)
        idx = np.flatnonzero(has)
        choices = catalogue.service_products[c]
        prod = choices[rng.integers(choices.shape[0], size=idx.shape[0])]
        base = np.exp(catalogue.log_price[prod] + 0.15 * rng.standard_normal(idx.shape[0]))
        v = value[idx]
        qty: Array
        amt: Array
        if SERVICE_CATEGORIES[c] in ("insurance", "credit"):
            qty = np.ones(idx.shape[0])
            amt = base + (0.004 if c == 0 else 0.012) * v
        elif SERVICE_CATEGORIES[c] == "lifting":
            qty = 1.0 + rng.poisson(np.minimum(v / 40_000.0, 20.0))
            amt = qty * base
        elif SERVICE_CATEGORIES[c] == "logistics":
            qty = 1.0 + rng.poisson(np.minimum(v / 25_000.0, 30.0))
            amt = qty * base
        else:  # design, installation: hours
            scale = 4_000.0 if SERVICE_CATEGORIES[c] == "design" else 1_500.0
            qty = np.maximum(
                np.rint(np.exp(np.log(4.0 + v / scale) + 0.4 * rng.normal(size=v.shape))), 1
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
    deals = {
        "org": org,
        "project": specs["project"],
        "created": specs["created"],
        "closed": closed,
        "status": status,
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


def _channel_kind_defaults() -> npt.NDArray[np.int64]:
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
        scale = 1.0 if name == "support" else _INTERACTION_SCALE
        owner, t = _spread(rng, scale * rate, orgs["created"], hi, cal)
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
    """Derive the touchpoint that opens each deal: a portal order, an EDI message, a mail or call."""
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
        [portal & (deals["status"] == 1), portal, edi, tender, call],
        [_K["order"], _K["quote_request"], _K["edi_message"], _K["tender_document"], _K["call"]],
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
