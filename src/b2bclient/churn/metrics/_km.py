"""Kaplan-Meier step functions used for inverse probability of censoring weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError

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


def _counts(
    time: np.ndarray[Any, Any], event: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    unique, inverse = np.unique(time, return_inverse=True)
    n_events = np.bincount(inverse, weights=event.astype(np.float64), minlength=len(unique))
    n_total = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    n_at_risk = len(time) - np.concatenate(([0.0], np.cumsum(n_total)[:-1]))
    return unique, n_events, n_total - n_events, n_at_risk


def kaplan_meier(time: np.ndarray[Any, Any], event: np.ndarray[Any, Any]) -> StepFunction:
    """Estimate the survival function of the event."""
    unique, n_events, _, n_at_risk = _counts(time, event)
    return StepFunction(unique, np.cumprod(1.0 - n_events / n_at_risk))


def censoring_survival(time: np.ndarray[Any, Any], event: np.ndarray[Any, Any]) -> StepFunction:
    """Estimate the survival function of censoring, G(t) = P(C > t).

    Censorings are the "events"; at a tied time, events are taken to happen before censorings,
    so subjects with an event at t are not at risk of being censored at t.
    """
    unique, n_events, n_censored, n_at_risk = _counts(time, event)
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
