"""Fitting the transitions of the lifecycle with lifelines, and keeping only plain arrays.

Every stage's duration is a log-normal accelerated failure time model
(``lifelines.LogNormalAFTFitter``) on the project's covariates and the log-days it spent in the
earlier stages, censored by the competing exits and by ``as_of``, with delayed entry. The two
exits (the project cancelled while its organisation stayed, the project ended with its
organisation) are cause-specific proportional hazards, constant within a stage: the coefficients
come from a Cox model stratified by stage (``lifelines.CoxPHFitter``), the rate of each stage from
the Breslow estimator of a constant baseline given those coefficients.

Nothing of lifelines is kept: each fit leaves a :class:`Transition` or :class:`Exit` of floats
and strings, which :class:`~b2bclient.lifecycle.LifecycleModel` stores and saves.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import ConvergenceError
from b2bclient.features._preprocess import FeaturePreprocessor

__all__ = ["design_matrix", "fit_exit", "fit_transition", "make_preprocessor"]

Floats = npt.NDArray[np.float64]

#: Summary columns kept from lifelines, renamed.
_SUMMARY = {
    "coef": "coef",
    "se(coef)": "se",
    "coef lower 95%": "lower_95",
    "coef upper 95%": "upper_95",
}


#: Penalty of the second attempt when an unpenalised fit does not converge.
FALLBACK_PENALIZER = 0.01


def _fit_or_penalise(fit: Any, penalizer: float, what: str) -> tuple[Any, float]:
    """Run ``fit(penalizer)``; if it fails unpenalised, warn and run it with a small penalty.

    A few dozen spells can separate on a rare covariate (a contract cancelled in the year
    before), and the unpenalised estimate then does not exist. The penalised fit is kept, with a
    ``ConvergenceWarning`` that says so and the penalty recorded beside the coefficients.
    """
    from sklearn.exceptions import ConvergenceWarning

    def brief(exc: Exception | None) -> str:
        return (
            str(exc).strip().splitlines()[0][:200]
            if exc is not None and str(exc).strip()
            else type(exc).__name__
        )

    tries = [penalizer] if penalizer > 0 else [penalizer, FALLBACK_PENALIZER]
    error: Exception | None = None
    for p in tries:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitter = fit(p)
            except Exception as exc:  # lifelines raises its ConvergenceError, LinAlgError, ...
                error = exc
                continue
        if p != penalizer:
            warnings.warn(
                f"LifecycleModel: {what} did not converge without a penalty ({brief(error)}); it was "
                f"fitted with penalizer={p}, which shrinks its coefficients and narrows their "
                "intervals.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return fitter, p
    raise ConvergenceError(
        f"LifecycleModel: {what} did not converge: {brief(error)}. Raise the 'penalizer' parameter "
        "(such as 0.1), or fit on more history."
    ) from error


def make_preprocessor(columns: Sequence[str]) -> FeaturePreprocessor:
    """Return the preprocessor of a transition: imputation and indicators, no transform or scale.

    The coefficients stay on the scale of the covariates (days are already logged), so they can be
    read and compared with the planted ones; missing values get the median and an indicator.
    """
    pre = FeaturePreprocessor(
        heavy_tailed="none",
        scale=None,
        impute="median",
        missing_indicator=True,
        drop_constant=True,
        kinds=dict.fromkeys(columns, "linear"),
        extractors=[],
    )
    pre.set_output(transform="pandas")
    return pre


def design_matrix(pre: FeaturePreprocessor, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the model matrix of `frame` through a fitted preprocessor, as float64."""
    out = pre.transform(frame[list(pre.feature_names_in_)])
    return pd.DataFrame(out, index=frame.index).astype(np.float64)


def _summary(fitter: Any, param: str) -> pd.DataFrame:
    table = fitter.summary.loc[param, list(_SUMMARY)].rename(columns=_SUMMARY)
    return table.astype(np.float64)


def _start(X: pd.DataFrame, days: Floats, event: npt.NDArray[np.bool_]) -> dict[str, Floats] | None:
    """Return a starting point for the log-normal fit: least squares on the log-days that ended.

    Biased by the censoring, but close: the fit then takes a few iterations from one start
    instead of several from lifelines' default starts. The order is lifelines' (covariates
    sorted by name, then the intercept); a different order would only slow the fit down.
    """
    if event.sum() <= X.shape[1] + 2:
        return None
    names = sorted(X.columns)
    A = np.column_stack([X[names].to_numpy()[event], np.ones(int(event.sum()))])
    y = np.log(days[event])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    spread = float(np.std(y - A @ coef))
    if not np.isfinite(coef).all() or not spread > 0:
        return None
    return {"mu_": np.asarray(coef, dtype=np.float64), "sigma_": np.array([np.log(spread)])}


def _fitter_class(start: dict[str, Floats] | None) -> Any:
    """Return lifelines' log-normal AFT fitter; with a start of ours, one that uses only it.

    lifelines fits a univariate model for a second starting point even when one is given; with
    the least-squares start that costs more than it saves.
    """
    from lifelines import LogNormalAFTFitter

    if start is None:
        return LogNormalAFTFitter

    class _FromStart(LogNormalAFTFitter):  # type: ignore[misc]
        def _create_initial_point(self, *args: Any) -> dict[str, Floats]:
            Xs = args[-1]
            return {n: np.zeros(len(Xs[n].columns)) for n in self._fitted_parameter_names}

    return _FromStart


def fit_transition(
    frame: pd.DataFrame, columns: list[str], *, stage: str, penalizer: float
) -> dict[str, Any]:
    """Fit the log-normal AFT model of one stage's duration.

    `frame` holds the stage's spells with ``days``, ``entry_days``, ``event`` (moved on) and the
    regressor `columns`. Returns the fitted preprocessor, the coefficients of its output columns
    (``intercept``, ``coef`` and ``sigma`` on the log-days scale) and the summary with standard
    errors and 95% intervals.
    """
    pre = make_preprocessor(columns)
    X = pre.fit_transform(frame[columns]) if columns else pd.DataFrame(index=frame.index)
    data = X.astype(np.float64).assign(
        _days=np.maximum(frame["days"].to_numpy(), 1e-3),
        _event=frame["event"].to_numpy().astype(bool),
        _entry=frame["entry_days"].to_numpy(),
    )
    what = (
        f"the log-normal model of the {stage!r} stage on {len(frame)} spells "
        f"({int(frame['event'].sum())} moved on)"
    )
    start = _start(X, data["_days"].to_numpy(), data["_event"].to_numpy())
    entry = "_entry" if (data["_entry"].to_numpy() > 0).any() else None
    if entry is None:
        data = data.drop(columns="_entry")
    fitter, used = _fit_or_penalise(
        lambda p: _fitter_class(start)(penalizer=p).fit(
            data, "_days", "_event", entry_col=entry, initial_point=start
        ),
        penalizer,
        what,
    )
    mu = fitter.params_.loc["mu_"]
    names = list(X.columns)
    summary = pd.concat(
        [_summary(fitter, "mu_"), _summary(fitter, "sigma_")], keys=["mu", "log_sigma"]
    )
    return {
        "pre": pre if columns else None,
        "names": names,
        "intercept": float(mu.loc["Intercept"]),
        "coef": np.asarray([float(mu.loc[n]) for n in names], dtype=np.float64),
        "sigma": float(np.exp(fitter.params_.loc[("sigma_", "Intercept")])),
        "summary": summary,
        "penalizer": used,
    }


def fit_exit(
    frame: pd.DataFrame,
    columns: list[str],
    event: npt.NDArray[np.bool_],
    *,
    n_stages: int,
    cause: str,
    penalizer: float,
    recent: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Fit a cause-specific exit: a Cox model stratified by stage, then a constant rate per stage.

    `frame` holds every spell with ``stage`` (code), ``days``, ``entry_days``, ``outcome`` and the
    regressor `columns`; `event` marks the spells that ended by this cause. The rate of stage
    ``s`` is the Breslow estimate of a constant baseline: its events over its exposure weighted by
    ``exp(coef . x)``, taken over `recent` (the same spells' time at risk within a recent window,
    same columns) when given, over `frame` otherwise.
    """
    from lifelines import CoxPHFitter

    stage = frame["stage"].to_numpy().astype(np.int64)
    exposure = np.maximum(frame["days"].to_numpy() - frame["entry_days"].to_numpy(), 0.0)
    pre = make_preprocessor(columns) if columns else None
    X = (
        pre.fit_transform(frame[columns]).astype(np.float64)
        if pre is not None
        else pd.DataFrame(index=frame.index)
    )
    names = list(X.columns)
    coef = np.zeros(len(names))
    summary = pd.DataFrame(
        np.nan, index=pd.Index(names, name="covariate"), columns=list(_SUMMARY.values())
    )
    n_events = int(event.sum())
    used = penalizer
    if n_events >= max(10, 2 * len(names)) and names:
        data = X.assign(
            _days=np.maximum(frame["days"].to_numpy(), 1e-3),
            _event=event.astype(bool),
            _entry=frame["entry_days"].to_numpy(),
            _stage=stage,
        )
        fitter, used = _fit_or_penalise(
            lambda p: CoxPHFitter(penalizer=p).fit(
                data, "_days", "_event", entry_col="_entry", strata=["_stage"]
            ),
            penalizer,
            f"the Cox model of the exit {cause!r} on {len(frame)} spells ({n_events} exits)",
        )
        coef = np.asarray(fitter.params_.loc[names], dtype=np.float64)
        summary = fitter.summary.loc[names, list(_SUMMARY)].rename(columns=_SUMMARY)
        summary = summary.astype(np.float64)
        summary.index.name = "covariate"
    if recent is not None:
        stage = recent["stage"].to_numpy().astype(np.int64)
        exposure = np.maximum(recent["days"].to_numpy() - recent["entry_days"].to_numpy(), 0.0)
        event = recent["outcome"].astype(object).to_numpy() == cause
        X = (
            design_matrix(pre, recent)[names]
            if pre is not None
            else pd.DataFrame(index=recent.index)
        )
    weight = np.exp(X.to_numpy() @ coef) * exposure
    events = np.bincount(stage[event], minlength=n_stages).astype(np.float64)
    at_risk = np.bincount(stage, weights=weight, minlength=n_stages)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(at_risk > 0, events / at_risk, 0.0)
    return {
        "pre": pre,
        "names": names,
        "coef": coef,
        "rate": rate,
        "events": events,
        "summary": summary,
        "penalizer": used,
    }


def linear_predictor(
    pre: FeaturePreprocessor | None, names: list[str], coef: Floats, frame: pd.DataFrame
) -> Floats:
    """Return ``coef . x`` for the rows of `frame` through the fitted preprocessor."""
    if pre is None or not names:
        return np.zeros(len(frame))
    X = design_matrix(pre, frame)
    return np.asarray(X[names].to_numpy() @ coef, dtype=np.float64)
