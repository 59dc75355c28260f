"""``make_client_base``: a realistic synthetic B2B client base with planted, known structure."""

from __future__ import annotations

import numbers
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase
from b2bclient.datasets._activity import (
    assign_contacts,
    concat_columns,
    deal_interactions,
    make_contracts,
    make_deals,
    org_interactions,
    regular_deal_specs,
    sigmoid,
)
from b2bclient.datasets._calendar import Calendar
from b2bclient.datasets._churn import (
    background_churn,
    covariates_at,
    cut_after_churn,
    draw_churn,
)
from b2bclient.datasets._firms import make_catalogue, make_contacts, make_organisations
from b2bclient.datasets._frames import build_frames
from b2bclient.datasets._partners import joint_meetings, make_relationships, plan_partners
from b2bclient.datasets._projects import (
    make_projects,
    project_covariates,
    project_deal_specs,
    project_interactions,
    project_specs,
)
from b2bclient.datasets._truth import SyntheticTruth, build_truth
from b2bclient.datasets._wallet import plant_wallets
from b2bclient.datasets._winning import deal_covariates, decide_status, win_logit, win_model

__all__ = ["make_client_base"]

_OWNER = "make_client_base"
# Times are int64 nanoseconds (datetime64[ns] ends in April 2262) and churn is drawn up to 100
# years ahead, so the span keeps clear of both ends of that range.
_EARLIEST = pd.Timestamp("1900-01-01")
_LATEST = pd.Timestamp("2150-01-01")


@overload
def make_client_base(
    n_organisations: int = ...,
    *,
    start: Any = ...,
    end: Any = ...,
    landmark: Any = ...,
    seed: int = ...,
    difficulty: float = ...,
    return_truth: Literal[False] = ...,
) -> ClientBase: ...


@overload
def make_client_base(
    n_organisations: int = ...,
    *,
    start: Any = ...,
    end: Any = ...,
    landmark: Any = ...,
    seed: int = ...,
    difficulty: float = ...,
    return_truth: Literal[True],
) -> tuple[ClientBase, SyntheticTruth]: ...


def make_client_base(
    n_organisations: int = 2_000,
    *,
    start: Any = "2020-01-01",
    end: Any = "2025-01-01",
    landmark: Any = None,
    seed: int = 0,
    difficulty: float = 0.5,
    return_truth: bool = False,
) -> ClientBase | tuple[ClientBase, SyntheticTruth]:
    """Generate a synthetic B2B client base with planted structure that models should recover.

    The base holds the ten canonical tables: organisations (industries, regions, size bands
    consistent with head count and revenue, holdings through ``parent_id``), contacts with roles
    and decision makers (fake but plausible names, e-mails under ``.example`` domains and phone
    numbers), a catalogue of goods and services (insurance, credit, logistics, design,
    installation, lifting), deals with lines (portal orders, sales-rep deals, tenders, EDI orders;
    seasonal, with quarter-end and spring peaks), long projects with ordered stages, portal, web,
    e-mail, phone, meeting, support and EDI interactions, contracts with renewals and
    cancellations, and relationships. Every event happens strictly before `end`.

    Planted, and returned in :class:`SyntheticTruth` when `return_truth` is True:

    * **segments** -- five latent segments drive size, purchase rate, order value, channel mix,
      service, project and portal propensity, support load and contracts, with overlapping
      distributions;
    * **churn** -- after a low background churn before `landmark`, each organisation known and
      alive at `landmark` churns after it following a Cox proportional hazard with a Weibull
      baseline on five features computed from the rows as of `landmark`
      (``firmographics__log_employees``, ``purchasing__orders_365d``,
      ``engagement__portal_share_365d``, ``engagement__tickets_365d``, ``contracts__active``).
      After churning an organisation places no deal and has no interaction; deals it had in
      flight are lost within 45 days, running projects and contracts are cancelled within 30
      days;
    * **partner pairs** -- supplier <-> buyer pairs of complementary industries share a region
      more often, open projects on the same site at close dates, meet on the same days (site
      visits) and the buyer orders the supplier's kind of goods; look-alikes of the same
      industries share some of these traces by chance. Some pairs are linked in
      ``relationships`` (kind ``supplier``), the hidden ones are the truth;
    * **project lifecycle** -- each stage's log-duration is linear in five covariates of the
      project taken at its creation (its expected value, the organisation's head count, projects
      and contracts) plus a Gaussian term correlated across the stages of a project, and a
      project is cancelled by a per-stage hazard on the same covariates;
      :func:`procurement_oracle` gives each active project's true distribution of the time to
      procurement;
    * **deal outcomes** -- each deal is won with a logistic probability on its channel, project
      stage, amount relative to the organisation's usual order, the organisation's recent
      touchpoints, a latent trait and latent organisation and deal effects; it closes after a
      lognormal time by channel;
    * **wallets** -- each organisation needs a yearly amount of the catalogue (its wallet, growing
      with size, industry and purchasing traits) of which it buys a latent share from us.

    `difficulty` in [0, 1] moves all of them together: at 0.5 the Bayes-optimal segment
    assignment (which sees the latent traits) reaches an adjusted Rand index of about 0.73, the
    true hazard a concordance of about 0.77 on organisations alive at `landmark` and the true win
    probabilities an AUC of about 0.84 on closed deals; lower is easier. ``docs/datasets.md``
    lists exactly what is observable and the measured figures, with each signal's ceiling.

    Parameters
    ----------
    n_organisations : int, default 2000
        Number of organisations.
    start, end : str or timestamp-like, default "2020-01-01", "2025-01-01"
        The span, at least 180 days, within 1900-01-01 .. 2150-01-01; no event happens at or
        after `end`. (A contract's scheduled ``ends_at`` may lie beyond it.)
    landmark : str or timestamp-like, optional
        When the churn covariates are taken, strictly between `start` and `end`; by default 60%
        of the way from `start` to `end`, rounded to a day.
    seed : int, default 0
        Seed of the random generator; the same seed gives identical tables.
    difficulty : float, default 0.5
        Noise of every planted signal, from 0 (clear) to 1 (faint).
    return_truth : bool, default False
        Also return the planted truth.

    Returns
    -------
    ClientBase
        The validated client base.
    SyntheticTruth
        Only when `return_truth` is True.

    Raises
    ------
    InvalidParameterError
        If a parameter is outside its domain.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base, truth = make_client_base(500, seed=3, return_truth=True)
    >>> len(base.organisations)
    500
    >>> bool((base.interactions["occurred_at"] < pd.Timestamp("2025-01-01")).all())
    True
    >>> list(truth.hazard_coefficients.index) == list(truth.covariates.columns)
    True
    """
    n, t0, t1, tl, d, seed = _check_parameters(
        n_organisations, start, end, landmark, seed, difficulty, return_truth
    )
    # New planted truth draws from streams after the first sixteen, so that those keep their draws.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(18)]
    cal_deals = Calendar(t0, t1, "deals")
    cal_inter = Calendar(t0, t1, "interactions")
    cal_flat = Calendar(t0, t1, "flat")

    orgs = make_organisations(streams[0], n, start=t0, end=t1, landmark=tl, difficulty=d)
    contacts = make_contacts(streams[1], orgs, end=t1)
    catalogue = make_catalogue()
    plan = plan_partners(streams[2], orgs, end=t1, difficulty=d)
    contracts = make_contracts(streams[13], orgs, end=t1)

    ordinary = project_specs(streams[3], orgs, end=t1, cal=cal_flat)
    offset = ordinary["org"].shape[0]
    specs = concat_columns([ordinary, plan.project_specs])
    x_projects = project_covariates(specs, orgs, contracts)
    projects, stages = make_projects(streams[4], specs, x_projects, end=t1, difficulty=d)
    projects["x"] = x_projects
    deal_specs = concat_columns(
        [
            regular_deal_specs(streams[5], orgs, end=t1, cal=cal_deals),
            project_deal_specs(streams[6], orgs, projects, end=t1),
            plan.deal_specs,
        ]
    )
    deals, lines = make_deals(streams[7], deal_specs, orgs, catalogue, end=t1)
    interactions = concat_columns(
        [
            org_interactions(streams[8], orgs, end=t1, cal=cal_inter),
            project_interactions(streams[9], projects, end=t1, cal=cal_inter),
            deal_interactions(streams[10], deals),
            joint_meetings(streams[11], plan, projects, offset, end=t1),
        ]
    )
    interactions["contact"] = assign_contacts(streams[12], interactions, contacts)
    del interactions["wants_contact"]
    relationships = make_relationships(streams[14], orgs, plan, start=t0, end=t1)

    # Deals are decided once the rows before them exist: the win logit reads them.
    wins = win_model(d)
    x_deals = deal_covariates(deals, interactions)
    org_effect = streams[16].standard_normal(n)
    deal_effect = streams[16].standard_normal(int(deals["org"].shape[0]))
    logit = win_logit(wins, deals, x_deals, orgs["traits"], org_effect, deal_effect)
    deals = decide_status(deals, sigmoid(logit), end=t1)
    deals["x"] = x_deals

    x = covariates_at(tl, orgs, deals, interactions, contracts)
    churn_rng = streams[15]
    pre = background_churn(churn_rng, orgs)
    churn, alive = draw_churn(churn_rng, orgs, x, landmark=tl, end=t1, difficulty=d, pre_churn=pre)
    tables = cut_after_churn(
        churn_rng,
        churn,
        {
            "contacts": contacts,
            "projects": projects,
            "stages": stages,
            "deals": deals,
            "lines": lines,
            "interactions": interactions,
            "contracts": contracts,
            "relationships": relationships,
        },
        end=t1,
    )
    frames, ids = build_frames(orgs, catalogue, tables)
    base = ClientBase.from_frames(**frames)
    if not return_truth:
        return base
    return base, build_truth(
        orgs=orgs,
        ids=ids,
        plan=plan,
        churn=churn,
        alive=alive,
        x=x,
        tables=tables,
        wins=wins,
        wallets=plant_wallets(
            streams[17],
            orgs,
            catalogue,
            wins,
            org_effect,
            end=t1,
            partner_projects=plan.project_specs,
            partner_deals=plan.deal_specs,
            difficulty=d,
        ),
        landmark=tl,
        difficulty=d,
    )


def _check_parameters(
    n_organisations: Any,
    start: Any,
    end: Any,
    landmark: Any,
    seed: Any,
    difficulty: Any,
    return_truth: Any,
) -> tuple[int, int, int, int, float, int]:
    if (
        isinstance(n_organisations, bool)
        or not isinstance(n_organisations, numbers.Integral)
        or n_organisations < 1
    ):
        raise InvalidParameterError(
            f"The 'n_organisations' parameter of {_OWNER} must be a positive integer such as "
            f"2000. Got {n_organisations!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidParameterError(
            f"The 'seed' parameter of {_OWNER} must be a non-negative integer such as 0. "
            f"Got {seed!r} instead."
        )
    if (
        isinstance(difficulty, bool)
        or not isinstance(difficulty, numbers.Real)
        or not 0.0 <= float(difficulty) <= 1.0
    ):
        raise InvalidParameterError(
            f"The 'difficulty' parameter of {_OWNER} must be a number in [0, 1] such as 0.5. "
            f"Got {difficulty!r} instead."
        )
    if not isinstance(return_truth, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'return_truth' parameter of {_OWNER} must be True or False. "
            f"Got {return_truth!r} instead."
        )
    t0 = to_timestamp(start, name="start", owner=_OWNER).floor("s")
    t1 = to_timestamp(end, name="end", owner=_OWNER).floor("s")
    for name, value, t in (("start", start, t0), ("end", end, t1)):
        if not _EARLIEST <= t <= _LATEST:
            raise InvalidParameterError(
                f"The {name!r} parameter of {_OWNER} must lie between {_EARLIEST.date()} and "
                f"{_LATEST.date()}, so that every generated time fits in datetime64[ns]. "
                f"Got {value!r} instead."
            )
    if t1 - t0 < pd.Timedelta(days=180):
        raise InvalidParameterError(
            f"The 'end' parameter of {_OWNER} must lie at least 180 days after 'start' "
            f"({t0}), so that purchases, projects and churn can unfold. Got {end!r} instead."
        )
    if landmark is None:
        tl = (t0 + 0.6 * (t1 - t0)).round("D")
    else:
        tl = to_timestamp(landmark, name="landmark", owner=_OWNER).floor("s")
    if not t0 < tl < t1:
        raise InvalidParameterError(
            f"The 'landmark' parameter of {_OWNER} must lie strictly between 'start' ({t0}) and "
            f"'end' ({t1}). Got {landmark!r} instead."
        )
    ns = (int(t0.value), int(t1.value), int(tl.value))
    return int(n_organisations), ns[0], ns[1], ns[2], float(difficulty), int(seed)
