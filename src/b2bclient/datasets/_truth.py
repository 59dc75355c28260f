"""The planted truth behind a synthetic client base."""

from __future__ import annotations

import attrs
import pandas as pd

__all__ = ["SyntheticTruth"]


@attrs.frozen(kw_only=True, eq=False)
class SyntheticTruth:
    """Structure planted by :func:`~b2bclient.datasets.make_client_base`, for checking models.

    Every signal listed here is also observable in the tables, with noise; see
    ``docs/datasets.md``.

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
        log-durations of the stages of one project).
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
    difficulty: float
