"""Numerically stable special functions for the Pareto/NBD likelihood and predictions.

:func:`gauss_series` evaluates ``S(b, c, z) = 2F1(1, b; c; z) = sum_n (b)_n / (c)_n z**n`` for
``0 < b <= c`` and ``0 <= z < 1`` together with its exact derivatives in ``b``, ``c`` and ``z``.
The Pareto/NBD hypergeometric terms reduce to it by Euler's transformation (see ``_pareto``),
which is what gives that model an analytic gradient. Two routes, both free of cancellation:

- for ``z <= 0.8`` the power series itself: every term lies in ``[0, z**n]``, so it is summed
  directly, with as many terms as leave a tail below double precision;
- for ``z > 0.8``, where the series would need hundreds to thousands of terms, Euler's integral
  ``S = k (1-z)**-b * integral_0^inf exp(-k y) (1 + e exp(-y))**-b dy`` with ``k = c - 1`` and
  ``e = z / (1 - z)``. Its integrand is log-concave and analytic in a strip around the real
  axis, so a fixed exp-sinh (double-exponential) rule of 390 nodes integrates it; the
  derivatives are weighted means of ``y``, ``log(1 + e exp(-y))`` and a logistic term under the
  same integrand. The integrand bends at ``y = log(e)``, sharply when ``b`` is large; once that
  bend is far from 0 (``1 - z < 0.05``) the integral is split there, into an exp-sinh rule from
  the bend outwards and a tanh-sinh rule between 0 and the bend, so that nodes crowd on both
  sides of it. ``1 - z`` is passed separately, because near ``z = 1`` it cannot be recovered
  from ``z`` in floating point.

Against 50-digit arithmetic the relative error stays below about 1e-11 for ``1 - z`` down to
1e-14 and ``b``, ``c`` up to 3 000 (``tests/test_btyd_models.py``).

The expected purchases of the BG/NBD family are in ``_bg_expectation``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from b2bclient.btyd._mle import distinct_rows
from b2bclient.btyd._validation import FloatArray

__all__ = ["expm1_ratio", "gauss_series"]

_TAIL = 1e-17
_MAX_TERMS = 2_000
_BLOCK_ELEMENTS = 1 << 21
_QUADRATURE_Z = 0.8


def _exp_sinh_rule(step: float, t_low: float, t_high: float) -> tuple[FloatArray, FloatArray]:
    """Return the nodes and log-weights of the exp-sinh rule ``y = exp(pi/2 sinh(t))``."""
    t = np.arange(t_low, t_high + step / 2, step)
    half_pi_sinh = 0.5 * np.pi * np.sinh(t)
    nodes = np.exp(half_pi_sinh)
    log_weights = np.log(step) + np.log(0.5 * np.pi * np.cosh(t)) + half_pi_sinh
    return nodes, log_weights


# Nodes from 1e-25 to 1e15 cover integrands decaying at any rate k between 1e-13 and 1e20.
_NODES, _LOG_WEIGHTS = _exp_sinh_rule(1.0 / 48.0, -4.3, 3.8)


def _terms_needed(z: float) -> int:
    """Return how many terms of a series dominated by z**n leave a tail below _TAIL."""
    if z <= 0.0:
        return 2
    n = (np.log(_TAIL) + np.log1p(-z)) / np.log(z)
    return int(min(max(np.ceil(n) + 2, 2), _MAX_TERMS))


def _series(
    b: FloatArray, c: FloatArray, z: FloatArray, derivatives: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Sum the power series of ``2F1(1, b; c; z)`` and its derivatives (``z <= 0.8``)."""
    n_rows = b.shape[0]
    s_val = np.ones(n_rows)
    s_b = np.zeros(n_rows)
    s_c = np.zeros(n_rows)
    s_z = np.zeros(n_rows)
    order = np.argsort(z, kind="stable")
    start = 0
    while start < n_rows:
        # Rows are sorted by z, so a block's last row needs the most terms.
        stop = min(n_rows, start + 128)
        n_terms = _terms_needed(float(z[order[stop - 1]]))
        while n_terms * (stop - start) > _BLOCK_ELEMENTS and stop - start > 1:
            stop = start + max(1, _BLOCK_ELEMENTS // n_terms)
            n_terms = _terms_needed(float(z[order[stop - 1]]))
        idx = order[start:stop]
        bb = b[idx, None]
        cc = c[idx, None]
        zz = z[idx, None]
        j = np.arange(n_terms - 1, dtype=np.float64)[None, :]
        coef = np.empty((idx.size, n_terms))
        coef[:, 0] = 1.0
        # coef_n = (b)_n / (c)_n, each factor < 1
        np.cumprod((bb + j) / (cc + j), axis=1, out=coef[:, 1:])
        powers = np.empty((idx.size, n_terms))
        powers[:, 0] = 1.0
        np.cumprod(np.broadcast_to(zz, (idx.size, n_terms - 1)), axis=1, out=powers[:, 1:])
        terms = coef * powers
        s_val[idx] = terms.sum(axis=1)
        if derivatives:
            h_b = np.zeros((idx.size, n_terms))
            np.cumsum(1.0 / (bb + j), axis=1, out=h_b[:, 1:])
            h_c = np.zeros((idx.size, n_terms))
            np.cumsum(1.0 / (cc + j), axis=1, out=h_c[:, 1:])
            s_b[idx] = (terms * h_b).sum(axis=1)
            s_c[idx] = -(terms * h_c).sum(axis=1)
            # sum_n n coef_n z**(n-1): use z**(n-1) directly so that z = 0 gives b / c.
            n_weights = np.arange(1, n_terms, dtype=np.float64)[None, :]
            s_z[idx] = (n_weights * coef[:, 1:] * powers[:, :-1]).sum(axis=1)
        start = stop
    return s_val, s_b, s_c, s_z


def _tanh_sinh_rule(step: float, t_max: float) -> tuple[FloatArray, FloatArray]:
    """Return nodes in ``(0, 1)`` and log-weights of the tanh-sinh rule on ``[0, 1]``."""
    t = np.arange(-t_max, t_max + step / 2, step)
    half_pi_sinh = 0.5 * np.pi * np.sinh(t)
    nodes = 0.5 * (1.0 + np.tanh(half_pi_sinh))
    log_weights = (
        np.log(step) + np.log(0.25 * np.pi * np.cosh(t)) - 2.0 * np.log(np.cosh(half_pi_sinh))
    )
    return nodes, log_weights


_SPLIT_NODES, _SPLIT_LOG_WEIGHTS = _tanh_sinh_rule(1.0 / 32.0, 3.2)
_SPLIT_AT = 3.0  # split Euler's integral at its bend y = log(e) when log(e) exceeds this


def _quadrature(
    b: FloatArray, c: FloatArray, z: FloatArray, om: FloatArray, derivatives: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Evaluate ``2F1(1, b; c; z)`` and its derivatives from Euler's integral (``z > 0.8``).

    `om` is ``1 - z``, given separately for accuracy near ``z = 1``.
    """
    n_rows = b.shape[0]
    s_val = np.empty(n_rows)
    s_b = np.zeros(n_rows)
    s_c = np.zeros(n_rows)
    s_z = np.zeros(n_rows)
    log1mz = np.log(om)
    bend = np.log(z) - log1mz
    for split in (False, True):
        rows = np.flatnonzero((bend > _SPLIT_AT) == split)
        if rows.size == 0:
            continue
        n_nodes = _NODES.shape[0] + (_SPLIT_NODES.shape[0] if split else 0)
        block = max(1, _BLOCK_ELEMENTS // n_nodes)
        for start in range(0, rows.size, block):
            sl = rows[start : start + block]
            if split:
                # From the bend outwards, and from 0 to the bend: nodes crowd on both sides.
                y = np.concatenate(
                    [bend[sl, None] + _NODES[None, :], bend[sl, None] * _SPLIT_NODES[None, :]],
                    axis=1,
                )
                log_w = np.concatenate(
                    [
                        np.broadcast_to(_LOG_WEIGHTS, (sl.size, _NODES.shape[0])),
                        np.log(bend[sl])[:, None] + _SPLIT_LOG_WEIGHTS[None, :],
                    ],
                    axis=1,
                )
            else:
                y = np.broadcast_to(_NODES, (sl.size, _NODES.shape[0]))
                log_w = np.broadcast_to(_LOG_WEIGHTS, y.shape)
            kappa = c[sl] - 1.0
            u = bend[sl, None] - y
            # log(1 + e exp(-y)) without overflow
            softplus = np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))
            log_f = -kappa[:, None] * y - b[sl, None] * softplus + log_w
            peak = log_f.max(axis=1)
            weights = np.exp(log_f - peak[:, None])
            total = weights.sum(axis=1)
            value = np.exp(np.log(kappa) - b[sl] * log1mz[sl] + peak + np.log(total))
            s_val[sl] = value
            if derivatives:
                mean_y = np.einsum("ij,ij->i", weights, y) / total
                mean_softplus = np.einsum("ij,ij->i", weights, softplus) / total
                mean_sigmoid = np.einsum("ij,ij->i", weights, special.expit(u)) / total
                s_b[sl] = value * (-log1mz[sl] - mean_softplus)
                s_c[sl] = value * (1.0 / kappa - mean_y)
                s_z[sl] = value * b[sl] / om[sl] * (1.0 - mean_sigmoid / z[sl])
    return s_val, s_b, s_c, s_z


def gauss_series(
    b: FloatArray,
    c: FloatArray,
    z: FloatArray,
    *,
    one_minus_z: FloatArray | None = None,
    derivatives: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return ``S = 2F1(1, b; c; z)`` and its partial derivatives in ``b``, ``c`` and ``z``.

    Parameters
    ----------
    b, c, z : numpy.ndarray
        One-dimensional arrays of equal length with ``0 < b <= c``, ``c > 1`` and
        ``0 <= z < 1``.
    one_minus_z : numpy.ndarray, optional
        ``1 - z`` computed without cancellation by the caller; near ``z = 1`` it carries the
        accuracy of the result (``S`` grows like ``(1 - z)**(c - b - 1)``). Defaults to
        ``1 - z``.
    derivatives : bool
        Compute the derivatives (otherwise they are returned as zeros).

    Returns
    -------
    tuple of numpy.ndarray
        ``S``, ``dS/db``, ``dS/dc`` and ``dS/dz``.
    """
    n_rows = b.shape[0]
    if n_rows == 0:
        return np.ones(0), np.zeros(0), np.zeros(0), np.zeros(0)
    om = 1.0 - z if one_minus_z is None else one_minus_z
    # Histories often share (b, c, z), e.g. every customer without repeat purchases at t = 0.
    codes, first = distinct_rows((b, c, z, om))
    n_unique = first.shape[0]
    ub, uc, uz, uom = b[first], c[first], z[first], om[first]
    near = uz > _QUADRATURE_Z
    unique_out = tuple(np.empty(n_unique) for _ in range(4))
    if near.any():
        values = _quadrature(ub[near], uc[near], uz[near], uom[near], derivatives)
        for target, part in zip(unique_out, values, strict=True):
            target[near] = part
    if (~near).any():
        values = _series(ub[~near], uc[~near], uz[~near], derivatives)
        for target, part in zip(unique_out, values, strict=True):
            target[~near] = part
    s_val, s_b, s_c, s_z = (np.asarray(values[codes], dtype=np.float64) for values in unique_out)
    return s_val, s_b, s_c, s_z


def expm1_ratio(k: FloatArray | float, u: FloatArray) -> FloatArray:
    """Return ``(1 - exp(-k u)) / k``, continuous at ``k == 0`` where it equals ``u``."""
    k_arr = np.asarray(k, dtype=np.float64)
    small = np.abs(k_arr) < 1e-10
    safe_k = np.where(small, 1.0, k_arr)
    out: FloatArray = np.where(small, u, -np.expm1(-k_arr * u) / safe_k)
    return out
