"""Churn as survival: churn definitions, survival frames, the ChurnModel estimator and plots.

Define churn (:class:`Inactivity` for buyers without contracts, :class:`ContractEnd` for
contractual clients, :class:`AnyOf` / :class:`AllOf` / :class:`Custom` to compose), turn a client
base into a survival frame with :func:`survival_frame`, and fit :class:`ChurnModel` on it with a
:class:`Surv` target. Evaluate it with :mod:`b2bclient.churn.metrics` and the plots.
"""

from __future__ import annotations

from b2bclient.churn import metrics
from b2bclient.churn._combine import AllOf, AnyOf
from b2bclient.churn._custom import Custom
from b2bclient.churn._definitions import ChurnDefinition, ContractEnd, Inactivity
from b2bclient.churn._frame import survival_frame
from b2bclient.churn._model import KINDS, ChurnModel
from b2bclient.churn._plots import (
    calibration_table,
    plot_calibration,
    plot_hazard_ratios,
    plot_survival_curves,
)
from b2bclient.churn._surv import Surv

__all__ = [
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
