"""Time-dependent AUC and the Brier score with inverse probability of censoring weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn.metrics._km import (
    StepFunction,
    censoring_at_events,
    censoring_survival,
    kaplan_meier,
)
from b2bclient.churn.metrics._validation import as_scores, as_survival, as_time_points

__all__ = ["brier_score", "cumulative_dynamic_auc", "integrated_brier_score"]


def _prepare(
    owner: str,
    duration_train: Any,
    event_train: Any,
    duration_test: Any,
    event_test: Any,
    times: Any,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], StepFunction]:
    t_train, e_train = as_survival(duration_train, event_train, owner, "_train")
    time, observed = as_survival(duration_test, event_test, owner, "_test")
    points = as_time_points(times, "times", owner)
    low, high = float(time.min()), float(time.max())
    if points[0] < low or points[-1] >= high:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must lie within the follow-up of the test data, "
            f"[{low:g}, {high:g}). Got {points.tolist()!r}; drop the times outside it."
        )
    censoring = censoring_survival(t_train, e_train)
    if points[-1] > censoring.last_time:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} reaches {points[-1]:g}, beyond the training "
            f"follow-up {censoring.last_time:g} where the censoring distribution is unknown. "
            f"Use times <= {censoring.last_time:g}."
        )
    return time, observed, points, censoring


def _case_weights(
    owner: str,
    time: np.ndarray[Any, Any],
    observed: np.ndarray[Any, Any],
    horizon: float,
    censoring: StepFunction,
) -> np.ndarray[Any, Any]:
    """Return 1/G(T_i) for subjects with an event by `horizon`, 0 for everyone else."""
    case = observed & (time <= horizon)
    weight = np.zeros(len(time))
    weight[case] = 1.0 / censoring_at_events(censoring, time[case], owner, "Use earlier times.")
    return weight


def cumulative_dynamic_auc(
    duration_train: Any,
    event_train: Any,
    duration_test: Any,
    event_test: Any,
    risk: Any,
    times: Any,
) -> tuple[np.ndarray[Any, Any], float]:
    """Compute the cumulative/dynamic AUC at each time, with inverse probability weights.

    At time t, cases are subjects with an event at or before t (``T_i <= t``), weighted by
    ``1 / G(T_i)`` with ``G`` the Kaplan-Meier estimate of the censoring survival function from
    the training data; controls are subjects still at risk after t (``T_j > t``). AUC(t) is the
    weighted share of case-control pairs where the case has the higher risk, ties counting 1/2
    (Uno et al. 2007; Hung and Chiang 2010; as in scikit-survival). The mean AUC weights each
    AUC(t) by the drop of the test data's Kaplan-Meier survival at t, divided by ``1 - S(t_max)``.

    Parameters
    ----------
    duration_train, event_train : array-like of shape (n_train,)
        Training durations and events, used only to estimate the censoring distribution.
    duration_test, event_test : array-like of shape (n,)
        Durations and events of the evaluated subjects.
    risk : array-like of shape (n,) or (n, len(times))
        Predicted risk (higher means earlier churn); one column per time for time-dependent
        predictions such as churn probabilities by each time.
    times : array-like of float or durations
        Strictly increasing time points within the test follow-up ``[min, max)`` and not beyond
        the training follow-up.

    Returns
    -------
    auc : numpy.ndarray of shape (len(times),)
        AUC at each time.
    mean_auc : float
        Summary over the times.

    Raises
    ------
    InvalidParameterError
        For invalid inputs, times outside the follow-up, or a time without cases or controls.

    Examples
    --------
    >>> auc, mean = cumulative_dynamic_auc([1, 2, 3, 4, 5], [1, 0, 1, 0, 1],
    ...                                    [1, 2, 3, 4], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1], [2.5])
    >>> auc.round(4).tolist(), round(mean, 4)
    ([0.7143], 0.7143)
    """
    owner = "cumulative_dynamic_auc"
    time, observed, points, censoring = _prepare(
        owner, duration_train, event_train, duration_test, event_test, times
    )
    scores = np.asarray(risk)
    columns = len(points) if np.ndim(scores) == 2 else None
    scores = as_scores(risk, len(time), "risk", owner, columns=columns)
    auc = np.empty(len(points))
    for k, t in enumerate(points):
        score = scores[:, k] if scores.ndim == 2 else scores
        weight = _case_weights(owner, time, observed, float(t), censoring)
        case = weight > 0
        control = np.sort(score[time > t])
        if not case.any() or len(control) == 0:
            raise InvalidParameterError(
                f"{owner} has no {'case' if not case.any() else 'control'} at time {t:g}: "
                "AUC is undefined there. Choose times with events before and subjects at risk "
                "after them."
            )
        lower = np.searchsorted(control, score[case], side="left")
        upper = np.searchsorted(control, score[case], side="right")
        wins = lower + 0.5 * (upper - lower)
        auc[k] = float(np.dot(weight[case], wins) / (weight[case].sum() * len(control)))
    if len(points) == 1:
        return auc, float(auc[0])
    survival = kaplan_meier(time, observed)(points)
    drop = -np.diff(np.concatenate(([1.0], survival)))
    if survival[-1] >= 1.0:
        raise InvalidParameterError(
            f"{owner} cannot average AUC over times with no event in the test data."
        )
    return auc, float(np.dot(auc, drop) / (1.0 - survival[-1]))


def brier_score(
    duration_train: Any,
    event_train: Any,
    duration_test: Any,
    event_test: Any,
    survival_prob: Any,
    times: Any,
) -> np.ndarray[Any, Any]:
    """Compute the Brier score of predicted survival probabilities at each time, with IPCW.

    Graf et al. (1999), "Assessment and comparison of prognostic classification schemes for
    survival data", Statistics in Medicine 18: at time t, a subject with an event by t
    contributes ``S_i(t)**2 / G(T_i)``, a subject still at risk after t contributes
    ``(1 - S_i(t))**2 / G(t)``, and a subject censored by t contributes 0; the score is the mean
    over all subjects. ``G`` is the Kaplan-Meier estimate of the censoring survival function
    from the training data (events precede censorings at tied times, right-continuous), as in
    scikit-survival.

    Parameters
    ----------
    duration_train, event_train : array-like of shape (n_train,)
        Training durations and events, used only to estimate the censoring distribution.
    duration_test, event_test : array-like of shape (n,)
        Durations and events of the evaluated subjects.
    survival_prob : array-like of shape (n, len(times))
        Predicted probability of not having churned by each time.
    times : array-like of float or durations
        Strictly increasing time points within the test follow-up ``[min, max)`` and not beyond
        the training follow-up.

    Returns
    -------
    numpy.ndarray of shape (len(times),)
        Brier score at each time; 0 is perfect, 0.25 is an uninformative 0.5 forecast.

    Raises
    ------
    InvalidParameterError
        For invalid inputs, probabilities outside [0, 1] or times outside the follow-up.

    Examples
    --------
    >>> brier_score([1, 2, 3, 4, 5], [1, 0, 1, 0, 1], [1, 2, 3, 4], [1, 1, 0, 1],
    ...             [[0.2], [0.4], [0.6], [0.8]], [2.5])
    array([0.13])
    """
    owner = "brier_score"
    time, observed, points, censoring = _prepare(
        owner, duration_train, event_train, duration_test, event_test, times
    )
    prob = as_scores(survival_prob, len(time), "survival_prob", owner, columns=len(points))
    if np.any((prob < 0) | (prob > 1)):
        raise InvalidParameterError(
            f"The 'survival_prob' parameter of {owner} must hold probabilities in [0, 1]; "
            f"got values from {prob.min():g} to {prob.max():g}."
        )
    g_times = censoring(points)
    if np.any(g_times <= 0):
        raise InvalidParameterError(
            f"{owner}: the censoring survival estimate is zero at time "
            f"{points[g_times <= 0][0]:g}; use earlier times."
        )
    scores = np.empty(len(points))
    for k, t in enumerate(points):
        case_weight = _case_weights(owner, time, observed, float(t), censoring)
        at_risk = time > t
        scores[k] = float(
            np.mean(prob[:, k] ** 2 * case_weight + (1.0 - prob[:, k]) ** 2 * at_risk / g_times[k])
        )
    return scores


def integrated_brier_score(
    duration_train: Any,
    event_train: Any,
    duration_test: Any,
    event_test: Any,
    survival_prob: Any,
    times: Any,
) -> float:
    """Integrate the IPCW Brier score over `times` by the trapezoid rule, divided by their range.

    Parameters
    ----------
    duration_train, event_train : array-like of shape (n_train,)
        Training durations and events, used only to estimate the censoring distribution.
    duration_test, event_test : array-like of shape (n,)
        Durations and events of the evaluated subjects.
    survival_prob : array-like of shape (n, len(times))
        Predicted probability of not having churned by each time.
    times : array-like of float or durations
        At least two strictly increasing time points, as for :func:`brier_score`.

    Returns
    -------
    float
        ``trapezoid(brier_score, times) / (times[-1] - times[0])``.

    Raises
    ------
    InvalidParameterError
        For fewer than two times, or any input :func:`brier_score` refuses.

    Examples
    --------
    >>> ibs = integrated_brier_score([1, 2, 3, 4, 5], [1, 0, 1, 0, 1], [1, 2, 3, 4], [1, 1, 0, 1],
    ...                              [[0.2, 0.1], [0.4, 0.3], [0.6, 0.5], [0.8, 0.7]], [1.5, 2.5])
    >>> round(ibs, 6)
    0.147917
    """
    owner = "integrated_brier_score"
    points = as_time_points(times, "times", owner)
    if len(points) < 2:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} needs at least two time points to integrate "
            f"over. Got {points.tolist()!r}; use brier_score for a single time."
        )
    scores = brier_score(
        duration_train, event_train, duration_test, event_test, survival_prob, times
    )
    return float(np.trapezoid(scores, points) / (points[-1] - points[0]))
