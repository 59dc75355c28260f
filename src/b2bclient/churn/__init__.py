"""Churn as survival: churn definitions, survival frames, the ChurnModel estimator and plots.

Define churn (:class:`Inactivity` for buyers without contracts, :class:`ContractEnd` for
contractual clients, :class:`AnyOf` / :class:`AllOf` / :class:`Custom` to compose), turn a client
base into a survival frame with :func:`survival_frame`, and fit :class:`ChurnModel` on it with a
:class:`Surv` target.
"""

from __future__ import annotations

from b2bclient.churn._definitions import (
    AllOf,
    AnyOf,
    ChurnDefinition,
    ContractEnd,
    Custom,
    Inactivity,
)
from b2bclient.churn._frame import survival_frame
from b2bclient.churn._model import KINDS, ChurnModel
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
    "survival_frame",
]
