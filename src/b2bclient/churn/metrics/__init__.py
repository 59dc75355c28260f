"""Survival metrics for churn models: discrimination, accuracy and calibration.

Discrimination: :func:`concordance_index_harrell`, :func:`concordance_index_uno` and
:func:`cumulative_dynamic_auc`. Accuracy: :func:`brier_score` and
:func:`integrated_brier_score`. Calibration at a horizon: :func:`calibration_at_horizon` (ICI,
E50, E90 and plot data). Inputs are arrays or pandas objects; durations may be numbers or
timedeltas (converted to days, as are time points given as durations such as ``"180D"``).
Inverse probability of censoring weights use the Kaplan-Meier estimate of the censoring
distribution from the training data.
"""

from __future__ import annotations

from b2bclient.churn.metrics._calibration import CalibrationResult, calibration_at_horizon
from b2bclient.churn.metrics._concordance import (
    concordance_index_harrell,
    concordance_index_uno,
)
from b2bclient.churn.metrics._dynamic import (
    brier_score,
    cumulative_dynamic_auc,
    integrated_brier_score,
)

__all__ = [
    "CalibrationResult",
    "brier_score",
    "calibration_at_horizon",
    "concordance_index_harrell",
    "concordance_index_uno",
    "cumulative_dynamic_auc",
    "integrated_brier_score",
]
