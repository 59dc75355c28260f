"""Churn as survival: churn definitions, survival frames, the ChurnModel estimator and plots."""

from __future__ import annotations

from b2bclient.churn._model import ChurnModel
from b2bclient.churn._surv import Surv

__all__ = ["ChurnModel", "Surv"]
