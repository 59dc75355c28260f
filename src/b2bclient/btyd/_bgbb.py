"""The BG/BB model for discrete purchase opportunities (Fader, Hardie & Shang 2010)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._mle import (
    Design,
    Rows,
    Theta,
    distinct_rows,
    fit_mle,
    fitted_state,
    group_rows,
)
from b2bclient.btyd._validation import (
    DiscreteArrays,
    FloatArray,
    check_fitted,
    check_penalizer,
    discrete_arrays,
    weight_array,
)

__all__ = ["BetaGeoBetaBinom"]

_NAMES = ("alpha", "beta", "gamma", "delta")
_BLOCK_ELEMENTS = 1 << 20


def _terms(theta: Theta, x: FloatArray, tx: FloatArray, n: FloatArray) -> tuple[Any, ...]:
    """Return ``log A``, the ``log B_i`` (one column per ``i``), ``t_x + i`` and which exist.

    ``L = A + sum_{i=0}^{n-t_x-1} B_i`` (Fader, Hardie & Shang 2010, eq. 5) with
    ``A = B(alpha+x, beta+n-x) / B(alpha, beta) * B(gamma, delta+n) / B(gamma, delta)``, the
    customer alive through all ``n`` opportunities, and
    ``B_i = B(alpha+x, beta+t_x-x+i) / B(alpha, beta) * B(gamma+1, delta+t_x+i) / B(gamma, delta)``,
    the customer dying just before opportunity ``t_x + i + 1``.
    """
    alpha, beta, gamma, delta = (float(p) for p in theta)
    base = special.betaln(alpha, beta) + special.betaln(gamma, delta)
    log_a = special.betaln(alpha + x, beta + n - x) + special.betaln(gamma, delta + n) - base
    width = int(np.max(n - tx)) if x.size else 0
    i = np.arange(max(width, 1), dtype=np.float64)[None, :]
    inside = i < (n - tx)[:, None]
    txi = tx[:, None] + i
    log_b = (
        special.betaln(alpha + x[:, None], beta + txi - x[:, None])
        + special.betaln(gamma + 1.0, delta + txi)
        - base
    )
    log_b = np.where(inside, log_b, -np.inf)
    return log_a, log_b, txi, inside


def _bgbb_loglik(theta: Theta, rows: Rows, grad: bool) -> tuple[FloatArray, FloatArray | None]:
    """Per-row BG/BB log-likelihood and its gradient in the log-parameters."""
    alpha, beta, gamma, delta = (float(p) for p in theta)
    x, tx, n = rows["x"], rows["tx"], rows["n"]
    with np.errstate(all="ignore"):
        log_a, log_b, txi, inside = _terms(theta, x, tx, n)
        ll = np.logaddexp(log_a, special.logsumexp(log_b, axis=1))
    if not grad:
        return ll, None
    psi = special.digamma
    w_a = np.exp(log_a - ll)
    w_b = np.where(inside, np.exp(log_b - ll[:, None]), 0.0)
    psi_ab, psi_gd = psi(alpha + beta), psi(gamma + delta)
    common_alpha = psi_ab - psi(alpha)
    common_beta = psi_ab - psi(beta)
    common_delta = psi_gd - psi(delta)
    g = np.empty((x.shape[0], 4))
    # d log A and d log B_i for each parameter, weighted by each term's share of L.
    g[:, 0] = (
        w_a * (psi(alpha + x) - psi(alpha + beta + n))
        + np.einsum("ij,ij->i", w_b, psi(alpha + x)[:, None] - psi(alpha + beta + txi))
        + common_alpha
    )
    g[:, 1] = (
        w_a * (psi(beta + n - x) - psi(alpha + beta + n))
        + np.einsum("ij,ij->i", w_b, psi(beta + txi - x[:, None]) - psi(alpha + beta + txi))
        + common_beta
    )
    g[:, 2] = (
        w_a * (psi(gamma) - psi(gamma + delta + n))
        + np.einsum("ij,ij->i", w_b, psi(gamma + 1.0) - psi(gamma + delta + 1.0 + txi))
        + psi_gd
        - psi(gamma)
    )
    g[:, 3] = (
        w_a * (psi(delta + n) - psi(gamma + delta + n))
        + np.einsum("ij,ij->i", w_b, psi(delta + txi) - psi(gamma + delta + 1.0 + txi))
        + common_delta
    )
    g *= np.array([alpha, beta, gamma, delta])
    return ll, g


def _alive_sum(gamma: float, delta: float, start: FloatArray, t: FloatArray) -> FloatArray:
    """Return ``sum_{j=1..t} B(gamma, delta+start+j) / B(gamma, delta+start)`` element-wise.

    The chance to be alive ``j`` opportunities after being alive at ``start``, summed over the
    next ``t`` opportunities; a direct sum, free of the ``1 / (gamma - 1)`` of the closed form.
    """
    out = np.zeros(start.shape[0])
    if out.size == 0 or float(np.max(t)) <= 0:
        return out
    # A row's terms are B(gamma, d + j) / B(gamma, d) = prod_{m=0}^{j-1} (d + m) / (gamma + d + m).
    span = int(np.max(t))
    block = max(1, _BLOCK_ELEMENTS // span)
    for lo in range(0, start.shape[0], block):
        sl = slice(lo, lo + block)
        d = (delta + start[sl])[:, None]
        m = np.arange(span, dtype=np.float64)[None, :]
        terms = np.cumprod((d + m) / (gamma + d + m), axis=1)
        terms = np.where(m < t[sl, None], terms, 0.0)
        out[sl] = terms.sum(axis=1)
    return out


def _integer_array(values: Any, name: str, owner: str) -> FloatArray:
    message = (
        f"The {name!r} parameter of {owner} must be a whole number of purchase opportunities "
        f"(0, 1, 2, ...). Got {values!r} instead."
    )
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(message) from exc
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InvalidParameterError(message)
    return arr


class BetaGeoBetaBinom(BaseEstimator):  # type: ignore[misc]
    """Fit the BG/BB model of purchases at discrete opportunities (Fader, Hardie & Shang 2010).

    For clients who can only buy at discrete occasions (a yearly tender, a monthly order window,
    an annual contract round). At each opportunity an active customer buys with probability
    ``p ~ Beta(alpha, beta)``; before each opportunity the customer may drop out for good with
    probability ``theta ~ Beta(gamma, delta)``. The data are, per customer, the number of
    opportunities with a purchase after the first purchase (``frequency``), the opportunity of
    the last purchase (``recency``, 0 without) and the number of opportunities observed
    (``n_periods``), as returned by :func:`discrete_summary`. The model is fitted by maximum
    likelihood (L-BFGS-B on log-parameters with the analytic gradient); identical histories are
    grouped, and `fit` takes ``weights`` for summaries already compressed to one row per history.

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty on the logarithms of the parameters, added to the mean negative
        log-likelihood (see :class:`BetaGeo`).

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha``, ``beta`` (purchase probability) and ``gamma``, ``delta`` (dropout).
    log_likelihood_ : float
        Log-likelihood of the (weighted) summary at ``params_``.
    standard_errors_ : pandas.Series
        Standard errors of ``params_`` (inverse Hessian, delta method).
    covariance_ : pandas.DataFrame
        Covariance matrix of ``params_``.
    summary_ : pandas.DataFrame
        ``coef``, ``se(coef)`` and a 95% interval.
    weakly_identified_ : list of str
        Parameters the data barely identify (see :class:`BetaGeo`).
    n_customers_ : float
        Number of customers fitted (the sum of the weights).
    time_unit_ : str or None
        Length of one opportunity (``summary.attrs["period"]``, set by :func:`discrete_summary`).

    See Also
    --------
    discrete_summary, BetaGeo

    Examples
    --------
    >>> import b2bclient.btyd as btyd
    >>> truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    >>> sample = btyd.simulate_summary(btyd.BetaGeoBetaBinom, 6, n_customers=20_000,
    ...                                params=truth, random_state=0)
    >>> bgbb = btyd.BetaGeoBetaBinom().fit(sample)
    >>> bgbb.params_.round(1).tolist()
    [1.2, 0.7, 0.7, 2.9]
    >>> bool(bgbb.p_alive(frequency=[0], recency=[0], n_periods=[6])[0] < 0.5)
    True
    """

    _names = _NAMES

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame, weights: Any = None) -> BetaGeoBetaBinom:
        """Estimate ``alpha``, ``beta``, ``gamma`` and ``delta`` from a discrete-time summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer (or per distinct history, with `weights`) with ``frequency``,
            ``recency`` and ``n_periods``, whole numbers with
            ``frequency <= recency <= n_periods``.
        weights : str, array-like or pandas.Series, optional
            Number of customers each row stands for, for compressed data: a column name of
            `summary`, or one value per row. By default each row is one customer.

        Returns
        -------
        BetaGeoBetaBinom
            The fitted model.

        Raises
        ------
        InvalidParameterError
            If the summary, the weights or a parameter is invalid.
        ConvergenceError
            If the likelihood has no finite maximum.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> compressed = pd.DataFrame({"frequency": [0, 1, 3, 3], "recency": [0, 1, 3, 4],
        ...                            "n_periods": [4, 4, 4, 4], "count": [50, 20, 15, 30]})
        >>> btyd.BetaGeoBetaBinom().fit(compressed, weights="count").n_customers_
        115.0
        """
        owner = "BetaGeoBetaBinom.fit"
        penalizer = check_penalizer(self.penalizer, "BetaGeoBetaBinom")
        if not isinstance(summary, pd.DataFrame):
            raise InvalidParameterError(
                f"{owner} takes a summary DataFrame with columns 'frequency', 'recency' and "
                f"'n_periods' (see b2bclient.btyd.discrete_summary). Got "
                f"{type(summary).__name__} instead."
            )
        data = discrete_arrays(summary, owner=owner)
        w = weight_array(weights, summary, len(data), owner=owner)
        if len(data) == 0:
            raise InvalidParameterError(
                f"{owner} needs at least one customer; the summary is empty. Check the as_of "
                f"date and the period of discrete_summary."
            )
        if not np.any((data.frequency > 0) & (w > 0)):
            raise InvalidParameterError(
                f"{owner} needs some repeat purchases to estimate purchase and dropout "
                f"probabilities; every customer in the summary has frequency 0. Use more "
                f"opportunities (a longer window or a shorter period)."
            )
        keep = w > 0
        rows = group_rows(
            {"x": data.frequency[keep], "tx": data.recency[keep], "n": data.n_periods[keep]},
            weights=w[keep],
        )
        design = Design(_NAMES)
        mean_x = float(np.average(data.frequency, weights=w))
        mean_n = max(float(np.average(data.n_periods, weights=w)), 1.0)
        share = min(max(mean_x / mean_n, 0.05), 0.95)
        starts = [
            np.log([1.0, 1.0, 1.0, 1.0]),
            np.log([2.0 * share, 2.0 * (1.0 - share), 0.5, 2.0]),
            np.log([0.5, 0.5, 2.0, 5.0]),
        ]
        result = fit_mle(
            _bgbb_loglik,
            design,
            rows,
            starts,
            penalizer=penalizer,
            owner="BetaGeoBetaBinom",
            stacklevel=3,
            weak_hint=(
                "This is common with few opportunities per customer, where dropout and a low "
                "purchase probability look alike. Use more opportunities, or shrink the fit "
                "with a small penalty such as penalizer=0.01."
            ),
        )
        for name, value in fitted_state(design, result).items():
            setattr(self, name, value)
        self.n_customers_ = float(np.sum(w))
        unit = summary.attrs.get("period")
        self.time_unit_ = unit if isinstance(unit, str) else None
        return self

    def _theta(self) -> tuple[float, float, float, float]:
        check_fitted(self)
        alpha, beta, gamma, delta = (float(self.params_[name]) for name in _NAMES)
        return alpha, beta, gamma, delta

    def _arrays(
        self, summary: Any, frequency: Any, recency: Any, n_periods: Any, owner: str
    ) -> DiscreteArrays:
        check_fitted(self)
        return discrete_arrays(
            summary, frequency=frequency, recency=recency, n_periods=n_periods, owner=owner
        )

    def _wrap(self, values: FloatArray, data: DiscreteArrays, name: str) -> pd.Series | FloatArray:
        if data.index is not None:
            return pd.Series(values, index=data.index, name=name)
        return values

    def _log_likelihood_rows(self, theta: Theta, data: DiscreteArrays) -> FloatArray:
        # Customers share few distinct histories: evaluate each once.
        codes, first = distinct_rows((data.frequency, data.recency, data.n_periods))
        columns = {"x": data.frequency, "tx": data.recency, "n": data.n_periods}
        rows = Rows({k: v[first] for k, v in columns.items()}, np.ones(first.shape[0]))
        ll, _ = _bgbb_loglik(theta, rows, False)
        out: FloatArray = ll[codes]
        return out

    def _simulate(
        self, theta: Theta, n_periods: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Draw each customer's frequency and recency over `n_periods` opportunities."""
        alpha, beta, gamma, delta = (float(v) for v in theta)
        size = int(n_periods.shape[0])
        p = rng.beta(alpha, beta, size)
        dropout = rng.beta(gamma, delta, size)
        # Opportunities while alive: dropout happens before each one with probability theta.
        alive = np.minimum(rng.geometric(dropout) - 1.0, n_periods)
        x = np.zeros(size)
        tx = np.zeros(size)
        span = int(np.max(alive)) if size else 0
        block = max(1, _BLOCK_ELEMENTS // max(span, 1))
        for lo in range(0, size, block):
            sl = slice(lo, lo + block)
            j = np.arange(1, span + 1, dtype=np.float64)[None, :]
            bought = (rng.random((alive[sl].shape[0], span)) < p[sl, None]) & (j <= alive[sl, None])
            x[sl] = bought.sum(axis=1)
            tx[sl] = np.max(np.where(bought, j, 0.0), axis=1, initial=0.0)
        return x, tx

    def p_alive(
        self,
        summary: pd.DataFrame | None = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        n_periods: Any = None,
        m_periods: int = 0,
    ) -> pd.Series | FloatArray:
        """Return the probability that each customer is alive `m_periods` after the last one.

        With ``m_periods=0`` (default) the customer is still active at the last observed
        opportunity; with 1, at the next one (Fader, Hardie & Shang 2010, eq. 11).

        Parameters
        ----------
        summary : pandas.DataFrame, optional
            Discrete summary with ``frequency``, ``recency`` and ``n_periods``.
        frequency, recency, n_periods : array-like, optional
            The same three quantities as arrays, instead of `summary`.
        m_periods : int, default 0
            Opportunities after the last observed one.

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series named ``p_alive`` indexed like `summary`, or an array for array input.

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        InvalidParameterError
            If the summary or `m_periods` is invalid.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> bgbb = btyd.BetaGeoBetaBinom()
        >>> bgbb.params_ = pd.Series({"alpha": 1.204, "beta": 0.750, "gamma": 0.657,
        ...                           "delta": 2.783})
        >>> history = {"frequency": [3, 3], "recency": [6, 3], "n_periods": [6, 6]}
        >>> bgbb.p_alive(**history).round(3).tolist()
        [1.0, 0.102]
        >>> bgbb.p_alive(**history, m_periods=1).round(3).tolist()
        [0.93, 0.095]
        """
        owner = "BetaGeoBetaBinom.p_alive"
        data = self._arrays(summary, frequency, recency, n_periods, owner)
        m = _integer_array(m_periods, "m_periods", owner)
        alpha, beta, gamma, delta = self._theta()
        theta: Theta = [alpha, beta, gamma, delta]
        x, n = data.frequency, data.n_periods
        with np.errstate(all="ignore"):
            log_alive = (
                special.betaln(alpha + x, beta + n - x)
                - special.betaln(alpha, beta)
                + special.betaln(gamma, delta + n + m)
                - special.betaln(gamma, delta)
            )
            values = np.exp(log_alive - self._log_likelihood_rows(theta, data))
        return self._wrap(values, data, "p_alive")

    def conditional_expected_purchases(
        self,
        t: Any,
        summary: pd.DataFrame | None = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        n_periods: Any = None,
    ) -> pd.Series | FloatArray:
        """Return each customer's expected purchases at the next `t` opportunities.

        ``E = P(alive) E[p | history] sum_{j=1..t} P(alive at n+j | alive at n)`` (Fader,
        Hardie & Shang 2010, eq. 13), the sum taken term by term.

        Parameters
        ----------
        t : int or array-like
            Number of future opportunities, whole and non-negative; an array gives one per
            customer.
        summary : pandas.DataFrame, optional
            Discrete summary with ``frequency``, ``recency`` and ``n_periods``.
        frequency, recency, n_periods : array-like, optional
            The same three quantities as arrays, instead of `summary`.

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series named ``expected_purchases`` indexed like `summary`, or an array.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> bgbb = btyd.BetaGeoBetaBinom()
        >>> bgbb.params_ = pd.Series({"alpha": 1.204, "beta": 0.750, "gamma": 0.657,
        ...                           "delta": 2.783})
        >>> e = bgbb.conditional_expected_purchases(5, frequency=[6, 0], recency=[6, 0],
        ...                                         n_periods=[6, 6])
        >>> e.round(3).tolist()
        [3.752, 0.073]
        """
        owner = "BetaGeoBetaBinom.conditional_expected_purchases"
        data = self._arrays(summary, frequency, recency, n_periods, owner)
        horizon = _integer_array(t, "t", owner)
        if horizon.ndim > 1 or (horizon.ndim == 1 and horizon.shape[0] not in (1, len(data))):
            raise InvalidParameterError(
                f"The 't' parameter of {owner} must be one number of opportunities or one per "
                f"customer ({len(data)}). Got shape {horizon.shape}."
            )
        horizon = np.broadcast_to(horizon.reshape(-1) if horizon.ndim else horizon, (len(data),))
        alpha, beta, gamma, delta = self._theta()
        theta: Theta = [alpha, beta, gamma, delta]
        x, n = data.frequency, data.n_periods
        with np.errstate(all="ignore"):
            alive = np.exp(
                special.betaln(alpha + x, beta + n - x)
                - special.betaln(alpha, beta)
                + special.betaln(gamma, delta + n)
                - special.betaln(gamma, delta)
                - self._log_likelihood_rows(theta, data)
            )
            ahead = _alive_sum(gamma, delta, n, np.asarray(horizon, dtype=np.float64))
            values = alive * (alpha + x) / (alpha + beta + n) * ahead
        return self._wrap(values, data, "expected_purchases")

    def expected_purchases(self, n_periods: Any) -> FloatArray:
        """Return the expected purchases of a new customer at its first `n_periods` opportunities.

        ``E[X(n)] = alpha / (alpha + beta) sum_{j=1..n} B(gamma, delta + j) / B(gamma, delta)``
        (Fader, Hardie & Shang 2010, eq. 9), the sum taken term by term.

        Parameters
        ----------
        n_periods : int or array-like
            Number of opportunities after the first purchase, whole and non-negative.

        Returns
        -------
        numpy.ndarray
            Expected purchases, shaped like `n_periods`.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> bgbb = btyd.BetaGeoBetaBinom()
        >>> bgbb.params_ = pd.Series({"alpha": 1.204, "beta": 0.750, "gamma": 0.657,
        ...                           "delta": 2.783})
        >>> bgbb.expected_purchases([1, 6, 11]).round(3).tolist()
        [0.498, 2.22, 3.388]
        """
        owner = "BetaGeoBetaBinom.expected_purchases"
        n = _integer_array(n_periods, "n_periods", owner)
        alpha, beta, gamma, delta = self._theta()
        flat = n.reshape(-1)
        values = alpha / (alpha + beta) * _alive_sum(gamma, delta, np.zeros_like(flat), flat)
        out: FloatArray = values.reshape(n.shape)
        return out
