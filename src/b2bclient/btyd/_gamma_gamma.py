"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005 note; Colombo & Jiang)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._base import TransactionModel
from b2bclient.btyd._mle import Design, Rows, Theta, fit_mle, fitted_state, group_rows
from b2bclient.btyd._validation import (
    FloatArray,
    check_fitted,
    check_penalizer,
    labels,
    monetary_array,
    summary_columns,
)
from b2bclient.btyd._value import lifetime_value

__all__ = ["GammaGamma"]


def _frequency_array(
    summary: pd.DataFrame | None, frequency: Any, *, owner: str
) -> tuple[FloatArray, pd.Index | None]:
    columns, index = summary_columns(summary, {"frequency": frequency}, owner=owner)
    x = columns["frequency"]
    bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
    if bad.any():
        raise InvalidParameterError(
            f"The 'frequency' values given to {owner} must be whole numbers >= 0; "
            f"{labels(index, bad)} are not. Count repeat purchase periods, as rfm_summary does."
        )
    return x, index


def _gg_loglik(theta: Theta, rows: Rows, grad: bool) -> tuple[FloatArray, FloatArray | None]:
    """Per-row log-density of the average spend ``m`` of ``x`` transactions and its gradient.

    ``log f = log G(px+q) - log G(px) - log G(q) + q log v + (px-1) log m + px log x
    - (px+q) log(v + m x)``.
    """
    p, q, v = (float(t) for t in theta)
    x = rows["x"]
    m = rows["m"]
    px = p * x
    log_vmx = np.log(v + m * x)
    log_m = np.log(m)
    log_x = np.log(x)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * log_m
        + px * log_x
        - (px + q) * log_vmx
    )
    if not grad:
        return ll, None
    psi_pxq = special.digamma(px + q)
    g = np.empty((x.shape[0], 3))
    g[:, 0] = p * x * (psi_pxq - special.digamma(px) + log_m + log_x - log_vmx)
    g[:, 1] = q * (psi_pxq - special.digamma(q) + np.log(v) - log_vmx)
    g[:, 2] = v * (q / v - (px + q) / (v + m * x))
    return ll, g


def _money_scale(mean_spend: float) -> float:
    """Return the power of ten that spend is divided by for the fit (1 for ordinary amounts)."""
    if 1e-3 <= mean_spend <= 1e6 or not np.isfinite(mean_spend) or mean_spend <= 0:
        return 1.0
    return float(10.0 ** np.floor(np.log10(mean_spend)))


def _rescale_v(state: dict[str, Any], scale: float, *, n_customers: int) -> dict[str, Any]:
    """Express a state fitted on spend divided by `scale` in the units of the spend.

    ``v`` (a rate of spend) and everything about it scale by `scale`; ``p`` and ``q`` do not.
    The density of the average spend ``m`` is that of ``m / scale`` divided by `scale`, so the
    log-likelihood drops by ``log(scale)`` per customer.
    """
    factor = pd.Series(1.0, index=state["params_"].index)
    factor["v"] = scale
    out = dict(state)
    out["params_"] = state["params_"] * factor
    out["standard_errors_"] = state["standard_errors_"] * factor
    covariance = state["covariance_"] * np.outer(factor, factor)
    out["covariance_"] = covariance
    summary = state["summary_"].copy()
    for column in summary.columns:
        summary[column] = summary[column] * factor
    out["summary_"] = summary
    out["log_likelihood_"] = state["log_likelihood_"] - n_customers * float(np.log(scale))
    return out


class GammaGamma(BaseEstimator):  # type: ignore[misc]
    """Fit the Gamma-Gamma model of the value of a customer's transactions.

    A customer's transaction values are ``Gamma(p, nu)`` with a customer-specific rate
    ``nu ~ Gamma(q, v)``, independent of the purchase process; the model is fitted to the
    average value ``monetary_value`` of each customer's ``frequency`` repeat transactions
    (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves", and Fader & Hardie's
    note on the Gamma-Gamma model). Customers without repeat purchases carry no information
    about spend in this model: `fit` ignores them and counts them in ``n_ignored_``.

    Parameters
    ----------
    penalizer : float, default 0.0
        Weight of an L2 penalty on the logarithms of the parameters, added to the mean negative
        log-likelihood (see :class:`BetaGeo`).

    Attributes
    ----------
    params_ : pandas.Series
        ``p``, ``q`` and ``v``.
    log_likelihood_ : float
        Log-likelihood of the repeat buyers' average spend at ``params_``.
    standard_errors_ : pandas.Series
        Standard errors of ``params_``.
    covariance_ : pandas.DataFrame
        Covariance matrix of ``params_``.
    summary_ : pandas.DataFrame
        ``coef``, ``se(coef)`` and a 95% interval.
    n_customers_ : int
        Number of repeat buyers the model was fitted on.
    n_ignored_ : int
        Number of customers without repeat purchases that `fit` left out.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import b2bclient.btyd as btyd
    >>> rng = np.random.default_rng(0)
    >>> frequency = rng.integers(1, 10, size=3000)
    >>> nu = rng.gamma(3.7, 1 / 15.4, size=3000)
    >>> spend = rng.gamma(6.25 * frequency, 1 / nu) / frequency
    >>> summary = pd.DataFrame({"frequency": frequency, "monetary_value": spend})
    >>> gg = btyd.GammaGamma().fit(summary)
    >>> bool(gg.conditional_expected_average_profit(summary).gt(0).all())
    True
    """

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame) -> GammaGamma:
        """Estimate ``p``, ``q`` and ``v`` from the repeat buyers of a summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer with ``frequency`` (repeat purchases) and ``monetary_value``
            (average value of the repeat purchases), as from :func:`rfm_summary`.

        Returns
        -------
        GammaGamma
            The fitted model.

        Raises
        ------
        InvalidParameterError
            If a column is missing, a frequency is not a whole number, or a repeat buyer's
            ``monetary_value`` is not positive.
        ConvergenceError
            If the likelihood cannot be maximised.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> summary = pd.DataFrame({"frequency": [0, 1, 2, 3, 1, 4, 2, 6],
        ...                         "monetary_value": [0, 20.0, 35.0, 18.0, 52.0, 25.0, 31.0, 22.0]})
        >>> btyd.GammaGamma(penalizer=0.01).fit(summary).n_ignored_
        1
        """
        owner = "GammaGamma.fit"
        penalizer = check_penalizer(self.penalizer, "GammaGamma")
        x, index = _frequency_array(summary, None, owner=owner)
        m = monetary_array(summary, None, x, index, owner=owner)
        repeat = x > 0
        if repeat.sum() < 2:
            raise InvalidParameterError(
                f"GammaGamma.fit needs at least two customers with repeat purchases (frequency "
                f"> 0) to estimate spend; got {int(repeat.sum())}."
            )
        # The likelihood is maximised over log-parameters within +-23 (about 1e10), and v is on
        # the scale of the spend: amounts of 1e12 would push it past the bound. Fitting on spend
        # in units of a power of ten and scaling v back gives the same fit at any scale.
        scale = _money_scale(float(np.mean(m[repeat])))
        rows = group_rows({"x": x[repeat], "m": m[repeat] / scale})
        mean_m = float(np.mean(m[repeat])) / scale
        starts = [
            np.log([1.0, 2.0, mean_m]),
            np.log([5.0, 3.0, 0.4 * mean_m]),
            np.log([0.5, 1.5, 0.5 * mean_m]),
        ]
        design = Design(("p", "q", "v"))
        result = fit_mle(
            _gg_loglik,
            design,
            rows,
            starts,
            penalizer=penalizer,
            owner="GammaGamma",
            stacklevel=3,
            weak_hint=(
                "This is common with few repeat buyers: fit on more of them, or shrink the fit "
                "with a small penalty such as penalizer=0.01."
            ),
        )
        state = fitted_state(design, result)
        if scale != 1.0:
            state = _rescale_v(state, scale, n_customers=int(repeat.sum()))
        for name, value in state.items():
            setattr(self, name, value)
        self.n_customers_ = int(repeat.sum())
        self.n_ignored_ = int((~repeat).sum())
        return self

    def conditional_expected_average_profit(
        self,
        summary: pd.DataFrame | None = None,
        *,
        frequency: Any = None,
        monetary_value: Any = None,
    ) -> pd.Series | FloatArray:
        """Return each customer's expected value per transaction, given their history.

        The estimate ``(v + m x) p / (p x + q - 1)`` shrinks a customer's observed average
        ``m`` of ``x`` repeat transactions towards the population mean ``p v / (q - 1)``;
        customers without repeat purchases get the population mean (infinite when
        ``q <= 1``, where the model has no finite mean).

        Parameters
        ----------
        summary : pandas.DataFrame, optional
            Frame with ``frequency`` and ``monetary_value``.
        frequency, monetary_value : array-like, optional
            The same two quantities as arrays, instead of `summary`.

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series named ``expected_average_profit`` indexed like `summary`, or an array.

        Examples
        --------
        >>> import pandas as pd
        >>> import b2bclient.btyd as btyd
        >>> summary = pd.DataFrame({"frequency": [1, 2, 3, 1, 4, 2, 6],
        ...                         "monetary_value": [20.0, 35.0, 18.0, 52.0, 25.0, 31.0, 22.0]})
        >>> gg = btyd.GammaGamma(penalizer=0.01).fit(summary)
        >>> value = gg.conditional_expected_average_profit(frequency=[0, 10], monetary_value=[0, 30])
        >>> value.shape
        (2,)
        """
        owner = "GammaGamma.conditional_expected_average_profit"
        check_fitted(self)
        x, index = _frequency_array(summary, frequency, owner=owner)
        m = monetary_array(summary, monetary_value, x, index, owner=owner)
        p, q, v = (float(self.params_[k]) for k in ("p", "q", "v"))
        m = np.where(x > 0, m, 0.0)
        with np.errstate(divide="ignore"):
            values = (v + m * x) * p / (p * x + q - 1.0)
        values = np.where((x == 0) & (q <= 1.0), np.inf, values)
        if index is not None:
            return pd.Series(values, index=index, name="expected_average_profit")
        out: FloatArray = values
        return out

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        summary: pd.DataFrame,
        *,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str | float | None = None,
        time_unit: str | float | None = None,
    ) -> pd.Series:
        """Return each customer's discounted expected value over the next `time` months.

        Combines the purchases expected by `transaction_model` with this model's expected
        value per purchase; see :func:`lifetime_value` for the discounting convention.

        Parameters
        ----------
        transaction_model : BetaGeo, ModifiedBetaGeo or ParetoNBD
            A fitted transaction model.
        summary : pandas.DataFrame
            RFM summary with ``frequency``, ``recency``, ``T`` and ``monetary_value``.
        time : int, default 12
            Horizon in months.
        discount_rate : float, default 0.01
            Discount rate per month.
        freq : str or float, optional
            Older name of `time_unit`.
        time_unit : str or float, optional
            Unit of recency and ``T`` in the summary (``"D"``, ``"W"``, ``"M"``, ...) or the
            number of those units per month. By default it is read from
            ``summary.attrs["time_unit"]`` (set by :func:`rfm_summary`) or from the transaction
            model.

        Returns
        -------
        pandas.Series
            Lifetime value named ``clv``, indexed like `summary`.

        Examples
        --------
        >>> import numpy as np
        >>> import b2bclient.btyd as btyd
        >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=52.0, n_customers=2000,
        ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
        >>> rng = np.random.default_rng(0)
        >>> sample["monetary_value"] = rng.gamma(4.0, 10.0, size=2000)
        >>> bg = btyd.BetaGeo().fit(sample)
        >>> gg = btyd.GammaGamma().fit(sample)
        >>> clv = gg.customer_lifetime_value(bg, sample, time=12, time_unit="W")
        >>> bool((clv >= 0).all())
        True
        """
        check_fitted(self)
        profit = self.conditional_expected_average_profit(summary)
        return lifetime_value(
            transaction_model,
            summary,
            monetary_value=profit,
            time=time,
            discount_rate=discount_rate,
            freq=freq,
            time_unit=time_unit,
        )
