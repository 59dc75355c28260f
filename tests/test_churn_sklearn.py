"""scikit-learn's common estimator checks on ChurnModel.

The checks call ``fit(X, y)`` with a plain one-dimensional ``y``; ChurnModel reads it as durations
with every event observed (see ``Surv.to_arrays``). The log-normal and log-logistic AFT kinds share
every code path with ``"weibull_aft"`` except their closed-form survival, which
test_churn_model.py compares with lifelines, so they are left out here to keep the suite fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from b2bclient.churn import ChurnModel


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Fit HistGradientBoosting on one OpenMP thread.

    Its threads wait for each other at every histogram; on a busy machine two threads are slower
    than one by an order of magnitude, so the tests stay fast with one.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


_BOOSTING_NEEDS_BOTH_OUTCOMES = (
    "the boosting kinds learn 'churn within the horizon' and refuse a target where no row "
    "churns within it; this check's durations are all longer than the horizon of 1.5 days."
)


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """Return the checks that cannot pass for `estimator`, each with the reason."""
    if estimator.kind in ("gbm", "hgb"):
        return {
            "check_estimators_dtypes": _BOOSTING_NEEDS_BOTH_OUTCOMES,
            "check_fit2d_1feature": _BOOSTING_NEEDS_BOTH_OUTCOMES,
        }
    return {}


@parametrize_with_checks(
    [
        ChurnModel(),
        ChurnModel(kind="weibull_aft"),
        ChurnModel(kind="gbm", horizon=1.5, random_state=0),
        ChurnModel(kind="hgb", horizon=1.5, random_state=0),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
