"""Gaussian mixture with per-value measurement error and missing values (extreme deconvolution).

Each organisation ``i`` has a true profile ``t_i`` drawn from segment ``k`` with probability
``w_k``, ``t_i ~ N(mu_k, S)`` (one covariance shared by the segments), and is seen through noisy
measurements ``x_i = t_i + eps_i`` with ``eps_i ~ N(0, diag(v_i))``; an unobserved value has
infinite variance. So ``x_i | k ~ N(mu_k, S + diag(v_i))``, and the EM algorithm of Bovy, Hogg and
Roweis (2011, "Extreme deconvolution") estimates ``w``, ``mu`` and ``S`` of the *true* profiles:
a value measured from a short exposure or a handful of orders pulls little, a missing one not at
all. Optional categorical variables (industry) enter as a multinomial per segment, independent of
the profile given the segment (a latent class model).

The covariance is shared (``tied``) because the segments differ in where they lie, not in how
their members vary around them; it is full because measurements of one habit move together
(portal orders and portal sessions) and the Gaussian of a segment must not split along them.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

__all__ = ["MixtureFit", "fit_mixture", "log_joint", "n_parameters"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Variance standing in for "unobserved": the value then carries no weight; its constant
# contribution to the log-determinant is removed so likelihoods stay comparable.
_UNOBSERVED = 1e8
_LOG_2PI = float(np.log(2.0 * np.pi))


@attrs.frozen(eq=False)
class MixtureFit:
    """A fitted mixture: weights, means, shared covariance, categorical log-probabilities."""

    weights: Floats
    means: Floats
    covariance: Floats
    categorical: tuple[Floats, ...]
    log_likelihood: float
    n_iter: int
    converged: bool


def _prepare(x: Floats, v: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    observed = np.isfinite(x) & np.isfinite(v)
    x0 = np.where(observed, x, 0.0)
    noise = np.where(observed, v, _UNOBSERVED)
    n_missing = (~observed).sum(axis=1).astype(np.float64)
    n_observed = observed.sum(axis=1).astype(np.float64)
    return x0, noise, n_missing, n_observed


def _gaussian_terms(
    x0: Floats, noise: Floats, n_missing: Floats, n_observed: Floats, means: Floats, cov: Floats
) -> tuple[Floats, Floats, Floats]:
    """Return log N(x_i | mu_k, S + V_i) (n, k), T_i^-1 (x_i - mu_k) (n, k, p) and sum T_i^-1."""
    p = cov.shape[0]
    total = cov[None, :, :] + noise[:, :, None] * np.eye(p)[None, :, :]
    inverse = np.linalg.inv(total)
    _, logdet = np.linalg.slogdet(total)
    logdet = logdet - n_missing * np.log(_UNOBSERVED)
    diff = x0[:, None, :] - means[None, :, :]
    solved = diff @ inverse
    quad = np.einsum("ikp,ikp->ik", solved, diff)
    log_density = -0.5 * (logdet[:, None] + quad + n_observed[:, None] * _LOG_2PI)
    return log_density, solved, inverse.sum(axis=0)


def _categorical_terms(codes: Sequence[Ints], tables: Sequence[Floats], n: int, k: int) -> Floats:
    out = np.zeros((n, k))
    for c, table in zip(codes, tables, strict=True):
        known = c >= 0
        out[known] += table[:, c[known]].T
    return out


def log_joint(x: Floats, v: Floats, fit: MixtureFit, codes: Sequence[Ints] = ()) -> Floats:
    """Return ``log w_k + log p(x_i, c_i | k)`` for every row and segment, shape (n, k)."""
    x0, noise, n_missing, n_observed = _prepare(x, v)
    dens, _, _ = _gaussian_terms(x0, noise, n_missing, n_observed, fit.means, fit.covariance)
    k = fit.means.shape[0]
    cat = _categorical_terms(codes, fit.categorical, x.shape[0], k)
    return np.asarray(np.log(fit.weights)[None, :] + dens + cat, dtype=np.float64)


def n_parameters(k: int, p: int, levels: Sequence[int] = ()) -> int:
    """Return the number of free parameters of a mixture with `k` segments and `p` dimensions."""
    return k * p + p * (p + 1) // 2 + (k - 1) + sum(k * (m - 1) for m in levels)


def fit_mixture(
    x: Floats,
    v: Floats,
    responsibilities: Floats,
    *,
    codes: Sequence[Ints] = (),
    levels: Sequence[int] = (),
    max_iter: int = 300,
    tol: float = 1e-3,
    reg: float = 1e-4,
    start: MixtureFit | None = None,
) -> MixtureFit:
    """Run EM from initial `responsibilities` (n, k) until the mean log-likelihood moves < `tol`.

    Parameters
    ----------
    x, v : numpy.ndarray of shape (n, p)
        Values (NaN where unobserved) and their measurement variances (``inf`` where unobserved).
    responsibilities : numpy.ndarray of shape (n, k)
        Initial soft assignment (for example one-hot k-means labels).
    codes, levels : sequences
        Categorical variables as integer codes (``-1`` missing) and their number of levels.
    max_iter, tol : int, float
        Stop after `max_iter` iterations or when the mean log-likelihood per row changes by less
        than `tol` (as scikit-learn's GaussianMixture).
    reg : float
        Added to the diagonal of the covariance, for numerical stability.
    start : MixtureFit, optional
        Continue from these parameters instead of from `responsibilities`.

    Returns
    -------
    MixtureFit
    """
    n, p = x.shape
    k = responsibilities.shape[1]
    x0, noise, n_missing, n_observed = _prepare(x, v)
    r = np.asarray(responsibilities, dtype=np.float64)
    nk = r.sum(axis=0) + 1e-10
    weights = nk / n
    means = (r.T @ x0) / nk[:, None] if start is None else start.means
    observed = noise < _UNOBSERVED
    spread = np.array(
        [np.var(x0[observed[:, j], j]) if observed[:, j].sum() > 1 else 1.0 for j in range(p)]
    )
    cov = np.diag(np.maximum(spread, reg)) + reg * np.eye(p)
    if start is not None:
        weights, means, cov = start.weights, start.means, start.covariance
        tables = list(start.categorical)
    else:
        tables = _categorical_tables(codes, levels, r)
    previous = -np.inf
    log_lik = -np.inf
    converged = False
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        dens, solved, inverse_sum = _gaussian_terms(x0, noise, n_missing, n_observed, means, cov)
        lj = np.log(weights)[None, :] + dens + _categorical_terms(codes, tables, n, k)
        row = logsumexp(lj, axis=1)
        log_lik = float(row.mean())
        r = np.exp(lj - row[:, None])
        if abs(log_lik - previous) < tol:
            converged = True
            break
        previous = log_lik
        nk = r.sum(axis=0) + 1e-10
        weights = nk / n
        # Posterior mean of the true profile under each segment: mu_k + S T_i^-1 (x_i - mu_k).
        expected = means[None, :, :] + solved @ cov
        means = np.einsum("ik,ikp->kp", r, expected) / nk[:, None]
        dev = expected - means[None, :, :]
        # E[(t - mu)(t - mu)'] adds the posterior covariance S - S T_i^-1 S, the same for every k.
        weighted = (dev * np.sqrt(r)[:, :, None]).reshape(-1, p)
        scatter = weighted.T @ weighted
        cov = (scatter + n * cov - cov @ inverse_sum @ cov) / n
        cov = 0.5 * (cov + cov.T) + reg * np.eye(p)
        tables = _categorical_tables(codes, levels, r)
    return MixtureFit(
        weights=weights,
        means=means,
        covariance=cov,
        categorical=tuple(tables),
        log_likelihood=log_lik * n,
        n_iter=iteration,
        converged=converged,
    )


def _categorical_tables(codes: Sequence[Ints], levels: Sequence[int], r: Floats) -> list[Floats]:
    tables = []
    for c, m in zip(codes, levels, strict=True):
        known = c >= 0
        counts = np.stack(
            [np.bincount(c[known], weights=r[known, j], minlength=m) for j in range(r.shape[1])]
        ).astype(np.float64)
        smoothed = counts + 1.0  # one pseudo-count per level: no level is impossible in a segment
        tables.append(np.log(smoothed / smoothed.sum(axis=1, keepdims=True)))
    return tables
