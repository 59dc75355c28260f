"""Organisations, holdings, contacts and the product catalogue of the synthetic client base.

All functions work on integer codes and int64-nanosecond times held in plain dicts of numpy arrays
("columns"); strings are only assembled for the few columns that need them, by whole-array
operations.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from b2bclient.base._schema import SERVICE_CATEGORIES
from b2bclient.datasets._calendar import DAY, floor_seconds
from b2bclient.datasets._segments import SEGMENT_WEIGHTS, TRAIT_MEANS, TRAIT_SDS, noise_scale
from b2bclient.datasets._vocabulary import (
    FIRST_NAMES,
    GOODS_CATEGORIES,
    INDUSTRY_WEIGHTS,
    INDUSTRY_WORDS,
    LAST_NAMES,
    LEGAL_FORM_WEIGHTS,
    LEGAL_FORMS,
    NAME_PREFIXES,
    NAME_SUFFIXES,
    PHONE_AREAS,
    REGION_WEIGHTS,
    SERVICES,
)

__all__ = [
    "Catalogue",
    "Columns",
    "make_catalogue",
    "make_contacts",
    "make_organisations",
    "pick",
    "size_band_codes",
]

Columns = dict[str, npt.NDArray[Any]]

# Industry x segment boosts of the industry mix (rows SEGMENTS, columns INDUSTRIES).
_INDUSTRY_BOOST = np.ones((5, 10))
_INDUSTRY_BOOST[1, [0, 7, 8]] = (2.2, 1.6, 1.3)
_INDUSTRY_BOOST[2, [6, 9, 4]] = (1.6, 1.3, 1.2)
_INDUSTRY_BOOST[4, [8, 7, 2]] = (1.6, 1.3, 1.2)
_INDUSTRY_BOOST[0, [1, 2, 3]] = (1.4, 1.3, 1.3)
# Revenue per employee (log offset) by industry.
_REVENUE_OFFSET = np.array([0.0, 0.35, 0.4, 0.45, 0.1, -0.1, 0.25, 0.6, 0.15, 0.1])
_SIZE_EDGES = np.array([10, 50, 250, 1000])


def pick(rng: np.random.Generator, weights: npt.NDArray[np.float64], size: int) -> Any:
    """Draw `size` codes from the (unnormalised) `weights`."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.shape[0], size=size, p=p / p.sum())


def size_band_codes(employees: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the code of the size band (micro .. enterprise) of each head count."""
    return np.searchsorted(_SIZE_EDGES, employees, side="right").astype(np.int64)


def _choice_rows(rng: np.random.Generator, probs: npt.NDArray[np.float64]) -> Any:
    """Draw one code per row of a row-stochastic matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def make_organisations(
    rng: np.random.Generator,
    n: int,
    *,
    start: int,
    end: int,
    landmark: int,
    difficulty: float,
) -> Columns:
    """Draw segments, traits, firmographics, holdings and creation times of `n` organisations."""
    segment = pick(rng, SEGMENT_WEIGHTS, n).astype(np.int64)
    traits = TRAIT_MEANS[segment] + rng.standard_normal((n, TRAIT_MEANS.shape[1])) * (
        TRAIT_SDS * noise_scale(difficulty)
    )
    industry = _choice_rows(rng, np.asarray(INDUSTRY_WEIGHTS)[None, :] * _INDUSTRY_BOOST[segment])
    region = pick(rng, np.asarray(REGION_WEIGHTS), n).astype(np.int64)
    employees = np.clip(np.rint(np.exp(traits[:, 0])), 1, 250_000).astype(np.int64)
    revenue = employees * np.exp(
        np.log(160_000.0) + _REVENUE_OFFSET[industry] + 0.45 * rng.standard_normal(n)
    )
    revenue = np.round(revenue, -3)
    revenue[rng.random(n) < 0.08] = np.nan

    # Most clients were already there when the CRM started, the rest arrive over the span.
    span = end - start
    kind = pick(rng, np.array([0.45, 0.40, 0.15]), n)
    first_months = start + rng.random(n) * min(120 * DAY, span / 4)
    before = start + rng.random(n) * (landmark - start)
    after = landmark + rng.random(n) * (end - landmark)
    created = floor_seconds(np.select([kind == 0, kind == 1], [first_months, before], after))

    prefix = rng.integers(len(NAME_PREFIXES), size=n)
    suffix = rng.integers(len(NAME_SUFFIXES), size=n)
    legal = pick(rng, np.asarray(LEGAL_FORM_WEIGHTS), n)

    # Holdings: a few heads (larger firms more often), children under them, grandchildren under
    # children. Parents are always created no later than their children, so no cycle and no
    # dangling parent in any point-in-time view.
    parent = np.full(n, -1, dtype=np.int64)
    n_heads = max(1, round(0.03 * n))
    size_w = np.sqrt(employees.astype(np.float64))
    heads = rng.choice(n, size=n_heads, replace=False, p=size_w / size_w.sum())
    free = np.setdiff1d(np.arange(n), heads)
    free = free[rng.permutation(free.shape[0])]
    n_children, n_grand = round(0.08 * n), round(0.02 * n)
    children = free[:n_children]
    grand = free[n_children : n_children + n_grand]
    parent[children] = heads[rng.integers(n_heads, size=children.shape[0])]
    if children.shape[0]:
        parent[grand] = children[rng.integers(children.shape[0], size=grand.shape[0])]
    is_head = np.zeros(n, dtype=bool)
    is_head[heads] = np.isin(heads, parent[children])  # a head without members is no holding
    for level in (children, grand):
        created[level] = np.maximum(created[level], created[parent[level]])
        prefix[level] = prefix[parent[level]]
        suffix[level] = suffix[parent[level]]

    stem = (
        np.asarray(NAME_PREFIXES, dtype=object)[prefix]
        + np.asarray(NAME_SUFFIXES, dtype=object)[suffix]
    )
    word = np.where(is_head, "Holding", np.asarray(INDUSTRY_WORDS, dtype=object)[industry])
    legal_word = np.where(
        is_head & (legal != 1) & (legal != 4),
        "AG",
        np.asarray(LEGAL_FORMS, dtype=object)[legal],
    )
    name = stem + " " + word.astype(object) + " " + legal_word.astype(object)
    domain = (
        np.char.lower(stem.astype(str)).astype(object)
        + "-"
        + np.char.lower(np.asarray(INDUSTRY_WORDS)[industry]).astype(object)
        + ".example"
    )
    columns: Columns = {
        "segment": segment,
        "traits": traits,
        "industry": industry.astype(np.int64),
        "region": region,
        "employees": employees,
        "revenue": revenue,
        "parent": parent,
        "created": created,
        "name": name,
        "domain": domain,
    }
    # Number organisations in order of creation, as a CRM would.
    order = np.argsort(created, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    columns = {k: v[order] for k, v in columns.items()}
    columns["parent"] = np.where(columns["parent"] >= 0, rank[columns["parent"]], -1)
    return columns


def make_contacts(rng: np.random.Generator, orgs: Columns, *, end: int) -> Columns:
    """Draw 1-8 contacts per organisation with roles, decision makers and fake personal fields.

    The first contact (management, decision maker) is created with the organisation, so every
    interaction can fall back to it; the first two contacts share that creation time and later
    ones join over the years.
    """
    n = orgs["created"].shape[0]
    log_emp = np.log1p(orgs["employees"].astype(np.float64))
    count = np.clip(1 + rng.poisson(np.clip(0.6 * (log_emp - 1.5), 0.1, None)), 1, 8)
    org = np.repeat(np.arange(n), count)
    first = np.cumsum(count) - count
    rank = np.arange(org.shape[0]) - np.repeat(first, count)
    m = org.shape[0]
    role = pick(rng, np.array([0.30, 0.25, 0.15, 0.0, 0.20, 0.10]), m).astype(np.int64)
    role[rank == 0] = 3  # management
    role[rank == 1] = 0  # procurement
    decision = (rank == 0) | ((rank == 1) & (rng.random(m) < 0.5)) | (rng.random(m) < 0.04)
    created = orgs["created"][org].copy()
    later = rank >= 2
    created[later] += floor_seconds(rng.exponential(400.0, size=m) * DAY)[later]

    given = rng.integers(len(FIRST_NAMES), size=m)
    family = rng.integers(len(LAST_NAMES), size=m)
    given_s = np.asarray(FIRST_NAMES, dtype=object)[given]
    family_s = np.asarray(LAST_NAMES, dtype=object)[family]
    full_name = given_s + " " + family_s
    initial = np.asarray([f[0] for f in FIRST_NAMES], dtype=object)[given]
    local = np.where(rng.random(m) < 0.7, given_s + "." + family_s, initial + "." + family_s)
    email = np.char.lower(local.astype(str)).astype(object) + "@" + orgs["domain"][org]
    area = np.asarray(PHONE_AREAS, dtype=object)[orgs["region"][org]]
    digits = rng.integers(1_000_000, 99_999_999, size=m).astype(str).astype(object)
    phone = "+49 " + area + " " + digits
    keep = created < end
    return {
        "org": org[keep],
        "rank": rank[keep],
        "role": role[keep],
        "decision": decision[keep],
        "created": created[keep],
        "full_name": full_name[keep],
        "email": email[keep],
        "phone": phone[keep],
        "count": np.bincount(org[keep], minlength=n).astype(np.int64),
    }


@attrs.frozen(eq=False)
class Catalogue:
    """The product catalogue: goods by category and services by service category."""

    name: npt.NDArray[Any]
    category: npt.NDArray[Any]
    is_service: npt.NDArray[np.bool_]
    log_price: npt.NDArray[np.float64]
    goods_start: npt.NDArray[np.int64]
    goods_count: npt.NDArray[np.int64]
    service_products: tuple[npt.NDArray[np.int64], ...]


def make_catalogue() -> Catalogue:
    """Build the catalogue; it is the same for every seed."""
    rng = np.random.default_rng(20_200_101)
    names: list[str] = []
    categories: list[str] = []
    prices: list[float] = []
    starts: list[int] = []
    counts: list[int] = []
    for category, noun, log_price, specs in GOODS_CATEGORIES:
        starts.append(len(names))
        for spec in specs:
            base = log_price + 0.3 * float(rng.standard_normal())
            for grade, lift in (("standard", 0.0), ("premium", 0.45)):
                names.append(f"{noun} {spec}, {grade}")
                categories.append(category)
                prices.append(base + lift)
        counts.append(len(names) - starts[-1])
    n_goods = len(names)
    for category, service_name, log_price, _unit in SERVICES:
        names.append(service_name)
        categories.append(category)
        prices.append(log_price)
    service_category = np.asarray(categories[n_goods:], dtype=object)
    return Catalogue(
        name=np.asarray(names, dtype=object),
        category=np.asarray(categories, dtype=object),
        is_service=np.arange(len(names)) >= n_goods,
        log_price=np.asarray(prices, dtype=np.float64),
        goods_start=np.asarray(starts, dtype=np.int64),
        goods_count=np.asarray(counts, dtype=np.int64),
        service_products=tuple(
            (n_goods + np.flatnonzero(service_category == c)).astype(np.int64)
            for c in SERVICE_CATEGORIES
        ),
    )
