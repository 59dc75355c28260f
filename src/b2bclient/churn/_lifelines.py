"""The lifelines kinds of ChurnModel: Cox proportional hazards and three AFT models.

lifelines fits; the model then keeps plain arrays (coefficients and their variance, the training
means, the Breslow baseline, the AFT intercept and shape) and predicts from them with the closed
forms below, so predictions are fast on millions of rows and identical after saving. Also here:
the coefficient table of ``explain`` and the Grambsch-Therneau test of ``check_assumptions``.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg as sla
from scipy import special, stats
from sklearn.exceptions import ConvergenceWarning

from b2bclient._exceptions import ConvergenceError, InvalidParameterError
from b2bclient.churn._encoding import FloatMatrix
from b2bclient.churn._estimators import step_at

if TYPE_CHECKING:
    from b2bclient.churn._model import ChurnModel

__all__ = [
    "AFT",
    "KINDS",
    "STATE",
    "check_data",
    "explain",
    "fit",
    "median_lifetime",
    "ph_advice",
    "ph_test",
    "risk",
    "survival",
]

#: The kinds fitted with lifelines.
KINDS = ("cox", "weibull_aft", "lognormal_aft", "loglogistic_aft")
#: The lifelines fitter of each AFT kind.
AFT = {
    "weibull_aft": "WeibullAFTFitter",
    "lognormal_aft": "LogNormalAFTFitter",
    "loglogistic_aft": "LogLogisticAFTFitter",
}
#: The fitted attributes a saved model stores, by kind.
STATE = {
    "cox": (
        "coef_",
        "coef_se_",
        "coef_cov_",
        "log_likelihood_",
        "center_",
        "baseline_times_",
        "baseline_cumulative_hazard_",
    ),
    **dict.fromkeys(
        AFT, ("coef_", "coef_se_", "coef_cov_", "log_likelihood_", "intercept_", "ancillary_")
    ),
}
_DURATION_COL = "__b2b_duration__"
_EVENT_COL = "__b2b_event__"
_LN2 = math.log(2.0)

Floats = npt.NDArray[np.float64]


def check_data(kind: str, duration: Floats) -> None:
    """Refuse durations a kind cannot fit: AFT models need them strictly positive."""
    if kind in AFT:
        zero = np.flatnonzero(duration <= 0)
        if zero.size:
            raise InvalidParameterError(
                f"ChurnModel(kind={kind!r}) needs strictly positive durations; {zero.size} rows "
                f"have duration 0 (positions {zero[:5].tolist()}). Use kind='cox', which "
                f"accepts them, or add a small offset such as half a day to those durations."
            )


def fit(model: ChurnModel, z: FloatMatrix, duration: Floats, event: Any, names: list[str]) -> None:
    """Fit a lifelines kind and set the model's prediction arrays and ``fitter_``."""
    kind = model.kind
    constant = [names[j] for j in np.flatnonzero(np.ptp(z, axis=0) == 0)] if z.size else []
    if constant:
        raise InvalidParameterError(
            f"ChurnModel(kind={kind!r}) cannot use the constant columns {constant[:10]}: "
            f"they carry no information and make the fit singular. Drop them (for example "
            f"with sklearn.feature_selection.VarianceThreshold)."
        )
    reserved = sorted({_DURATION_COL, _EVENT_COL} & set(names))
    if reserved:
        raise InvalidParameterError(
            f"X passed to ChurnModel.fit has the column(s) {reserved}, whose names ChurnModel "
            f"uses internally; rename them."
        )
    import lifelines

    frame = pd.DataFrame(z, columns=names, copy=False)
    frame[_DURATION_COL] = duration
    frame[_EVENT_COL] = event
    options = {
        "penalizer": float(model.penalizer),
        "l1_ratio": float(model.l1_ratio),
        "alpha": model.alpha,
    }
    if kind == "cox":
        fitter = lifelines.CoxPHFitter(**options)
    else:
        fitter = getattr(lifelines, AFT[kind])(**options)
    _run(fitter, frame, kind=kind, names=names, z=z, penalizer=model.penalizer)
    if kind == "cox":
        model.coef_ = fitter.params_.to_numpy(dtype=np.float64)
        model.coef_cov_ = fitter.variance_matrix_.to_numpy(dtype=np.float64)
        model.coef_se_ = fitter.standard_errors_.to_numpy(dtype=np.float64)
        model.center_ = np.asarray(fitter._norm_mean.to_numpy(dtype=np.float64))
        bch = fitter.baseline_cumulative_hazard_
        model.baseline_times_ = bch.index.to_numpy(dtype=np.float64)
        model.baseline_cumulative_hazard_ = bch.iloc[:, 0].to_numpy(dtype=np.float64)
    else:
        primary = fitter._primary_parameter_name
        ancillary = fitter._ancillary_parameter_name
        params = fitter.params_
        rows = [(primary, n) for n in names]
        model.coef_ = params.loc[rows].to_numpy(dtype=np.float64)
        model.coef_se_ = fitter.standard_errors_.loc[rows].to_numpy(dtype=np.float64)
        model.coef_cov_ = fitter.variance_matrix_.loc[rows, rows].to_numpy(dtype=np.float64)
        model.intercept_ = float(params.loc[(primary, "Intercept")])
        model.ancillary_ = float(np.exp(params.loc[(ancillary, "Intercept")]))
    model.log_likelihood_ = float(fitter.log_likelihood_)
    finite = np.isfinite(model.coef_).all() and np.isfinite(model.coef_se_).all()
    if not finite:
        raise ConvergenceError(
            f"ChurnModel(kind={kind!r}) produced non-finite coefficients or standard "
            f"errors; the fit is unreliable. {_advice(z, names, model.penalizer)}"
        )
    model.fitter_ = fitter


def _linear(model: ChurnModel, z: FloatMatrix) -> Floats:
    if model.kind == "cox":
        return np.asarray((z - model.center_) @ model.coef_, dtype=np.float64)
    return np.asarray(model.intercept_ + z @ model.coef_, dtype=np.float64)


def risk(model: ChurnModel, z: FloatMatrix) -> Floats:
    """Return the risk score: the log partial hazard (Cox), minus the log-time location (AFT)."""
    lp = _linear(model, z)
    return lp if model.kind == "cox" else -lp


def survival(model: ChurnModel, z: FloatMatrix, times: Floats) -> Floats:
    """Return S(t) for each row of `z` (rows) and each time (columns)."""
    lp = _linear(model, z)[:, None]
    if model.kind == "cox":
        h0 = step_at(model.baseline_times_, model.baseline_cumulative_hazard_, times, initial=0.0)
        return np.asarray(np.exp(-np.exp(lp) * h0[None, :]), dtype=np.float64)
    with np.errstate(divide="ignore"):
        logt = np.log(times[None, :])
    if model.kind == "weibull_aft":
        return np.asarray(np.exp(-np.exp(model.ancillary_ * (logt - lp))), dtype=np.float64)
    if model.kind == "lognormal_aft":
        return np.asarray(special.ndtr(-(logt - lp) / model.ancillary_), dtype=np.float64)
    return np.asarray(special.expit(-model.ancillary_ * (logt - lp)), dtype=np.float64)


def median_lifetime(model: ChurnModel, z: FloatMatrix) -> Floats:
    """Return the time at which S(t) falls to one half (``inf`` beyond the Cox baseline)."""
    lp = _linear(model, z)
    if model.kind == "cox":
        need = _LN2 * np.exp(-lp)
        idx = np.searchsorted(model.baseline_cumulative_hazard_, need, side="left")
        times = np.append(model.baseline_times_, np.inf)
        return np.asarray(times[idx], dtype=np.float64)
    if model.kind == "weibull_aft":
        return np.asarray(np.exp(lp) * _LN2 ** (1.0 / model.ancillary_), dtype=np.float64)
    return np.asarray(np.exp(lp), dtype=np.float64)


def explain(model: ChurnModel) -> pd.DataFrame:
    """Return the coefficient table of :meth:`ChurnModel.explain`."""
    q = float(stats.norm.ppf(1.0 - model.alpha / 2.0))
    coef, se = model.coef_, model.coef_se_
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = coef / se
    ratio = "hazard_ratio" if model.kind == "cox" else "time_ratio"
    table = pd.DataFrame(
        {
            "coef": coef,
            "se": se,
            ratio: np.exp(coef),
            f"{ratio}_lower": np.exp(coef - q * se),
            f"{ratio}_upper": np.exp(coef + q * se),
            "z": zval,
            "p_value": 2.0 * stats.norm.sf(np.abs(zval)),
        },
        index=pd.Index(list(model.feature_names_out_), name="feature"),
    )
    table.attrs["confidence_level"] = 1.0 - model.alpha
    table.attrs["kind"] = model.kind
    return table


def _run(
    fitter: Any,
    frame: pd.DataFrame,
    *,
    kind: str,
    names: list[str],
    z: FloatMatrix,
    penalizer: float,
) -> None:
    """Fit a lifelines fitter, turning its errors and warnings into b2bclient's."""
    from lifelines.exceptions import ConvergenceError as LLConvergenceError
    from lifelines.exceptions import ConvergenceWarning as LLConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(all="ignore"):
                fitter.fit(frame, duration_col=_DURATION_COL, event_col=_EVENT_COL)
        except (
            LLConvergenceError,
            np.linalg.LinAlgError,
            sla.LinAlgError,
            FloatingPointError,
        ) as exc:
            reason = str(exc).split(". ")[0].split("Please see")[0].strip()
            raise ConvergenceError(
                f"ChurnModel(kind={kind!r}) did not converge ({reason}). "
                f"{_advice(z, names, penalizer)}"
            ) from exc
    for w in caught:
        message = str(w.message)
        if not issubclass(w.category, (LLConvergenceWarning, sla.LinAlgWarning)):
            continue
        if "have very low variance. " in message:
            continue  # constant columns are refused before the fit; lifelines standardises the rest
        if "failed to converge" in message:
            raise ConvergenceError(
                f"ChurnModel(kind={kind!r}) did not converge: the optimiser stopped before "
                f"reaching a solution. {_advice(z, names, penalizer)}"
            )
        first = message.strip().splitlines()[0]
        warnings.warn(
            f"ChurnModel(kind={kind!r}) fitted, but the optimiser reported a problem: {first} "
            f"{_advice(z, names, penalizer)}",
            ConvergenceWarning,
            stacklevel=4,
        )


def _advice(z: FloatMatrix, names: list[str], penalizer: float) -> str:
    parts = []
    dependent = _collinear(z, names)
    if dependent:
        parts.append(
            f"the columns {dependent[:10]} are (nearly) linear combinations of others; drop them"
        )
    parts.append(f"raise the penalizer (it is {penalizer:g}; try {max(10 * penalizer, 0.1):g})")
    parts.append("or drop columns that (almost) perfectly separate churned from retained rows")
    return "Remedy: " + ", ".join(parts) + "."


def _collinear(z: FloatMatrix, names: list[str]) -> list[str]:
    if z.shape[1] < 2 or z.shape[0] < 2:
        return []
    std = z.std(axis=0)
    std[std == 0] = 1.0
    zs = (z - z.mean(axis=0)) / std
    _, r, piv = sla.qr(zs, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    tol = diag.max() * 1e-8 * max(zs.shape) if diag.size else 0.0
    return [names[j] for j in piv[diag <= tol]]


def ph_test(zc: FloatMatrix, duration: Floats, event: Any, coef: Floats, cov: Floats) -> Floats:
    """Grambsch-Therneau statistics (rank time transform), Breslow risk sets."""
    order = np.argsort(duration, kind="stable")
    t = duration[order]
    e = np.asarray(event, dtype=bool)[order]
    x = zc[order]
    w = np.exp(x @ coef - np.max(x @ coef))
    s0 = np.cumsum(w[::-1])[::-1]
    s1 = np.cumsum((w[:, None] * x)[::-1], axis=0)[::-1]
    start = np.searchsorted(t, t, side="left")
    xbar = s1[start] / s0[start][:, None]
    resid = (x - xbar)[e]
    n_events = int(e.sum())
    scaled = n_events * resid @ cov
    g = np.cumsum(e)[e].astype(np.float64)
    g = g - g.mean()
    var = np.diag(cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (g @ scaled) ** 2 / (n_events * var * (g**2).sum())
    return np.asarray(stat, dtype=np.float64)


def ph_advice(name: str, categories: dict[str, list[str]]) -> str:
    """Return what to do when the effect of covariate `name` is not proportional."""
    source = next((c for c in categories if name.startswith(f"{c}_")), None)
    if source is not None:
        return (
            f"The effect of level {name!r} of {source!r} changes over time: fit one model per "
            f"level of {source!r} (stratify), or use an AFT kind such as 'weibull_aft', which "
            f"does not assume proportional hazards."
        )
    return (
        f"The effect of {name!r} changes over time: bin it and fit one model per bin (stratify), "
        f"add its interaction with time by fitting on several landmarks, or use an AFT kind such "
        f"as 'weibull_aft', which does not assume proportional hazards."
    )
