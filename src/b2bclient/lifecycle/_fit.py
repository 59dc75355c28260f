"""Fitting the transitions of the lifecycle with lifelines, and keeping only plain arrays.

Every stage's duration is a log-normal accelerated failure time model
(``lifelines.LogNormalAFTFitter``) on the project's covariates and the log-days it spent in the
earlier stages, censored by the competing exits and by ``as_of``, with delayed entry. The two
exits (the project cancelled while its organisation stayed, the project ended with its
organisation) are cause-specific proportional hazards, constant within a stage: the coefficients
are the maximum-likelihood estimate of that piecewise-exponential model (a Poisson regression of
the exits on the time at risk, one baseline per stage), the rate of each stage the Breslow-type
estimate of a constant baseline given those coefficients.

The exits are fitted here rather than with ``lifelines.CoxPHFitter``: with delayed entry lifelines
runs its time-varying algorithm, whose cost grows with spells times distinct exit days (761 s of
CPU at 100 000 organisations), while the model the predictions use, a constant hazard per stage,
has a likelihood whose Newton steps cost one pass over the spells. Delayed entry is then exact:
a spell contributes its time at risk after entry.

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
from b2bclient.base._schema import STAGES
from b2bclient.features._preprocess import FeaturePreprocessor

__all__ = [
    "design_matrix",
    "fit_exit",
    "fit_piecewise_exponential",
    "fit_transition",
    "lag_matrix",
    "log_days",
    "make_preprocessor",
]

Floats = npt.NDArray[np.float64]

#: Summary columns kept from lifelines, renamed.
_SUMMARY = {
    "coef": "coef",
    "se(coef)": "se",
    "coef lower 95%": "lower_95",
    "coef upper 95%": "upper_95",
}


#: The 97.5% quantile of the standard normal: half-width of a 95% interval in standard errors.
_Z95 = 1.959963984540054

#: A coefficient times its covariate's standard deviation beyond this (a hazard ratio of e^15 per
#: standard deviation) is a separated covariate, whose estimate runs off to infinity.
_SEPARATED = 15.0

#: Newton iterations of the exit fits before they count as not converged.
_MAX_ITER = 100

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
    """Fit a cause-specific exit: a proportional hazard constant within each stage.

    `frame` holds every spell with ``stage`` (code), ``days``, ``entry_days``, ``outcome`` and the
    regressor `columns`; `event` marks the spells that ended by this cause. The coefficients come
    from :func:`fit_piecewise_exponential` on the whole history. The rate of stage
    ``s`` is the Breslow estimate of a constant baseline: its events over its exposure weighted by
    ``exp(coef . x)``, taken over `recent` (the same spells' time at risk within a recent window,
    same columns) when given, over `frame` otherwise.
    """
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
        values = X.to_numpy(dtype=np.float64)
        (coef, se), used = _fit_or_penalise(
            lambda p: fit_piecewise_exponential(
                values, stage, np.maximum(exposure, 1e-3), event.astype(bool), penalizer=p
            ),
            penalizer,
            f"the proportional-hazards model of the exit {cause!r} on {len(frame)} spells "
            f"({n_events} exits)",
        )
        half = _Z95 * se
        summary = pd.DataFrame(
            {"coef": coef, "se": se, "lower_95": coef - half, "upper_95": coef + half},
            index=pd.Index(names, name="covariate"),
        )
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


def fit_piecewise_exponential(
    X: Floats,
    stage: npt.NDArray[np.int64],
    exposure: Floats,
    event: npt.NDArray[np.bool_],
    *,
    penalizer: float = 0.0,
) -> tuple[Floats, Floats]:
    """Fit ``hazard = exp(alpha[stage] + X @ beta)``, constant over each spell; return beta and se.

    The log-likelihood of spells with time at risk `exposure` (after any delayed entry) and an
    exit indicator `event` is ``sum(event * eta - exposure * exp(eta))``: a Poisson regression
    with the log time at risk as offset and one intercept per stage. Newton-Raphson with step
    halving from the crude rates per stage; `penalizer` adds ``penalizer * n / 2 * |beta|^2``
    (the per-spell scale of lifelines' penalty), never on the intercepts. Standard errors come
    from the inverse of the observed information (penalty included). Stages without an exit say
    nothing about `beta` (their intercept tends to minus infinity) and are left out.

    Raises
    ------
    ValueError
        If the fit does not converge (separation: a coefficient runs off to infinity) or the
        information is singular; the caller retries with a penalty or reports it.
    """
    stage = np.asarray(stage, dtype=np.int64)
    exits = np.bincount(stage[event], minlength=int(stage.max(initial=0)) + 1)
    keep = exits[stage] > 0
    X, stage, exposure, event = X[keep], stage[keep], exposure[keep], event[keep]
    levels, code = np.unique(stage, return_inverse=True)
    n, p = X.shape
    k = len(levels)
    if n == 0 or k == 0:
        raise ValueError("no exit to learn from")
    d = event.astype(np.float64)
    # Centre the covariates: the same model, a better conditioned information matrix.
    centre = X.mean(axis=0)
    Xc = X - centre
    spread = X.std(axis=0)
    alpha = np.log(
        np.bincount(code, weights=d, minlength=k) / np.bincount(code, weights=exposure, minlength=k)
    )
    beta = np.zeros(p)
    scale = penalizer * n

    def loglik(a: Floats, b: Floats) -> float:
        eta = a[code] + Xc @ b
        return float(d @ eta - exposure @ np.exp(eta) - 0.5 * scale * (b @ b))

    def information(mu: Floats) -> Floats:
        """The observed information in blocks: intercepts (diagonal), cross terms, covariates."""
        h_aa = np.bincount(code, weights=mu, minlength=k)
        h_ab = np.zeros((k, p))
        np.add.at(h_ab, code, Xc * mu[:, None])
        h_bb = (Xc * mu[:, None]).T @ Xc + scale * np.eye(p)
        return np.block([[np.diag(h_aa), h_ab], [h_ab.T, h_bb]])

    current = loglik(alpha, beta)
    for _ in range(_MAX_ITER):
        mu = exposure * np.exp(alpha[code] + Xc @ beta)
        r = d - mu
        g_a = np.bincount(code, weights=r, minlength=k)
        g_b = Xc.T @ r - scale * beta
        H = information(mu)
        try:
            step = np.linalg.solve(H, np.concatenate([g_a, g_b]))
        except np.linalg.LinAlgError as exc:
            raise ValueError("singular information matrix") from exc
        t = 1.0
        while True:
            a2, b2 = alpha + t * step[:k], beta + t * step[k:]
            new = loglik(a2, b2)
            if np.isfinite(new) and new >= current - 1e-12 * abs(current):
                break
            t /= 2
            if t < 1e-10:
                raise ValueError("the likelihood stopped increasing")
        alpha, beta = a2, b2
        gain, current = new - current, new
        if (np.abs(beta) * spread).max(initial=0.0) > _SEPARATED:
            raise ValueError("a coefficient diverges (separation)")
        moved = np.abs(t * step).max()
        # A flat likelihood with steps still large is a coefficient running off, not convergence.
        if moved < 1e-7 or (moved < 1e-3 and gain < 1e-12 * (1 + abs(current))):
            break
    else:
        raise ValueError(f"no convergence in {_MAX_ITER} Newton steps")
    try:
        cov = np.linalg.inv(information(exposure * np.exp(alpha[code] + Xc @ beta)))
    except np.linalg.LinAlgError as exc:
        raise ValueError("singular information matrix") from exc
    se = np.sqrt(np.clip(np.diag(cov)[k:], 0.0, None))
    if not (np.isfinite(beta).all() and np.isfinite(se).all()):
        raise ValueError("non-finite estimate")
    return np.asarray(beta, dtype=np.float64), np.asarray(se, dtype=np.float64)


def log_days(stage: int) -> list[str]:
    """Return the columns of the log-days of the stages before `stage` (its lag covariates)."""
    return [f"log_days_{s}" for s in STAGES[:stage]]


def lag_matrix(transitions: list[dict[str, Any]]) -> Floats:
    """Return ``lag[j, k]``: the coefficient of stage ``k``'s log-days in stage ``j``'s mean."""
    lag = np.zeros((len(STAGES), len(STAGES)))
    for j, fitted in enumerate(transitions):
        names = list(fitted["names"])
        for k, column in enumerate(log_days(j)):
            if column in names:
                lag[j, k] = float(fitted["coef"][names.index(column)])
    return lag
