"""Calibration of the health score on observed churn: the weights of its measures, its bands.

With ``weights="auto"`` the weights are those of a logistic regression of the churn label on the
sub-scores with non-negative coefficients, floored at ``min_weight``; with ``bands="auto"`` the
cut-offs are where a logistic curve of the label on the score reaches ``red_risk`` and
``green_risk`` times the base rate (:class:`~b2bclient.account._health.HealthScore`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import minimize

from b2bclient._exceptions import InvalidParameterError

if TYPE_CHECKING:
    from b2bclient.account._health import HealthScore, Measure

__all__ = ["fit_cutoffs", "fit_weights"]


def _sigmoid(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def fit_weights(
    health: HealthScore, S: np.ndarray, y: np.ndarray, used: Sequence[Measure]
) -> np.ndarray:
    """Return the weight of every used measure: equal, given, or fitted (``weights="auto"``)."""
    if isinstance(health.weights, str) and health.weights == "equal":
        return np.full(len(used), 1.0 / len(used))
    if not (isinstance(health.weights, str) and health.weights == "auto"):
        chosen: Mapping[str, float] = health.weights  # type: ignore[assignment]
        given = np.array([float(chosen.get(m.name, 0.0)) for m in used])
        if given.sum() <= 0:
            raise InvalidParameterError(
                f"The 'weights' of HealthScore give no positive weight to the measures that "
                f"can be computed ({[m.name for m in used]})."
            )
        return np.asarray(given / given.sum(), dtype=np.float64)
    Z = (S - 50.0) / 100.0
    k = Z.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] - Z @ theta[1:]
        p = np.clip(_sigmoid(eta), 1e-12, 1 - 1e-12)
        value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        r = p - y
        grad = np.concatenate(([r.mean()], -(Z.T @ r) / len(y)))
        return float(value), grad

    start = np.concatenate(([_logit(min(max(y.mean(), 1e-3), 1 - 1e-3))], np.ones(k)))
    result = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0.0, None)] * k
    )
    w = np.maximum(result.x[1:], 0.0)
    if w.sum() <= 0:
        return np.full(k, 1.0 / k)
    w = np.maximum(w / w.sum(), float(health.min_weight))
    return np.asarray(w / w.sum(), dtype=np.float64)


def fit_cutoffs(health: HealthScore, score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return ``(red_below, green_from)``: given, or where the fitted churn risk crosses the bands."""
    if not (isinstance(health.bands, str) and health.bands == "auto"):
        return float(health.bands[0]), float(health.bands[1])
    x = (score - 50.0) / 100.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.clip(_sigmoid(theta[0] + theta[1] * x), 1e-12, 1 - 1e-12)
        r = p - y
        value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return float(value), np.array([r.mean(), (r * x).mean()])

    a, b = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B").x
    rate = float(y.mean())
    if b >= 0:
        # The score does not separate churn here: fall back to the 20% / 60% quantiles.
        return float(np.percentile(score, 20)), float(np.percentile(score, 60))

    def where(p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return float(np.clip(50.0 + 100.0 * (_logit(p) - a) / b, 0.0, 100.0))

    # With a high base rate, red_risk times it may exceed 1: cap it halfway to certainty.
    red = where(min(float(health.red_risk) * rate, (1.0 + rate) / 2.0))
    green = where(float(health.green_risk) * rate)
    return red, max(red, green)
