"""Kaplan-Meier step functions, on the counts of :mod:`b2bclient.churn._estimators`, for IPCW."""

from __future__ import annotations

from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn import _estimators

__all__ = ["StepFunction", "censoring_at_events", "censoring_survival", "kaplan_meier"]


class StepFunction:
    """A right-continuous step function: ``value`` at ``x[k] <= t < x[k + 1]``, 1 before ``x[0]``.

    Parameters
    ----------
    x : numpy.ndarray
        Increasing jump points.
    y : numpy.ndarray
        Value from each jump point on.
    """

    def __init__(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> None:
        self.x = x
        self.y = y

    def __call__(self, t: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Evaluate at `t`."""
        index = np.searchsorted(self.x, t, side="right") - 1
        values = np.ones(np.shape(t), dtype=np.float64)
        inside = index >= 0
        values[inside] = self.y[index[inside]]
        return values

    @property
    def last_time(self) -> float:
        """Largest observed time."""
        return float(self.x[-1])


def kaplan_meier(time: np.ndarray[Any, Any], event: np.ndarray[Any, Any]) -> StepFunction:
    """Estimate the survival function of the event."""
    return StepFunction(*_estimators.kaplan_meier(time, event))


def censoring_survival(time: np.ndarray[Any, Any], event: np.ndarray[Any, Any]) -> StepFunction:
    """Estimate the survival function of censoring, G(t) = P(C > t).

    Censorings are the "events"; at a tied time, events are taken to happen before censorings,
    so subjects with an event at t are not at risk of being censored at t.
    """
    unique, n_at_risk, n_events, n_exits = _estimators.risk_table(time, event)
    n_censored = n_exits - n_events
    at_risk = n_at_risk - n_events
    ratio = np.divide(n_censored, at_risk, out=np.zeros_like(n_censored), where=n_censored > 0)
    return StepFunction(unique, np.cumprod(1.0 - ratio))


def censoring_at_events(
    censoring: StepFunction, event_times: np.ndarray[Any, Any], owner: str, remedy: str
) -> np.ndarray[Any, Any]:
    """Return G at the test event times, for inverse probability of censoring weights.

    Raises InvalidParameterError naming `owner` and the `remedy` where G is zero (every
    training subject has left by then), since its inverse is the weight.
    """
    g = censoring(event_times)
    if np.any(g <= 0):
        raise InvalidParameterError(
            f"{owner}: the censoring survival estimate is zero at test event time "
            f"{event_times[g <= 0].min():g} (every training subject left by then). {remedy}"
        )
    return g
