"""scikit-learn's common estimator checks on ChurnModel.

The checks call ``fit(X, y)`` with a plain one-dimensional ``y``; ChurnModel reads it as durations
with every event observed (see ``Surv.to_arrays``). The log-normal and log-logistic AFT kinds share
every code path with ``"weibull_aft"`` except their closed-form survival, which
test_churn_model.py compares with lifelines, so they are left out here to keep the suite fast.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from b2bclient.churn import ChurnModel

_GBM_NEEDS_BOTH_OUTCOMES = (
    "kind='gbm' learns 'churn within the horizon' and refuses a target where no row churns "
    "within it; this check's durations are all longer than the horizon of 1.5 days."
)


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """Return the checks that cannot pass for `estimator`, each with the reason."""
    if estimator.kind == "gbm":
        return {
            "check_estimators_dtypes": _GBM_NEEDS_BOTH_OUTCOMES,
            "check_fit2d_1feature": _GBM_NEEDS_BOTH_OUTCOMES,
        }
    return {}


@parametrize_with_checks(
    [
        ChurnModel(),
        ChurnModel(kind="weibull_aft"),
        ChurnModel(kind="gbm", horizon=1.5, random_state=0),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
