"""The BG/NBD model (Fader, Hardie & Lee 2005) and its MBG/NBD variant (Batislam et al. 2007)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._base import TransactionModel
from b2bclient.btyd._bg_expectation import bg_expectation
from b2bclient.btyd._mle import LogLikSum, Rows, Theta
from b2bclient.btyd._validation import FloatArray, RFMArrays

__all__ = ["BetaGeo", "ModifiedBetaGeo"]

_COVARIATE_TARGETS = ("alpha", "a", "b")


def _per_x(fn: Any, param: float | FloatArray, rows: Rows, offset: float = 0.0) -> FloatArray:
    """Evaluate ``fn(param + x + offset)``, on the distinct frequencies when `param` is a scalar."""
    if np.ndim(param) == 0:
        return rows.per_x(fn(param + rows.x_unique + offset))
    out: FloatArray = fn(param + rows["x"] + offset)
    return out


def _bg_family_loglik(
    theta: Theta, rows: Rows, grad: bool, modified: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Per-row log-likelihood of BG/NBD (``modified=False``) or MBG/NBD and its gradient.

    With ``shift = 1`` for MBG/NBD and 0 for BG/NBD,
    ``log L = log G(r+x)/G(r) + r log(alpha) + log B(a, b+x+shift)/B(a, b) - (r+x) log(alpha+T)
    + softplus(z)`` with ``z = log a - log(b+x-1+shift) + (r+x) log((alpha+T)/(alpha+t_x))``;
    for BG/NBD the softplus term is absent when ``x == 0``.
    """
    r, alpha, a, b = theta
    x = rows["x"]
    tx = rows["tx"]
    t_obs = rows["T"]
    shift = 1.0 if modified else 0.0
    log_gamma_r = _per_x(special.gammaln, r, rows) - special.gammaln(r)
    ab = np.asarray(a) + np.asarray(b)
    log_beta = (
        special.gammaln(ab)
        + _per_x(special.gammaln, b, rows, shift)
        - special.gammaln(b)
        - _per_x(special.gammaln, ab, rows, shift)
    )
    # b + x - 1 for BG/NBD is only used where x > 0; max(x, 1) keeps it positive elsewhere.
    b_dead = np.asarray(b) + np.maximum(x, 1.0 - shift) - 1.0 + shift
    log_at = np.log(alpha + t_obs)
    log_atx = np.log(alpha + tx)
    rx = r + x
    z = np.log(a) - np.log(b_dead) + rx * (log_at - log_atx)
    if not modified:
        z = np.where(x > 0, z, -np.inf)
    log_alpha = np.log(alpha)
    ll = log_gamma_r + r * log_alpha + log_beta - rx * log_at + np.logaddexp(0.0, z)
    if not grad:
        return ll, None
    sig = special.expit(z)
    psi_ab = special.digamma(ab)
    psi_abx = _per_x(special.digamma, ab, rows, shift)
    d_r = (
        _per_x(special.digamma, r, rows)
        - special.digamma(r)
        + log_alpha
        - log_at
        + sig * (log_at - log_atx)
    )
    d_alpha = (
        r / alpha - rx / (alpha + t_obs) + sig * rx * (1.0 / (alpha + t_obs) - 1.0 / (alpha + tx))
    )
    d_a = psi_ab - psi_abx + sig / a
    d_b = (
        psi_ab
        + _per_x(special.digamma, b, rows, shift)
        - special.digamma(b)
        - psi_abx
        - sig / b_dead
    )
    g = np.empty((x.shape[0], 4))
    g[:, 0] = d_r * r
    g[:, 1] = d_alpha * alpha
    g[:, 2] = d_a * a
    g[:, 3] = d_b * b
    return ll, g


def _dot(u: FloatArray, v: FloatArray) -> float:
    """Return ``u @ v`` without BLAS, whose threads thrash on busy machines for 1-D products."""
    return float(np.einsum("i,i->", u, v))


def _softplus_sigmoid(z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``log(1 + exp(z))`` and ``1 / (1 + exp(-z))`` from a single exponential."""
    e = np.exp(-np.abs(z))
    q = 1.0 + e
    softplus = np.maximum(z, 0.0) + np.log(q)
    sig = np.where(z >= 0, 1.0, e) / q
    return softplus, sig


def _active_rows(rows: Rows, modified: bool) -> dict[str, Any]:
    """Return (cached) the rows whose likelihood has a dropout term, with derived arrays.

    For BG/NBD these are the customers with repeat purchases; for MBG/NBD every customer.
    """
    key = "mbg_rows" if modified else "bg_rows"
    if key not in rows.cache:
        x = rows["x"]
        if modified:
            pick: Any = slice(None)
        else:
            pick = np.flatnonzero(x > 0)
        rows.cache[key] = {
            "pick": pick,
            "x": x[pick],
            "tx": rows["tx"][pick],
            "w": rows.weights[pick],
            "x_inverse": rows.x_inverse[pick],
            "wx": rows.weights * x,
        }
    out: dict[str, Any] = rows.cache[key]
    return out


def _bg_family_sums(theta: Theta, rows: Rows, modified: bool) -> tuple[float, FloatArray]:
    """Return the weighted total of `_bg_family_loglik` and its gradient in the log-parameters.

    Same formulas, arranged so that terms depending only on the frequency are evaluated once
    per distinct frequency and weighted by its number of customers, and per-row work is limited
    to the terms in ``T`` and ``t_x``. Used for fits without covariates.
    """
    r, alpha, a, b = (float(p) for p in theta)
    shift = 1.0 if modified else 0.0
    xu = rows.x_unique
    w_x = rows.weight_per_x
    n = float(w_x.sum())
    act = _active_rows(rows, modified)
    b_dead = b + np.maximum(xu, 1.0 - shift) - 1.0 + shift
    log_ratio = np.log(a) - np.log(b_dead)
    per_x_ll = (
        special.gammaln(r + xu)
        - special.gammaln(r)
        + special.gammaln(a + b)
        + special.gammaln(b + xu + shift)
        - special.gammaln(b)
        - special.gammaln(a + b + xu + shift)
    )
    w = rows.weights
    log_at = np.log(alpha + rows["T"])
    inv_at = 1.0 / (alpha + rows["T"])
    s_log_at = _dot(w, log_at)
    s_inv_at = _dot(w, inv_at)
    wx = act["wx"]
    log_at_act = log_at[act["pick"]]
    inv_at_act = inv_at[act["pick"]]
    tx = act["tx"]
    rx = r + act["x"]
    d_log = log_at_act - np.log(alpha + tx)
    z = log_ratio[act["x_inverse"]] + rx * d_log
    softplus, sig = _softplus_sigmoid(z)
    w_sig = act["w"] * sig
    log_alpha = np.log(alpha)
    total = (
        _dot(w_x, per_x_ll)
        + n * r * log_alpha
        - (r * s_log_at + _dot(wx, log_at))
        + _dot(act["w"], softplus)
    )
    sig_per_x = np.asarray(
        np.bincount(act["x_inverse"], weights=w_sig, minlength=xu.shape[0]), dtype=np.float64
    )
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + xu + shift)
    d_r = (
        _dot(w_x, special.digamma(r + xu) - special.digamma(r))
        + n * log_alpha
        - s_log_at
        + _dot(w_sig, d_log)
    )
    d_alpha = (
        n * r / alpha
        - (r * s_inv_at + _dot(wx, inv_at))
        + _dot(w_sig * rx, inv_at_act - 1.0 / (alpha + tx))
    )
    d_a = _dot(w_x, psi_ab - psi_abx) + float(sig_per_x.sum()) / a
    d_b = _dot(w_x, psi_ab + special.digamma(b + xu + shift) - special.digamma(b) - psi_abx) - _dot(
        sig_per_x, 1.0 / b_dead
    )
    return total, np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def _bg_starts(rfm: RFMArrays) -> list[FloatArray]:
    scale = max(float(np.max(rfm.T)), 1e-3) / 10.0
    mean_rate = (float(np.mean(rfm.frequency)) + 0.1) / max(float(np.mean(rfm.T)), 1e-3)
    return [
        np.log([1.0, scale, 1.0, 1.0]),
        np.log([0.5, 0.5 / mean_rate, 0.5, 2.0]),
        np.log([2.0, 2.0 / mean_rate, 2.0, 5.0]),
    ]


def _bg_sums(theta: Theta, rows: Rows) -> tuple[float, FloatArray]:
    return _bg_family_sums(theta, rows, modified=False)


def _mbg_sums(theta: Theta, rows: Rows) -> tuple[float, FloatArray]:
    return _bg_family_sums(theta, rows, modified=True)


def _simulate_bg_family(
    theta: Theta, t_obs: FloatArray, rng: np.random.Generator, modified: bool
) -> tuple[FloatArray, FloatArray]:
    r, alpha, a, b = (np.broadcast_to(np.asarray(p, dtype=np.float64), t_obs.shape) for p in theta)
    lam = rng.gamma(r, 1.0 / alpha)
    p = rng.beta(a, b)
    arrivals = rng.poisson(lam * t_obs).astype(np.float64)
    # Repeat purchases made before dropping out: BG/NBD drops out after a repeat purchase,
    # MBG/NBD may also drop out right after the first purchase.
    survived = rng.geometric(p).astype(np.float64) - (1.0 if modified else 0.0)
    x = np.minimum(survived, arrivals)
    has = x > 0
    # The x-th of `arrivals` uniform arrival times on (0, T) is T * Beta(x, arrivals - x + 1).
    frac = rng.beta(np.where(has, x, 1.0), np.where(has, arrivals - x + 1.0, 1.0))
    tx = np.where(has, t_obs * frac, 0.0)
    return x, tx


class _BetaGeoFamily(TransactionModel):
    """The BG/NBD and MBG/NBD models, which differ only in when a customer may first drop out.

    With ``_modified`` the dropout chance also applies right after the first purchase.
    """

    _names = ("r", "alpha", "a", "b")
    _modified: ClassVar[bool]

    def _loglik(self, theta: Theta, rows: Rows, grad: bool) -> tuple[FloatArray, FloatArray | None]:
        return _bg_family_loglik(theta, rows, grad, modified=self._modified)

    def _starts(self, rfm: RFMArrays) -> list[FloatArray]:
        return _bg_starts(rfm)

    def _summed_loglik(self) -> LogLikSum:
        return _mbg_sums if self._modified else _bg_sums

    def _expected_if_alive(
        self, theta: Theta, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        # Given the history, the dropout probability is Beta(a, b + x) (Beta(a, b + x + 1)
        # when a customer may also drop out right after the first purchase).
        extra = 1.0 if self._modified else 0.0
        return bg_expectation(a, np.add(b, x + extra), np.add(r, x), t / (alpha + T))

    def _simulate(
        self, theta: Theta, t_obs: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        return _simulate_bg_family(theta, t_obs, rng, modified=self._modified)


class BetaGeo(_BetaGeoFamily):
    """Fit the BG/NBD model of repeat purchasing and dropout (Fader, Hardie & Lee 2005).

    While active, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``
    (shape ``r``, rate ``alpha``); after each repeat purchase the customer drops out with
    probability ``p ~ Beta(a, b)``. The model is fitted to an RFM summary by maximum likelihood
    (L-BFGS-B on log-parameters with the analytic gradient; identical histories are grouped).

    Optional time-invariant covariates follow Fader & Hardie (2007), "Incorporating
    time-invariant covariates into the Pareto/NBD and BG/NBD models": for customer ``i`` with
    covariates ``x_i``, ``alpha_i = alpha * exp(-gamma1 @ x_i)`` (a positive ``gamma1`` raises
    the purchase rate), ``a_i = a * exp(gamma2 @ x_i)`` and ``b_i = b * exp(gamma3 @ x_i)``.
    The note uses one coefficient vector for both ``a`` and ``b``; separate ``gamma2`` and
    ``gamma3`` let covariates move the mean dropout probability ``a / (a + b)`` and not only its
    spread. The baseline parameters describe a customer whose covariates are all 0, so centre
    the covariates for readable baselines.

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty ``penalizer * (sum(log(theta)**2) + sum(gamma**2))`` on the
        logarithms of the parameters and on the covariate coefficients, added to the mean
        negative log-likelihood. A small value such as 0.001 keeps parameters finite and
        positive on thin data. (lifetimes penalises ``theta**2``, which cannot stop a parameter
        from collapsing to 0.)
    covariates_on : tuple of str, default ("alpha", "a", "b")
        Which parameters covariates act on, a subset of ``("alpha", "a", "b")``; only used
        when `fit` receives covariates.

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha``, ``a``, ``b`` and, with covariates, ``gamma1[<name>]``,
        ``gamma2[<name>]``, ``gamma3[<name>]``.
    log_likelihood_ : float
        Log-likelihood of the summary at ``params_`` (without the penalty).
    standard_errors_ : pandas.Series
        Standard errors from the inverse Hessian (delta method for the positive parameters).
    covariance_ : pandas.DataFrame
        Covariance matrix of ``params_``.
    summary_ : pandas.DataFrame
        ``coef``, ``se(coef)`` and a 95% interval (on the log scale for positive parameters,
        so it stays positive).
    covariate_names_ : list of str
        Covariates the model was fitted with (empty without covariates).
    n_customers_ : int
        Number of customers in the fitted summary.
    time_unit_ : str or None
        Period of the summary (``summary.attrs["freq"]``, set by :func:`rfm_summary`).

    See Also
    --------
    ModifiedBetaGeo, ParetoNBD, GammaGamma, rfm_summary

    Examples
    --------
    >>> import b2bclient.btyd as btyd
    >>> truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=40.0, n_customers=5000, params=truth,
    ...                                random_state=1)
    >>> bg = btyd.BetaGeo().fit(sample)
    >>> list(bg.params_.index)
    ['r', 'alpha', 'a', 'b']
    >>> bool(abs(bg.params_["r"] - 0.25) < 3 * bg.standard_errors_["r"])
    True
    """

    _modified = False
    _links = (("alpha", "gamma1", -1.0), ("a", "gamma2", 1.0), ("b", "gamma3", 1.0))

    def __init__(
        self, *, penalizer: float = 0.0, covariates_on: Sequence[str] = _COVARIATE_TARGETS
    ) -> None:
        self.penalizer = penalizer
        self.covariates_on = covariates_on

    def _active_links(self) -> tuple[tuple[str, str, float], ...]:
        on = self.covariates_on
        if isinstance(on, str):
            on = (on,)
        try:
            chosen = tuple(on)
        except TypeError:
            chosen = ()
        if not chosen or any(c not in _COVARIATE_TARGETS for c in chosen):
            raise InvalidParameterError(
                f"The 'covariates_on' parameter of BetaGeo must be a non-empty subset of "
                f"{_COVARIATE_TARGETS}. Got {self.covariates_on!r} instead."
            )
        return tuple(link for link in self._links if link[0] in chosen)

    def fit(self, summary: pd.DataFrame, covariates: Any = None) -> BetaGeo:
        """Estimate the BG/NBD parameters from an RFM summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer with ``frequency`` (repeat purchases, whole numbers),
            ``recency`` (time of the last purchase since the first) and ``T`` (time since the
            first purchase), all in one time unit, as returned by :func:`rfm_summary`.
        covariates : list of str, pandas.DataFrame or array-like, optional
            Time-invariant covariates: names of numeric columns of `summary`, a numeric
            DataFrame indexed like `summary`, or an array with one row per customer.

        Returns
        -------
        BetaGeo
            The fitted model.

        Raises
        ------
        InvalidParameterError
            If the summary or a parameter is invalid.
        ConvergenceError
            If the likelihood cannot be maximised; the message suggests a remedy.

        Examples
        --------
        >>> import b2bclient.btyd as btyd
        >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=52.0, n_customers=3000,
        ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
        >>> btyd.BetaGeo().fit(sample).params_.round(1).tolist()
        [0.5, 4.6, 1.3, 6.3]
        """
        self._active_links()
        self._fit(summary, covariates)
        return self

    def _p_alive(self, theta: Theta, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        z = (
            np.log(a)
            - np.log(np.asarray(b) + np.maximum(x, 1.0) - 1.0)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
        out: FloatArray = np.where(x > 0, special.expit(-z), 1.0)
        return out

    def _unconditional(self, theta: Theta, t: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        return bg_expectation(a, b, r, t / alpha)


class ModifiedBetaGeo(_BetaGeoFamily):
    """Fit the MBG/NBD model, a BG/NBD variant where customers may drop out after any purchase.

    As in :class:`BetaGeo`, an active customer buys at rate ``lambda ~ Gamma(r, alpha)`` and
    drops out with probability ``p ~ Beta(a, b)`` after each purchase, but the dropout chance
    also applies right after the first purchase, so a customer without repeat purchases is not
    certainly alive (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008's central variant
    of the BG/NBD). Predictions match lifetimes' ``ModifiedBetaGeoFitter``.

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty on the logarithms of the parameters, added to the mean negative
        log-likelihood (see :class:`BetaGeo`).

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha``, ``a`` and ``b``.
    log_likelihood_ : float
        Log-likelihood of the summary at ``params_``.
    standard_errors_ : pandas.Series
        Standard errors of ``params_``.
    covariance_ : pandas.DataFrame
        Covariance matrix of ``params_``.
    summary_ : pandas.DataFrame
        ``coef``, ``se(coef)`` and a 95% interval.
    covariate_names_ : list of str
        Always empty.
    n_customers_ : int
        Number of customers in the fitted summary.
    time_unit_ : str or None
        Period of the summary, when known.

    Examples
    --------
    >>> import b2bclient.btyd as btyd
    >>> sample = btyd.simulate_summary(btyd.ModifiedBetaGeo, T=40.0, n_customers=3000,
    ...     params={"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}, random_state=0)
    >>> mbg = btyd.ModifiedBetaGeo().fit(sample)
    >>> bool(mbg.p_alive(frequency=[0], recency=[0], T=[40])[0] < 1.0)
    True
    """

    _modified = True

    def fit(self, summary: pd.DataFrame) -> ModifiedBetaGeo:
        """Estimate the MBG/NBD parameters from an RFM summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer with ``frequency``, ``recency`` and ``T`` (see
            :func:`rfm_summary`).

        Returns
        -------
        ModifiedBetaGeo
            The fitted model.

        Raises
        ------
        InvalidParameterError
            If the summary or a parameter is invalid.
        ConvergenceError
            If the likelihood cannot be maximised.

        Examples
        --------
        >>> import b2bclient.btyd as btyd
        >>> sample = btyd.simulate_summary(btyd.ModifiedBetaGeo, T=40.0, n_customers=1000,
        ...     params={"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}, random_state=0)
        >>> btyd.ModifiedBetaGeo().fit(sample).log_likelihood_ < 0
        True
        """
        self._fit(summary)
        return self

    def _p_alive(self, theta: Theta, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        z = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        out: FloatArray = special.expit(-z)
        return out

    def _unconditional(self, theta: Theta, t: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        # A new customer may drop out right after the first purchase: P(alive) = b / (a + b).
        out: FloatArray = bg_expectation(a, np.add(b, 1.0), r, t / alpha) * (b / (a + b))
        return out
