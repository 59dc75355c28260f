"""The public surface of b2bclient.churn is pinned: a name in ``__all__`` is a promise."""

from __future__ import annotations

import types

import b2bclient.churn as churn

EXPECTED = [
    "KINDS",
    "AllOf",
    "AnyOf",
    "ChurnDefinition",
    "ChurnModel",
    "ContractEnd",
    "Custom",
    "Inactivity",
    "Surv",
    "calibration_table",
    "metrics",
    "plot_calibration",
    "plot_hazard_ratios",
    "plot_survival_curves",
    "survival_frame",
]


def test_all_is_pinned() -> None:
    assert sorted(churn.__all__) == sorted(EXPECTED)


def test_all_matches_the_namespace() -> None:
    public = {
        name
        for name, value in vars(churn).items()
        if not name.startswith("_")
        and name != "annotations"
        and not (isinstance(value, types.ModuleType) and name != "metrics")
    }
    assert public == set(EXPECTED)


def test_metrics_is_a_submodule() -> None:
    from b2bclient.churn import metrics

    assert isinstance(metrics, types.ModuleType)
    assert metrics.__name__ == "b2bclient.churn.metrics"


def test_public_objects_have_docstrings() -> None:
    for name in EXPECTED:
        obj = getattr(churn, name)
        if name != "KINDS":
            assert (obj.__doc__ or "").strip(), name
