"""Maximum-likelihood machinery shared by the buy-till-you-die models.

Every model maximises a sum of per-customer log-likelihoods over the logarithms of its positive
parameters (and, for covariate effects, over unbounded coefficients) with L-BFGS-B and an
analytic gradient. Identical customers are grouped and weighted, so a fit costs one evaluation
per distinct history rather than per customer. Standard errors come from the inverse of the
Hessian of the negative log-likelihood, obtained by central differences of the analytic
gradient, and are mapped to the natural parameters by the delta method.

Weak identification is reported, not raised. On a short observation window the dropout process
of a BTYD model is often barely visible: the likelihood is then flat along some direction, or
keeps rising towards the edge of the parameter space (``a -> 0``: nobody drops out; ``a, b ->
inf`` with ``a / b`` fixed: everybody drops out with the same probability). The maximum is still
the best description of the data and its predictions are those of the limiting model, so the
fit returns it, lists the affected parameters in ``weakly_identified_``, gives them infinite
standard errors (or the very wide ones the Hessian implies) and warns with a
:class:`~sklearn.exceptions.ConvergenceWarning` that says why and what to do. Only a fit that
finds no finite maximum at all raises :class:`~b2bclient.ConvergenceError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning

from b2bclient._exceptions import ConvergenceError
from b2bclient.btyd._validation import FloatArray

__all__ = ["Design", "FitResult", "Rows", "distinct_rows", "fit_mle", "group_rows"]

Theta = list["float | FloatArray"]
LogLik = Callable[[Theta, "Rows", bool], tuple[FloatArray, "FloatArray | None"]]
LogLikSum = Callable[[Theta, "Rows"], tuple[float, FloatArray]]

_LOG_BOUND = 23.0  # exp(23) ~ 1e10: far beyond any sensible value in any time unit
_Z95 = 1.959963984540054
# A 95% interval wider than a factor 1000 (log-scale standard error above ln(1000) / (2 * 1.96))
# says that the data barely identify a parameter.
_WEAK_SE = float(np.log(1000.0) / (2.0 * _Z95))
_EDGE = 1e-3  # an optimum this close to a bound (on the log scale) lies at the bound
_FLAT_LOADING = 0.01  # share of a parameter in the flat directions that makes it unidentified
_DROPOUT_HINT = (
    "This is common when the observation window is short compared with customer lifetimes, so "
    "that dropout is hardly visible. Check the predictions out of sample (calibration_holdout), "
    "use a longer window, or shrink the fit with a small penalty such as penalizer=0.01."
)


class Rows:
    """Distinct customer histories with their multiplicities.

    Parameters
    ----------
    columns : dict of str to numpy.ndarray
        Per-row data (for example ``x``, ``tx``, ``T``), all of the same length.
    weights : numpy.ndarray
        Number of customers sharing each row.
    covariates : numpy.ndarray, optional
        Covariate matrix, one row per data row.
    """

    def __init__(
        self,
        columns: dict[str, FloatArray],
        weights: FloatArray,
        covariates: FloatArray | None = None,
    ) -> None:
        self.columns = columns
        self.weights = weights
        self.covariates = covariates
        self.cache: dict[str, Any] = {}
        x = columns.get("x")
        if x is not None:
            self.x_unique, inverse = np.unique(x, return_inverse=True)
            self.x_inverse: npt.NDArray[np.intp] = inverse.reshape(-1)
        else:
            self.x_unique = np.zeros(0)
            self.x_inverse = np.zeros(0, dtype=np.intp)

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]

    def __len__(self) -> int:
        return int(self.weights.shape[0])

    def per_x(self, values: FloatArray) -> FloatArray:
        """Spread values computed on the distinct frequencies back to the rows."""
        out: FloatArray = values[self.x_inverse]
        return out

    @property
    def weight_per_x(self) -> FloatArray:
        """Return the number of customers at each distinct frequency."""
        if "weight_per_x" not in self.cache:
            self.cache["weight_per_x"] = np.bincount(
                self.x_inverse, weights=self.weights, minlength=self.x_unique.shape[0]
            )
        out: FloatArray = self.cache["weight_per_x"]
        return out


def distinct_rows(
    parts: Sequence[npt.NDArray[Any]],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Return the group code of each row of the columns `parts`, and each group's first row.

    Rows are matched by hashing (pandas.factorize), so grouping costs linear time. Codes number
    the groups in order of first appearance.
    """
    n = parts[0].shape[0]
    codes: npt.NDArray[np.intp] = np.zeros(n, dtype=np.intp)
    for part in parts:
        part_codes, part_uniques = pd.factorize(part)
        codes, _ = pd.factorize(codes * len(part_uniques) + part_codes)
    n_groups = int(codes.max()) + 1 if n else 0
    first = np.empty(n_groups, dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    return codes, first


def group_rows(
    columns: dict[str, FloatArray],
    covariates: FloatArray | None = None,
    weights: FloatArray | None = None,
) -> Rows:
    """Group identical rows of `columns` (and `covariates`) and return them with weights.

    Summaries in whole periods typically shrink a hundredfold. `weights` gives the number of
    customers each input row stands for (default 1); grouped rows add them up.
    """
    names = list(columns)
    parts = [columns[k] for k in names]
    if covariates is not None:
        parts.extend(np.ascontiguousarray(c) for c in covariates.T)
    n = parts[0].shape[0]
    codes, first = distinct_rows(parts)
    n_groups = first.shape[0]
    if n_groups == n:
        own = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).copy()
        return Rows(dict(columns), own, covariates)
    grouped_weights = np.bincount(codes, weights=weights, minlength=n_groups).astype(np.float64)
    grouped = {k: np.ascontiguousarray(columns[k][first]) for k in names}
    cov = np.ascontiguousarray(covariates[first]) if covariates is not None else None
    return Rows(grouped, grouped_weights, cov)


class Design:
    """Layout of the optimisation vector: log-parameters, then covariate coefficients.

    A parameter ``theta`` with covariates becomes, for customer ``i``,
    ``theta_i = theta_0 * exp(sign * covariates_i @ gamma)``.

    Parameters
    ----------
    names : sequence of str
        Names of the positive model parameters, in order.
    links : sequence of (str, str, float)
        For each parameter that covariates act on: its name, the name of its coefficient block
        (``"gamma1"``) and the sign of the link.
    covariate_names : sequence of str
        Names of the covariates.
    """

    def __init__(
        self,
        names: Sequence[str],
        links: Sequence[tuple[str, str, float]] = (),
        covariate_names: Sequence[str] = (),
    ) -> None:
        self.names = tuple(names)
        self.covariate_names = list(covariate_names)
        self.links = (
            [(self.names.index(p), block, sign) for p, block, sign in links]
            if self.covariate_names
            else []
        )

    @property
    def n_base(self) -> int:
        """Return the number of positive parameters."""
        return len(self.names)

    @property
    def coef_names(self) -> list[str]:
        """Return the names of all coefficients: parameters, then ``block[covariate]``."""
        out = list(self.names)
        for _, block, _ in self.links:
            out.extend(f"{block}[{c}]" for c in self.covariate_names)
        return out

    def _block(self, v: FloatArray, j: int) -> FloatArray:
        k = len(self.covariate_names)
        start = self.n_base + j * k
        out: FloatArray = v[start : start + k]
        return out

    def theta(self, v: FloatArray, covariates: FloatArray | None) -> Theta:
        """Return per-parameter values: floats, or per-row arrays where covariates act."""
        theta: Theta = [float(np.exp(v[i])) for i in range(self.n_base)]
        if self.links:
            if covariates is None:
                raise ValueError("covariates are required by this design")
            for j, (i, _, sign) in enumerate(self.links):
                theta[i] = np.exp(v[i] + sign * (covariates @ self._block(v, j)))
        return theta

    def chain(
        self, grad_rows: FloatArray, weights: FloatArray, covariates: FloatArray | None
    ) -> FloatArray:
        """Map per-row gradients in the log-parameters to the gradient in the optimised vector."""
        # einsum rather than BLAS: BLAS threads thrash on busy machines for these products.
        weighted = np.einsum("i,ij->j", weights, grad_rows)
        out = np.empty(self.n_base + len(self.links) * len(self.covariate_names))
        out[: self.n_base] = weighted
        if self.links and covariates is not None:
            k = len(self.covariate_names)
            for j, (i, _, sign) in enumerate(self.links):
                start = self.n_base + j * k
                out[start : start + k] = sign * np.einsum(
                    "ij,i->j", covariates, weights * grad_rows[:, i]
                )
        return out

    def natural(self, v: FloatArray) -> FloatArray:
        """Return the coefficients on their natural scale (parameters exponentiated)."""
        out: FloatArray = v.copy()
        out[: self.n_base] = np.exp(v[: self.n_base])
        return out


class FitResult:
    """Outcome of :func:`fit_mle`: optimum, log-likelihood, covariance and weak parameters."""

    def __init__(
        self,
        v: FloatArray,
        log_likelihood: float,
        covariance: FloatArray,
        weak: Sequence[str] = (),
    ) -> None:
        self.v = v
        self.log_likelihood = log_likelihood
        self.covariance = covariance
        self.weak = list(weak)


def _objective(
    loglik: LogLik,
    design: Design,
    rows: Rows,
    penalizer: float,
    n_total: float,
    loglik_sum: LogLikSum | None = None,
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    summed = loglik_sum if not design.links else None

    def fun(v: FloatArray) -> tuple[float, FloatArray]:
        with np.errstate(all="ignore"):
            theta = design.theta(v, rows.covariates)
            if summed is not None:
                total, grad_total = summed(theta, rows)
                value = -total / n_total
                grad = -grad_total / n_total
            else:
                ll, grad_rows = loglik(theta, rows, True)
                assert grad_rows is not None
                value = -float(np.einsum("i,i->", rows.weights, ll)) / n_total
                grad = -design.chain(grad_rows, rows.weights, rows.covariates) / n_total
            if penalizer > 0:
                # On the log scale the penalty pulls a parameter back from 0 as well as from
                # infinity, which is where unidentified BTYD parameters run off to.
                value += penalizer * float(np.einsum("i,i->", v, v))
                grad = grad + 2.0 * penalizer * v
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(v)
        return value, grad

    return fun


def _hessian(fun: Callable[[FloatArray], tuple[float, FloatArray]], v: FloatArray) -> FloatArray:
    """Return the Hessian at `v` by central differences of the analytic gradient."""
    k = v.shape[0]
    h = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(float(v[j])))
        up = v.copy()
        up[j] += step
        down = v.copy()
        down[j] -= step
        h[:, j] = (fun(up)[1] - fun(down)[1]) / (2.0 * step)
    out: FloatArray = 0.5 * (h + h.T)
    return out


def fit_mle(
    loglik: LogLik,
    design: Design,
    rows: Rows,
    starts: Sequence[FloatArray],
    *,
    penalizer: float,
    owner: str,
    loglik_sum: LogLikSum | None = None,
    stacklevel: int = 4,
    weak_hint: str = _DROPOUT_HINT,
) -> FitResult:
    """Maximise the (penalised) log-likelihood over the design's optimisation vector.

    Parameters
    ----------
    loglik : callable
        ``loglik(theta, rows, grad)`` returning per-row log-likelihoods and, when `grad` is
        true, per-row derivatives in the log of each parameter (shape ``(n_rows, n_params)``).
    design : Design
        Parameter layout.
    rows : Rows
        Grouped customer histories.
    starts : sequence of numpy.ndarray
        Starting log-parameters; each is tried in turn until one converges.
    penalizer : float
        Weight of the L2 penalty on the log-parameters and the covariate coefficients, added to
        the mean negative log-likelihood.
    owner : str
        Model name, for error messages.
    loglik_sum : callable, optional
        ``loglik_sum(theta, rows)`` returning the weighted total log-likelihood and its
        gradient in the log-parameters; a faster equivalent of `loglik` used without covariates.
    stacklevel : int, default 4
        Stack level of the warning about weakly identified parameters (the user's call).
    weak_hint : str
        The usual cause of weak identification for this model, and the remedies, for the
        warning.

    Returns
    -------
    FitResult

    Raises
    ------
    ConvergenceError
        When no start reaches a finite maximum.

    Warns
    -----
    ConvergenceWarning
        When the data barely identify some parameters (see the module docstring).
    """
    n_total = float(rows.weights.sum())
    fun = _objective(loglik, design, rows, penalizer, n_total, loglik_sum)
    n_coef = len(design.coef_names)
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * design.n_base + [(-50.0, 50.0)] * (
        n_coef - design.n_base
    )
    best: Any = None
    # Starts are tried in order and the first that converges is kept.
    for start in starts:
        v0 = np.zeros(n_coef)
        v0[: design.n_base] = start
        res = optimize.minimize(
            fun,
            v0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 3000, "ftol": 1e-13, "gtol": 1e-9, "maxls": 50},
        )
        if not np.isfinite(res.fun):
            continue
        _, grad = fun(res.x)
        if res.success or float(np.max(np.abs(grad))) < 1e-5:
            best = res
            break
    if best is None:
        raise ConvergenceError(
            f"{owner} did not converge: the optimiser found no finite maximum of the likelihood "
            f"from {len(starts)} starting point(s). Check that the summary is in a sensible time "
            f"unit (weeks rather than seconds), or stabilise the fit with penalizer=0.001."
        )
    v = np.asarray(best.x, dtype=np.float64)
    names = design.coef_names
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    at_low = np.abs(v - lo) < _EDGE
    at_high = np.abs(v - hi) < _EDGE
    with np.errstate(all="ignore"):
        theta = design.theta(v, rows.covariates)
        if loglik_sum is not None and not design.links:
            log_likelihood = float(loglik_sum(theta, rows)[0])
        else:
            ll_rows, _ = loglik(theta, rows, False)
            log_likelihood = float(rows.weights @ ll_rows)
    hess = _hessian(fun, v) * n_total
    covariance, flat = _covariance(hess, at_low | at_high)
    se = np.sqrt(np.diag(covariance))
    wide = np.isfinite(se) & (se > _WEAK_SE)
    weak = at_low | at_high | flat | wide
    if weak.any():
        warnings.warn(
            _weak_message(owner, design, names, at_low, at_high, flat, wide, se, weak_hint),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return FitResult(v, log_likelihood, covariance, [names[i] for i in np.flatnonzero(weak)])


def _weak_message(
    owner: str,
    design: Design,
    names: list[str],
    at_low: npt.NDArray[np.bool_],
    at_high: npt.NDArray[np.bool_],
    flat: npt.NDArray[np.bool_],
    wide: npt.NDArray[np.bool_],
    se: FloatArray,
    hint: str,
) -> str:
    """Return the warning for weakly identified coefficients: which, why, and what to do."""
    positive = np.arange(len(names)) < design.n_base
    reasons = []
    for mask, what in (
        (at_low & positive, "ran to 0"),
        (at_high & positive, "ran to infinity"),
        ((at_low | at_high) & ~positive, "ran to the bound of +-50"),
    ):
        if mask.any():
            reasons.append(f"{', '.join(names[i] for i in np.flatnonzero(mask))} {what}")
    if flat.any():
        reasons.append(
            f"{', '.join(names[i] for i in np.flatnonzero(flat))} lie on a flat ridge of the "
            f"likelihood"
        )
    if wide.any():
        with np.errstate(over="ignore"):  # a factor beyond 1e308 is reported as inf
            factors = np.exp(2.0 * _Z95 * se)
        reasons.extend(
            f"the 95% interval of {names[i]} spans a factor {float(factors[i]):.2g}"
            for i in np.flatnonzero(wide)
        )
    weak = [names[i] for i in np.flatnonzero(at_low | at_high | flat | wide)]
    return (
        f"{owner}: the data barely identify {weak} ({'; '.join(reasons)}). The fit is the "
        f"maximum of the likelihood and its predictions are those of the limiting model; these "
        f"parameters have infinite or very wide standard errors and are listed in "
        f"weakly_identified_. {hint}"
    )


def _covariance(hess: FloatArray, fixed: npt.NDArray[np.bool_]) -> tuple[FloatArray, np.ndarray]:
    """Return the covariance from a Hessian, and which coefficients lie in flat directions.

    Coefficients at a bound (`fixed`) and those with a share of more than 1% in a direction of
    (numerically) zero or negative curvature are not identified: their variances are infinite and
    their covariances unknown (NaN). The others get the inverse of their block of the Hessian,
    which is their covariance given the unidentified ones.
    """
    k = hess.shape[0]
    flat = np.zeros(k, dtype=bool)
    if np.all(np.isfinite(hess)):
        values, vectors = np.linalg.eigh(hess)
        scale = max(float(np.max(np.abs(values))), 1.0)
        null = values <= 1e-9 * scale
        if null.any():
            loading = np.sum(vectors[:, null] ** 2, axis=1)
            flat = (loading > _FLAT_LOADING) & ~fixed
    else:
        flat = ~fixed
    free = ~(fixed | flat)
    inverse: FloatArray | None = None
    while free.any():
        block = hess[np.ix_(free, free)]
        inverse = _invert(block)
        if inverse is not None:
            break
        # Still not positive definite: drop the coefficient that weighs most in the direction
        # of least curvature, and try again.
        values, vectors = np.linalg.eigh(np.where(np.isfinite(block), block, 0.0))
        drop = np.flatnonzero(free)[int(np.argmax(np.abs(vectors[:, 0])))]
        flat[drop] = True
        free[drop] = False
    covariance = np.full((k, k), np.nan)
    covariance[np.diag_indices(k)] = np.inf
    if free.any() and inverse is not None:
        covariance[np.ix_(free, free)] = inverse
    return covariance, flat


def _invert(hess: FloatArray) -> FloatArray | None:
    """Return the inverse of a positive definite Hessian, or None if it is not one."""
    if not np.all(np.isfinite(hess)):
        return None
    try:
        np.linalg.cholesky(hess)
        covariance = np.asarray(np.linalg.inv(hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(covariance)) or np.any(np.diag(covariance) <= 0):
        return None
    return covariance


def fitted_state(design: Design, result: FitResult) -> dict[str, Any]:
    """Return the fitted attributes (``params_``, ``standard_errors_``, ...) of a result."""
    names = design.coef_names
    v = result.v
    natural = design.natural(v)
    se_v = np.sqrt(np.diag(result.covariance))
    jac = np.ones_like(v)
    jac[: design.n_base] = natural[: design.n_base]
    se = se_v * jac
    covariance = result.covariance * np.outer(jac, jac)
    lower = v - _Z95 * se_v
    upper = v + _Z95 * se_v
    # A parameter the data barely identify has an interval that reaches 0 or infinity.
    with np.errstate(over="ignore", under="ignore"):
        lower[: design.n_base] = np.exp(lower[: design.n_base])
        upper[: design.n_base] = np.exp(upper[: design.n_base])
    index = pd.Index(names, name="parameter")
    return {
        "params_": pd.Series(natural, index=index, name="coef"),
        "standard_errors_": pd.Series(se, index=index, name="se(coef)"),
        "covariance_": pd.DataFrame(covariance, index=index, columns=index.rename(None)),
        "summary_": pd.DataFrame(
            {
                "coef": natural,
                "se(coef)": se,
                "lower 95% bound": lower,
                "upper 95% bound": upper,
            },
            index=index,
        ),
        "log_likelihood_": result.log_likelihood,
        "weakly_identified_": list(result.weak),
    }
