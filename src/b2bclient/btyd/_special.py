"""Numerically stable special functions for the buy-till-you-die likelihoods and predictions.

Two building blocks:

* :func:`gauss_series` evaluates ``S(b, c, z) = 2F1(1, b; c; z) = sum_n (b)_n / (c)_n z**n`` for
  ``0 <= b <= c`` and ``0 <= z < 1`` together with its exact derivatives in ``b``, ``c`` and ``z``.
  Every term lies in ``[0, z**n]``, so the sum is accurate without cancellation, and the number
  of terms is chosen per block of rows so that the tail is below double precision. The Pareto/NBD
  hypergeometric terms reduce to this series by Euler's transformation (see ``_pareto``), which
  is what gives that model an analytic gradient.
* :func:`bg_expected_term` evaluates ``1 - ((alpha+T)/(alpha+T+t))**(r+x) 2F1(r+x, b+x; c; z)``
  through Euler's transformation ``2F1(a, b; c; z) = (1-z)**(c-a-b) 2F1(c-a, c-b; c; z)``. The
  transformed function has small upper parameters and a large lower one, so it stays close to 1
  even for customers with hundreds of purchases, where the raw form overflows.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from b2bclient.btyd._validation import FloatArray

__all__ = ["bg_expected_term", "expm1_ratio", "gauss_series"]

_TAIL = 1e-17
_MAX_TERMS = 200_000
_BLOCK_ELEMENTS = 1 << 21


def _terms_needed(z: float) -> int:
    """Return how many terms of a series dominated by z**n leave a tail below _TAIL."""
    if z <= 0.0:
        return 2
    n = (np.log(_TAIL) + np.log1p(-z)) / np.log(z)
    return int(min(max(np.ceil(n) + 2, 2), _MAX_TERMS))


def gauss_series(
    b: FloatArray, c: FloatArray, z: FloatArray, *, derivatives: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return ``S = 2F1(1, b; c; z)`` and its partial derivatives in ``b``, ``c`` and ``z``.

    Parameters
    ----------
    b, c, z : numpy.ndarray
        One-dimensional arrays of equal length with ``0 < b <= c`` and ``0 <= z < 1``.
    derivatives : bool
        Compute the derivatives (otherwise they are returned as zeros).

    Returns
    -------
    tuple of numpy.ndarray
        ``S``, ``dS/db``, ``dS/dc`` and ``dS/dz``.
    """
    n_rows = b.shape[0]
    s_val = np.ones(n_rows)
    s_b = np.zeros(n_rows)
    s_c = np.zeros(n_rows)
    s_z = np.zeros(n_rows)
    if n_rows == 0:
        return s_val, s_b, s_c, s_z
    order = np.argsort(z, kind="stable")
    start = 0
    while start < n_rows:
        # Rows are sorted by z, so a block's last row needs the most terms.
        stop = min(n_rows, start + 4096)
        n_terms = _terms_needed(float(z[order[stop - 1]]))
        while n_terms * (stop - start) > _BLOCK_ELEMENTS and stop - start > 1:
            stop = start + max(1, _BLOCK_ELEMENTS // n_terms)
            n_terms = _terms_needed(float(z[order[stop - 1]]))
        idx = order[start:stop]
        bb = b[idx, None]
        cc = c[idx, None]
        zz = z[idx, None]
        j = np.arange(n_terms - 1, dtype=np.float64)[None, :]
        ratio = (bb + j) / (cc + j)
        coef = np.empty((idx.size, n_terms))
        coef[:, 0] = 1.0
        # coef_n = (b)_n / (c)_n, each factor < 1
        np.cumprod(ratio, axis=1, out=coef[:, 1:])
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


def bg_expected_term(
    r: FloatArray | float,
    a: FloatArray | float,
    b: FloatArray | float,
    x: FloatArray,
    shift: float,
    alpha_t: FloatArray,
    t: FloatArray,
) -> FloatArray:
    """Return the bracket of the BG/NBD-family expected-purchases formula, ``c / (a - 1) * [...]``.

    Computes ``(a + b + x + shift) / (a - 1) * (1 - (1-z)**(r+x) 2F1(r+x, b+x+1+shift; a+b+x+shift; z))``
    with ``z = t / (alpha_t + t)``, where ``shift = -1`` gives BG/NBD and ``shift = 0`` the
    MBG/NBD model. With Euler's transformation the bracket is
    ``1 - (1-z)**(a-1) 2F1(a+b-r+shift, a-1; a+b+x+shift; z)``.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    near_one = np.abs(a_arr - 1.0) < 1e-7
    if np.any(near_one):
        # The formula has a removable singularity at a == 1: average the two sides.
        h = 1e-5
        lo = bg_expected_term(r, np.where(near_one, 1.0 - h, a_arr), b, x, shift, alpha_t, t)
        hi = bg_expected_term(r, np.where(near_one, 1.0 + h, a_arr), b, x, shift, alpha_t, t)
        return 0.5 * (lo + hi)
    c = a_arr + b + x + shift
    z = t / (alpha_t + t)
    log1mz = np.log(alpha_t) - np.log(alpha_t + t)
    hyp = special.hyp2f1(a_arr + b - r + shift, a_arr - 1.0, c, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # expm1 keeps accuracy for short horizons, where the bracket is close to 0.
        bracket = np.where(
            hyp > 0,
            -np.expm1((a_arr - 1.0) * log1mz + np.log(np.where(hyp > 0, hyp, 1.0))),
            1.0 - np.exp((a_arr - 1.0) * log1mz) * hyp,
        )
    out: FloatArray = c / (a_arr - 1.0) * bracket
    return out


def expm1_ratio(k: FloatArray | float, u: FloatArray) -> FloatArray:
    """Return ``(1 - exp(-k u)) / k``, continuous at ``k == 0`` where it equals ``u``."""
    k_arr = np.asarray(k, dtype=np.float64)
    small = np.abs(k_arr) < 1e-10
    safe_k = np.where(small, 1.0, k_arr)
    out: FloatArray = np.where(small, u, -np.expm1(-k_arr * u) / safe_k)
    return out
