"""Long projects: when an active project reaches procurement, so that sales can engage early.

:class:`LifecycleModel` is a multi-state model of the stages design -> production -> procurement
-> delivery -> commissioning with two competing exits, fitted with lifelines on the stage
histories known before ``as_of``; :func:`stage_history` returns the data it fits on and
:func:`stage_funnel` the conversion, durations and services of every stage.
"""

from b2bclient.lifecycle._covariates import (
    COVARIATES,
    DEFAULT_COVARIATES,
    DEFAULT_LOSS_COVARIATES,
)
from b2bclient.lifecycle._funnel import stage_funnel
from b2bclient.lifecycle._history import OUTCOMES, stage_history
from b2bclient.lifecycle._model import EXITS, LifecycleModel
from b2bclient.lifecycle._plot import plot_procurement_calibration, plot_stage_funnel

__all__ = [
    "COVARIATES",
    "DEFAULT_COVARIATES",
    "DEFAULT_LOSS_COVARIATES",
    "EXITS",
    "OUTCOMES",
    "LifecycleModel",
    "plot_procurement_calibration",
    "plot_stage_funnel",
    "stage_funnel",
    "stage_history",
]
