"""The planted truth behind a synthetic client base."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base._schema import DEAL_CHANNELS, STAGES
from b2bclient.datasets._activity import CLOSE_MEDIAN_DAYS, CLOSE_SIGMAS
from b2bclient.datasets._calendar import INF, NAT
from b2bclient.datasets._churn import FEATURES, WEIBULL_SHAPE, coefficients, weibull_scale
from b2bclient.datasets._firms import Columns
from b2bclient.datasets._partners import PartnerPlan
from b2bclient.datasets._projects import (
    PROJECT_COVARIATES,
    STAGE_CORRELATION,
    STAGE_MEDIANS,
    STAGE_SIGMAS,
    cancellation_model,
    duration_model,
    transition_model,
)
from b2bclient.datasets._segments import SEGMENTS, TRAITS, segment_parameters
from b2bclient.datasets._wallet import WALLET_PARAMETERS, share_sd
from b2bclient.datasets._winning import DEAL_COVARIATES, WinModel

__all__ = ["SyntheticTruth", "build_truth"]


@attrs.frozen(kw_only=True, eq=False)
class SyntheticTruth:
    """Structure planted by :func:`~b2bclient.datasets.make_client_base`, for checking models.

    Every signal listed here is also observable in the tables, with noise; ``docs/datasets.md``
    states exactly what is observable and the best score each signal allows (its ceiling).

    Parameters
    ----------
    segment : pandas.Series
        Latent segment of every organisation (categorical: ``key_accounts``, ``project_builders``,
        ``portal_self_service``, ``occasional_buyers``, ``service_heavy``), indexed by
        ``organisation_id``.
    traits : pandas.DataFrame
        Latent traits each organisation drew around its segment's centre (log purchase rate, log
        order value, portal and service propensity, ...), indexed by ``organisation_id``.
    segment_parameters : pandas.DataFrame
        The mixture the traits were drawn from, indexed by segment: ``weight`` and, per trait,
        ``<trait>__mean`` and ``<trait>__sd``. With `traits` it gives the Bayes-optimal segment
        assignment, the best any segmentation can reach.
    churned_at : pandas.Series
        Time each organisation churned, ``NaT`` when it did not churn before ``end``; indexed by
        ``organisation_id`` (every organisation).
    landmark : pandas.Timestamp
        The time at which the churn covariates were taken.
    hazard_coefficients : pandas.Series
        Coefficients ``beta`` of the Cox hazard, indexed by the feature names the extractors use
        (``firmographics__log_employees``, ``purchasing__orders_365d``,
        ``engagement__portal_share_365d``, ``engagement__tickets_365d``, ``contracts__active``).
    covariates : pandas.DataFrame
        Those features as of `landmark` (float64, columns in the order of
        `hazard_coefficients`) for the organisations known and alive at `landmark`, indexed by
        ``organisation_id``.
    baseline_hazard : pandas.Series
        Weibull baseline of the hazard: ``shape`` and ``scale_days``. The cumulative hazard of an
        organisation alive at `landmark` is ``(t / scale_days) ** shape * exp(beta . x)`` with
        ``t`` in days since `landmark`.
    partner_pairs : pandas.DataFrame
        Hidden complementary pairs, columns ``organisation_id`` (the supplier) and ``partner_id``
        (the buyer); none of them is linked in ``relationships``.
    stage_durations : pandas.DataFrame
        One row per project stage, in order: ``stage``, ``distribution`` (``"lognormal"``),
        ``median_days``, ``sigma`` (of the log), ``mean_days`` and ``correlation`` (between the
        log-durations of the stages of one project), for the reference project (expected value
        30 000, ``log1p(employees)`` 4, no project in the year before, no contract).
    project_covariates : pandas.DataFrame
        The covariates of every project as of its creation (float64), indexed by ``project_id``:
        ``log_expected_value``, ``firmographics__log_employees``, ``log1p_projects_created_365d``,
        ``contracts__active``, ``contracts__cancellations_365d``.
    stage_coefficients : pandas.DataFrame
        The log-normal model of each stage's duration in days, indexed by stage:
        ``log D = intercept + sum(coefficient * covariate) + sigma * z`` with ``z`` standard normal,
        correlated across the stages of a project as `stage_durations` says.
    stage_transitions : pandas.DataFrame
        The same model conditioned on the project's earlier stages, indexed by stage: a log-normal
        accelerated failure time model per transition with the covariates and the logs of the
        earlier stages' durations in days (``log_days_<stage>``) as regressors, and its ``sigma``.
    cancellation_hazard : pandas.DataFrame
        The cause-specific hazard of cancellation per day, indexed by stage: ``baseline`` (per
        day) and one column per covariate; in stage ``s`` a project is cancelled at the rate
        ``baseline_s * exp(sum(coefficient * covariate))``, constant within the stage.
    win_coefficients : pandas.Series
        The planted logistic win model: ``channel[<channel>]`` intercepts, ``stage[<stage>]``
        effects of a project deal, ``relative_amount``, ``touchpoints`` (on
        ``log1p(touchpoints_90d) - touchpoints_reference``), ``contract_logit`` (the latent
        trait), and the spreads ``organisation_sd`` and ``deal_sd`` of the latent organisation and
        deal effects.
    win_probability : pandas.Series
        True win probability of every deal (open ones too), indexed by ``deal_id``.
    deal_covariates : pandas.DataFrame
        The observable covariates of every deal as of its creation, indexed by ``deal_id``:
        ``relative_amount`` and ``touchpoints_90d``.
    close_time : pandas.DataFrame
        Time from a deal's creation to its closing, indexed by channel: ``distribution``
        (``"lognormal"``), ``median_days``, ``sigma``.
    wallet : pandas.Series
        Every organisation's yearly need for the catalogue's goods and services, indexed by
        ``organisation_id``.
    wallet_share : pandas.Series
        The share of its wallet each organisation buys from us while a client.
    expected_spend : pandas.Series
        ``wallet * wallet_share``: the expected yearly amount won from each organisation while it
        is a client, from its traits.
    wallet_parameters : pandas.Series
        The parameters of the share model (``need_intercept``, ``need_elasticity``,
        ``share_median``, ``share_slope``, ``share_sd``).
    difficulty : float
        The difficulty the base was generated with.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base, truth = make_client_base(300, seed=1, return_truth=True)
    >>> truth.hazard_coefficients.index[0]
    'firmographics__log_employees'
    >>> truth.segment.index.equals(pd.Index(base.organisations["organisation_id"]))
    True
    >>> truth.win_probability.index.equals(pd.Index(base.deals["deal_id"]))
    True
    """

    segment: pd.Series
    traits: pd.DataFrame
    segment_parameters: pd.DataFrame
    churned_at: pd.Series
    landmark: pd.Timestamp
    hazard_coefficients: pd.Series
    covariates: pd.DataFrame
    baseline_hazard: pd.Series
    partner_pairs: pd.DataFrame
    stage_durations: pd.DataFrame
    project_covariates: pd.DataFrame
    stage_coefficients: pd.DataFrame
    stage_transitions: pd.DataFrame
    cancellation_hazard: pd.DataFrame
    win_coefficients: pd.Series
    win_probability: pd.Series
    deal_covariates: pd.DataFrame
    close_time: pd.DataFrame
    wallet: pd.Series
    wallet_share: pd.Series
    expected_spend: pd.Series
    wallet_parameters: pd.Series
    difficulty: float


def _stage_index() -> pd.CategoricalIndex:
    return pd.CategoricalIndex(list(STAGES), categories=list(STAGES), ordered=True, name="stage")


def _in_frame_order(values: npt.NDArray[Any], rows: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """Put `values`, one per generator row, at the frame positions `rows`."""
    out = np.empty_like(values)
    out[rows] = values
    return out


def lifecycle_tables(difficulty: float) -> dict[str, pd.DataFrame]:
    """Return the planted stage-duration and cancellation models as frames indexed by stage."""
    a, beta, sigma = duration_model(difficulty)
    covariates = list(PROJECT_COVARIATES)
    marginal = pd.DataFrame(beta.T, index=_stage_index(), columns=covariates)
    marginal.insert(0, "intercept", a)
    marginal["sigma"] = sigma
    c, b, d, tau = transition_model(difficulty)
    conditional = pd.DataFrame(b, index=_stage_index(), columns=covariates)
    conditional.insert(0, "intercept", c)
    for j, stage in enumerate(STAGES[:-1]):
        conditional[f"log_days_{stage}"] = d[:, j]
    conditional["sigma"] = tau
    baseline, gamma = cancellation_model(difficulty)
    cancel = pd.DataFrame(
        np.tile(gamma, (len(STAGES), 1)), index=_stage_index(), columns=covariates
    )
    cancel.insert(0, "baseline", baseline)
    durations = pd.DataFrame(
        {
            "stage": pd.Categorical(list(STAGES), categories=list(STAGES), ordered=True),
            "distribution": "lognormal",
            "median_days": STAGE_MEDIANS,
            "sigma": STAGE_SIGMAS,
            "mean_days": STAGE_MEDIANS * np.exp(STAGE_SIGMAS**2 / 2.0),
            "correlation": STAGE_CORRELATION,
        }
    )
    return {
        "stage_durations": durations,
        "stage_coefficients": marginal,
        "stage_transitions": conditional,
        "cancellation_hazard": cancel,
    }


def build_truth(
    *,
    orgs: Columns,
    ids: dict[str, npt.NDArray[Any]],
    plan: PartnerPlan,
    churn: npt.NDArray[np.int64],
    alive: npt.NDArray[np.bool_],
    x: npt.NDArray[np.float64],
    tables: dict[str, Columns],
    wins: WinModel,
    wallets: Columns,
    landmark: int,
    difficulty: float,
) -> SyntheticTruth:
    """Assemble the :class:`SyntheticTruth` from the generator's columns."""
    org_ids = ids["organisations"]
    index = pd.Index(org_ids, name="organisation_id")
    churned = np.where(churn < INF, churn, NAT).view("datetime64[ns]")
    hidden = ~plan.linked
    projects, deals = tables["projects"], tables["deals"]
    project_index = pd.Index(ids["projects"], name="project_id")
    deal_index = pd.Index(ids["deals"], name="deal_id")
    close_time = pd.DataFrame(
        {
            "distribution": "lognormal",
            "median_days": CLOSE_MEDIAN_DAYS,
            "sigma": CLOSE_SIGMAS,
        },
        index=pd.CategoricalIndex(
            list(DEAL_CHANNELS), categories=list(DEAL_CHANNELS), name="channel"
        ),
    )
    parameters = dict(WALLET_PARAMETERS, share_sd=share_sd(difficulty))
    return SyntheticTruth(
        segment=pd.Series(
            pd.Categorical.from_codes(orgs["segment"], categories=list(SEGMENTS)),
            index=index,
            name="segment",
        ),
        traits=pd.DataFrame(orgs["traits"], index=index, columns=list(TRAITS)),
        segment_parameters=segment_parameters(difficulty),
        churned_at=pd.Series(churned, index=index, name="churned_at"),
        landmark=pd.Timestamp(np.datetime64(landmark, "ns")),
        hazard_coefficients=pd.Series(
            coefficients(difficulty), index=pd.Index(FEATURES), name="coefficient"
        ),
        covariates=pd.DataFrame(x[alive], index=index[alive], columns=list(FEATURES)),
        baseline_hazard=pd.Series(
            {"shape": WEIBULL_SHAPE, "scale_days": weibull_scale(difficulty)},
            name="weibull",
        ),
        partner_pairs=pd.DataFrame(
            {
                "organisation_id": org_ids[plan.supplier[hidden]],
                "partner_id": org_ids[plan.buyer[hidden]],
            }
        ),
        project_covariates=pd.DataFrame(
            _in_frame_order(projects["x"], ids["project_rows"]),
            index=project_index,
            columns=list(PROJECT_COVARIATES),
        ),
        **lifecycle_tables(difficulty),
        win_coefficients=pd.Series(wins.coefficients(), name="coefficient"),
        win_probability=pd.Series(
            _in_frame_order(deals["p_win"], ids["deal_rows"]),
            index=deal_index,
            name="win_probability",
        ),
        deal_covariates=pd.DataFrame(
            _in_frame_order(deals["x"], ids["deal_rows"]),
            index=deal_index,
            columns=list(DEAL_COVARIATES),
        ),
        close_time=close_time,
        wallet=pd.Series(wallets["wallet"], index=index, name="wallet"),
        wallet_share=pd.Series(wallets["share"], index=index, name="wallet_share"),
        expected_spend=pd.Series(wallets["expected_spend"], index=index, name="expected_spend"),
        wallet_parameters=pd.Series(parameters, name="value"),
        difficulty=float(difficulty),
    )
