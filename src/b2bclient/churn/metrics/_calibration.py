"""Calibration of predicted churn probabilities at a horizon (ICI, E50, E90)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import ConvergenceError, InvalidParameterError
from b2bclient.churn.metrics._km import kaplan_meier
from b2bclient.churn.metrics._validation import as_scores, as_survival, as_time_point

__all__ = ["CalibrationResult", "calibration_at_horizon"]

# Knot quantiles recommended by Harrell (Regression Modeling Strategies, section 2.4.6).
_KNOT_QUANTILES = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}
_CLIP = 1e-10
# The curvature of the partial likelihood along the fitted coefficients, relative to its value at
# zero, below which the fit is saturated: every churn already ranks first in its risk set and the
# likelihood keeps rising towards infinite coefficients (monotone likelihood, "separation").
# Finite fits measured 0.17 to 1.8 (two churns to thousands); separated ones 1e-3 and below.
_SATURATED = 1e-2


@attrs.frozen(kw_only=True)
class CalibrationResult:
    """Calibration of predicted churn probabilities at one horizon.

    Attributes
    ----------
    horizon : float
        The horizon, in the unit of the durations (days for timedeltas).
    ici : float
        Integrated calibration index: mean absolute difference between the smoothed observed
        and the predicted churn probability, over the subjects.
    e50, e90, emax : float
        Median, 90th percentile and maximum of that absolute difference.
    observed : numpy.ndarray
        Smoothed observed churn probability by the horizon, per subject (same order as input).
    curve : pandas.DataFrame
        Columns ``predicted`` and ``observed`` on a grid of 100 predicted probabilities spanning
        the predictions: the calibration curve to plot against the diagonal.
    bins : pandas.DataFrame
        One row per quantile bin of the predictions: ``n``, ``events`` (churns by the horizon),
        ``predicted`` (mean prediction) and ``observed`` (1 - Kaplan-Meier survival at the
        horizon within the bin), for a binned calibration plot.
    n_knots : int
        Number of spline knots used (fewer than asked when predictions take few values).
    """

    horizon: float
    ici: float
    e50: float
    e90: float
    emax: float
    observed: np.ndarray[Any, Any] = attrs.field(eq=False, repr=False)
    curve: pd.DataFrame = attrs.field(eq=False, repr=False)
    bins: pd.DataFrame = attrs.field(eq=False, repr=False)
    n_knots: int


def _cll(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    q = np.clip(p, _CLIP, 1.0 - _CLIP)
    result: np.ndarray[Any, Any] = np.log(-np.log1p(-q))
    return result


def _rcs_basis(x: np.ndarray[Any, Any], knots: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Harrell's restricted cubic spline basis (linear term plus k - 2 non-linear terms)."""
    k = len(knots)
    columns = [x]
    if k >= 3:
        scale = (knots[-1] - knots[0]) ** 2
        last, before_last = knots[-1], knots[-2]

        def cube(v: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
            positive: np.ndarray[Any, Any] = np.maximum(v, 0.0) ** 3
            return positive

        for j in range(k - 2):
            term = (
                cube(x - knots[j])
                - cube(x - before_last) * (last - knots[j]) / (last - before_last)
                + cube(x - last) * (before_last - knots[j]) / (last - before_last)
            )
            columns.append(term / scale)
    return np.column_stack(columns)


class _CoxFit:
    """Cox proportional hazards fit (Breslow ties, tiny ridge) with the Breslow baseline."""

    def __init__(
        self,
        time: np.ndarray[Any, Any],
        event: np.ndarray[Any, Any],
        covariates: np.ndarray[Any, Any],
        ridge: float = 1e-8,
    ) -> None:
        self.mean = covariates.mean(axis=0)
        self.scale = covariates.std(axis=0)
        self.scale[self.scale == 0] = 1.0
        z = (covariates - self.mean) / self.scale
        order = np.argsort(-time, kind="stable")
        t, e, z = time[order], event[order], z[order]
        n, p = z.shape
        # Index of the last subject tied with each subject (descending time): its risk set.
        new_time = np.r_[t[1:] != t[:-1], True]
        group_end = np.flatnonzero(new_time)
        last = group_end[np.searchsorted(group_end, np.arange(n))]
        beta = np.zeros(p)

        def evaluate(b: np.ndarray[Any, Any]) -> tuple[float, Any, Any, Any, float]:
            eta = z @ b
            shift = float(eta.max())
            w = np.exp(eta - shift)
            s0 = np.cumsum(w)[last]
            s1 = np.cumsum(w[:, None] * z, axis=0)[last]
            s2 = np.cumsum(w[:, None, None] * z[:, :, None] * z[:, None, :], axis=0)[last]
            mean = s1[e] / s0[e, None]
            loglik = float(np.sum(eta[e] - shift - np.log(s0[e]))) - 0.5 * ridge * float(b @ b)
            grad = np.sum(z[e] - mean, axis=0) - ridge * b
            hess = -np.sum(s2[e] / s0[e, None, None] - mean[:, :, None] * mean[:, None, :], axis=0)
            hess -= ridge * np.eye(p)
            return loglik, grad, hess, s0, shift

        loglik, grad, hess, s0, shift = evaluate(beta)
        information_at_zero = -hess - ridge * np.eye(p)
        for _ in range(100):
            step = np.linalg.solve(hess - 1e-12 * np.eye(p), -grad)
            scale_step = 1.0
            while True:
                candidate = beta + scale_step * step
                cand = evaluate(candidate)
                if cand[0] >= loglik - 1e-12 or scale_step < 1e-8:
                    break
                scale_step /= 2
            improvement = cand[0] - loglik
            beta = candidate
            loglik, grad, hess, s0, shift = cand
            if abs(improvement) < 1e-10 and float(np.max(np.abs(step))) * scale_step < 1e-7:
                break
        else:
            raise ConvergenceError(
                "calibration_at_horizon: the Cox model of the outcome on the spline of the "
                "predictions did not converge. Use fewer knots (n_knots=3) or check that the "
                "predictions vary."
            )
        self._check_finite_maximum(beta, -hess - ridge * np.eye(p), information_at_zero, e)
        self.beta = beta
        # Breslow baseline hazard, on the shifted scale: increments d / s0 at each event time.
        group_start = np.r_[0, group_end[:-1] + 1]
        deaths = np.add.reduceat(e.astype(np.float64), group_start)
        self.event_times = t[group_end][::-1]
        self.increments = (deaths / s0[group_end])[::-1]
        self.shift = shift

    @staticmethod
    def _check_finite_maximum(
        beta: np.ndarray[Any, Any],
        information: np.ndarray[Any, Any],
        information_at_zero: np.ndarray[Any, Any],
        event: np.ndarray[Any, Any],
    ) -> None:
        """Refuse a fit whose likelihood has no maximum (the predictions separate the churns).

        Along a separating direction the weights of each risk set pile up on its churned
        subject, so the information (curvature) along the fitted coefficients collapses; at a
        finite maximum it stays of the order of its value at zero.
        """
        norm = float(np.linalg.norm(beta))
        if norm == 0.0:
            return
        direction = beta / norm
        at_zero = float(direction @ information_at_zero @ direction)
        curvature = float(direction @ information @ direction)
        if at_zero > 0 and curvature < _SATURATED * at_zero:
            n_events = int(event.sum())
            raise ConvergenceError(
                f"calibration_at_horizon: the predictions separate the churned organisations "
                f"from those at risk with them ({n_events} observed churn"
                f"{'' if n_events == 1 else 's'}): the Cox model of the outcome on the spline of "
                f"the predictions gets ever better with ever larger coefficients and has no "
                f"finite fit, so no calibration curve can be estimated. Measure calibration on "
                f"data with more observed churn (a longer follow-up or more organisations)."
            )

    def churn_probability(self, covariates: np.ndarray[Any, Any], horizon: float) -> Any:
        """Return 1 - S(horizon | covariates)."""
        z = (covariates - self.mean) / self.scale
        cumulative = float(self.increments[self.event_times <= horizon].sum())
        hazard = cumulative * np.exp(z @ self.beta - self.shift)
        return -np.expm1(-hazard)


def calibration_at_horizon(
    duration: Any,
    event: Any,
    predicted_churn_prob: Any,
    horizon: Any,
    *,
    n_knots: int = 3,
    n_bins: int = 10,
) -> CalibrationResult:
    """Measure how well predicted churn probabilities by `horizon` match what happened.

    Follows Austin, Harrell and van Klaveren (2020), "Graphical calibration curves and the
    integrated calibration index (ICI) for survival models", Statistics in Medicine 39(21): a
    Cox proportional hazards model of the observed durations is fitted on a restricted cubic
    spline (`n_knots` knots at Harrell's quantiles) of the complementary log-log of the
    predictions, ``log(-log(1 - p))``; its churn probability by the horizon is the smoothed
    observed probability for each subject. Censoring is handled by the Cox partial likelihood.
    ICI, E50, E90 and Emax summarise ``|observed - predicted|``. The binned Kaplan-Meier
    estimate per quantile bin of the predictions is returned alongside for plotting.

    Parameters
    ----------
    duration : array-like of shape (n,)
        Time to churn or censoring (numbers, or timedeltas).
    event : array-like of shape (n,)
        True (1) when churn was observed.
    predicted_churn_prob : array-like of shape (n,)
        Predicted probability of churn by `horizon`, in [0, 1].
    horizon : float or duration
        Horizon of the predictions, within the follow-up (not beyond the largest duration).
    n_knots : {3, 4, 5}, default 3
        Spline knots; fewer are used when the predictions take few distinct values.
    n_bins : int, default 10
        Quantile bins for the binned calibration table.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InvalidParameterError
        For invalid inputs, a horizon beyond follow-up, or no event at all.
    ConvergenceError
        If the smoothing Cox model does not converge, or has no finite fit because the
        predictions separate the churned subjects from the others at risk (typically with very
        few observed churns, always with a single one).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rate = rng.uniform(0.2, 2.0, 2000)
    >>> time = rng.exponential(1 / rate)
    >>> result = calibration_at_horizon(np.minimum(time, 3), time < 3, -np.expm1(-rate), 1.0)
    >>> result.ici < 0.02
    True
    """
    owner = "calibration_at_horizon"
    time, observed = as_survival(duration, event, owner)
    predicted = as_scores(predicted_churn_prob, len(time), "predicted_churn_prob", owner)
    if np.any((predicted < 0) | (predicted > 1)):
        raise InvalidParameterError(
            f"The 'predicted_churn_prob' parameter of {owner} must hold probabilities in "
            f"[0, 1]; got values from {predicted.min():g} to {predicted.max():g}."
        )
    h = as_time_point(horizon, "horizon", owner)
    if h > time.max():
        raise InvalidParameterError(
            f"The 'horizon' parameter of {owner} is {horizon!r}, beyond the longest follow-up "
            f"{time.max():g}; nothing is observed there. Use a horizon <= {time.max():g}."
        )
    if n_knots not in _KNOT_QUANTILES:
        raise InvalidParameterError(
            f"The 'n_knots' parameter of {owner} must be 3, 4 or 5. Got {n_knots!r} instead."
        )
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise InvalidParameterError(
            f"The 'n_bins' parameter of {owner} must be a positive integer. Got {n_bins!r}."
        )
    if not observed.any():
        raise InvalidParameterError(
            f"The 'event' parameter of {owner} has no event: every subject is censored, so "
            "calibration is undefined. Evaluate on data where some churn was observed."
        )
    x = _cll(predicted)
    knots = np.unique(np.quantile(x, _KNOT_QUANTILES[n_knots]))
    used_knots = len(knots) if len(knots) >= 3 else 0
    grid = np.linspace(predicted.min(), predicted.max(), 100)
    if np.ptp(x) == 0:
        km_risk = 1.0 - float(kaplan_meier(time, observed)(np.array([h]))[0])
        smooth = np.full(len(time), km_risk)
        curve_observed = np.full(len(grid), km_risk)
    else:
        basis_knots = knots if used_knots else knots[:0]
        fit = _CoxFit(time, observed, _rcs_basis(x, basis_knots))
        smooth = fit.churn_probability(_rcs_basis(x, basis_knots), h)
        curve_observed = fit.churn_probability(_rcs_basis(_cll(grid), basis_knots), h)
    delta = np.abs(smooth - predicted)
    return CalibrationResult(
        horizon=h,
        ici=float(delta.mean()),
        e50=float(np.median(delta)),
        e90=float(np.quantile(delta, 0.9)),
        emax=float(delta.max()),
        observed=smooth,
        curve=pd.DataFrame({"predicted": grid, "observed": curve_observed}),
        bins=_binned(time, observed, predicted, h, n_bins),
        n_knots=used_knots,
    )


def _binned(
    time: np.ndarray[Any, Any],
    observed: np.ndarray[Any, Any],
    predicted: np.ndarray[Any, Any],
    horizon: float,
    n_bins: int,
) -> pd.DataFrame:
    if np.ptp(predicted) == 0:
        codes = np.zeros(len(predicted), dtype=np.int64)
    else:
        binned = pd.qcut(predicted, q=n_bins, labels=False, duplicates="drop")
        codes = np.asarray(binned, dtype=np.int64)
    rows = []
    for b in np.unique(codes):
        member = codes == b
        km = kaplan_meier(time[member], observed[member])
        rows.append(
            {
                "bin": int(b),
                "n": int(member.sum()),
                "events": int((observed[member] & (time[member] <= horizon)).sum()),
                "predicted": float(predicted[member].mean()),
                "observed": 1.0 - float(km(np.array([horizon]))[0]),
            }
        )
    return pd.DataFrame(rows, columns=["bin", "n", "events", "predicted", "observed"])
