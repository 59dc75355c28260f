"""Common base of the transaction models (BG/NBD, MBG/NBD, Pareto/NBD)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._mle import (
    Design,
    LogLikSum,
    Rows,
    Theta,
    fit_mle,
    fitted_state,
    group_rows,
)
from b2bclient.btyd._validation import (
    FloatArray,
    RFMArrays,
    check_fitted,
    check_penalizer,
    covariate_matrix,
    rfm_arrays,
    time_array,
)

__all__ = ["TransactionModel"]


class TransactionModel(BaseEstimator, abc.ABC):  # type: ignore[misc]
    """Shared fitting and prediction logic of the buy-till-you-die transaction models.

    Subclasses define the parameter names, the per-customer log-likelihood with its gradient,
    and the closed forms of P(alive) and of the expected number of purchases.
    """

    _names: ClassVar[tuple[str, ...]] = ()
    _links: ClassVar[tuple[tuple[str, str, float], ...]] = ()

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # -- hooks -------------------------------------------------------------------------------

    @abc.abstractmethod
    def _loglik(
        self, theta: Theta, rows: Rows, grad: bool
    ) -> tuple[FloatArray, FloatArray | None]: ...

    @abc.abstractmethod
    def _starts(self, rfm: RFMArrays) -> list[FloatArray]: ...

    @abc.abstractmethod
    def _p_alive(
        self, theta: Theta, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray: ...

    @abc.abstractmethod
    def _expected_if_alive(
        self, theta: Theta, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Return the expected purchases in the next `t` periods of a customer still alive."""

    @abc.abstractmethod
    def _unconditional(self, theta: Theta, t: FloatArray) -> FloatArray: ...

    @abc.abstractmethod
    def _simulate(
        self, theta: Theta, t_obs: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Draw each customer's frequency and recency over `t_obs` (used by simulate_summary)."""

    def _active_links(self) -> tuple[tuple[str, str, float], ...]:
        return ()

    def _conditional(
        self, theta: Theta, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Return the expected purchases in the next `t` periods given the history."""
        out: FloatArray = self._p_alive(theta, x, tx, T) * self._expected_if_alive(theta, t, x, T)
        return out

    def _summed_loglik(self) -> LogLikSum | None:
        """Return a faster total log-likelihood for fits without covariates, if the model has one."""
        return None

    # -- fitting -----------------------------------------------------------------------------

    def _fit(self, summary: pd.DataFrame, covariates: Any = None) -> TransactionModel:
        owner = type(self).__name__
        penalizer = check_penalizer(self.penalizer, owner)
        if not isinstance(summary, pd.DataFrame):
            raise InvalidParameterError(
                f"{owner}.fit takes a summary DataFrame with columns 'frequency', 'recency' and "
                f"'T' (see b2bclient.btyd.rfm_summary). Got {type(summary).__name__} instead."
            )
        rfm = rfm_arrays(summary, owner=f"{owner}.fit")
        if len(rfm) == 0:
            raise InvalidParameterError(
                f"{owner}.fit needs at least one customer; the summary is empty. Check the "
                f"as_of date of rfm_summary."
            )
        if not np.any(rfm.frequency > 0):
            raise InvalidParameterError(
                f"{owner}.fit needs some repeat purchases to estimate purchase and dropout rates; "
                f"every customer in the summary has frequency 0. Use a longer observation "
                f"window or a finer period (freq='D')."
            )
        cov: FloatArray | None = None
        cov_names: list[str] = []
        if covariates is not None:
            links = self._active_links()
            if not links:
                raise InvalidParameterError(
                    f"{owner} does not take covariates. Use BetaGeo for covariate effects."
                )
            cov, cov_names = covariate_matrix(
                covariates, summary, len(rfm), None, owner=f"{owner}.fit"
            )
            constant = [n for n, col in zip(cov_names, cov.T, strict=True) if np.ptp(col) == 0]
            if constant:
                raise InvalidParameterError(
                    f"The covariate(s) {constant} given to {owner}.fit are constant; the "
                    f"baseline parameters already play the role of an intercept. Drop them."
                )
        design = Design(self._names, self._active_links(), cov_names)
        rows = group_rows({"x": rfm.frequency, "tx": rfm.recency, "T": rfm.T}, cov)
        result = fit_mle(
            self._loglik,
            design,
            rows,
            self._starts(rfm),
            penalizer=penalizer,
            owner=owner,
            loglik_sum=self._summed_loglik(),
        )
        for name, value in fitted_state(design, result).items():
            setattr(self, name, value)
        self.covariate_names_ = list(cov_names)
        self.n_customers_ = len(rfm)
        unit = summary.attrs.get("time_unit", summary.attrs.get("freq"))
        self.time_unit_ = unit if isinstance(unit, str) else None
        return self

    # -- prediction helpers ------------------------------------------------------------------

    def _design(self) -> Design:
        return Design(self._names, self._active_links(), self.covariate_names_)

    def _theta(self, summary: pd.DataFrame | None, covariates: Any, n: int, owner: str) -> Theta:
        check_fitted(self)
        design = self._design()
        params = self.params_.to_numpy()
        theta: Theta = [float(params[i]) for i in range(design.n_base)]
        if not design.links:
            if covariates is not None:
                raise InvalidParameterError(
                    f"This {type(self).__name__} was fitted without covariates; do not pass "
                    f"covariates to {owner}."
                )
            return theta
        if covariates is None and summary is None:
            raise InvalidParameterError(
                f"This {type(self).__name__} was fitted with covariates "
                f"{design.covariate_names}; pass them to {owner} as covariates= (or as columns "
                f"of the summary)."
            )
        matrix, _ = covariate_matrix(covariates, summary, n, design.covariate_names, owner=owner)
        k = len(design.covariate_names)
        for j, (i, _, sign) in enumerate(design.links):
            gamma = params[design.n_base + j * k : design.n_base + (j + 1) * k]
            theta[i] = params[i] * np.exp(sign * (matrix @ gamma))
        return theta

    def _wrap(self, values: FloatArray, rfm: RFMArrays, name: str) -> pd.Series | FloatArray:
        if rfm.index is not None:
            return pd.Series(values, index=rfm.index, name=name)
        return values

    # -- public predictions ------------------------------------------------------------------

    def p_alive(
        self,
        summary: pd.DataFrame | None = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        T: Any = None,
        covariates: Any = None,
    ) -> pd.Series | FloatArray:
        """Return the probability that each customer is still active at the end of observation.

        Parameters
        ----------
        summary : pandas.DataFrame, optional
            RFM summary with columns ``frequency``, ``recency`` and ``T``.
        frequency, recency, T : array-like, optional
            The same three quantities as arrays, instead of `summary`.
        covariates : list of str, pandas.DataFrame or array-like, optional
            Covariates of each customer, for a model fitted with covariates; by default they
            are read from the summary's columns.

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series named ``p_alive`` indexed like `summary`, or an array for array input.

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        InvalidParameterError
            If the summary is malformed.

        Examples
        --------
        >>> import b2bclient.btyd as btyd
        >>> cdnow_like = btyd.simulate_summary(
        ...     btyd.BetaGeo, T=40.0, n_customers=2000, random_state=0,
        ...     params={"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5})
        >>> bg = btyd.BetaGeo().fit(cdnow_like)
        >>> p = bg.p_alive(frequency=[0, 5, 5], recency=[0, 39, 5], T=[40, 40, 40])
        >>> bool(p[0] == 1.0 and p[1] > p[2])
        True
        """
        owner = f"{type(self).__name__}.p_alive"
        check_fitted(self)
        rfm = rfm_arrays(summary, frequency=frequency, recency=recency, T=T, owner=owner)
        theta = self._theta(summary, covariates, len(rfm), owner)
        with np.errstate(all="ignore"):
            values = self._p_alive(theta, rfm.frequency, rfm.recency, rfm.T)
        return self._wrap(values, rfm, "p_alive")

    def expected_purchases(self, t: Any, *, covariates: Any = None) -> FloatArray:
        """Return the expected number of repeat purchases of a new customer within `t` periods.

        The customer has just made a first purchase; `t` is in the time unit of the summary the
        model was fitted on.

        Parameters
        ----------
        t : float or array-like
            Horizon(s), non-negative.
        covariates : pandas.DataFrame or array-like, optional
            Covariates of one or several customers, for a model fitted with covariates (then the
            result has one value per covariate row). Without them the baseline customer is used.

        Returns
        -------
        numpy.ndarray
            Expected repeat purchases, broadcast over `t` (and the covariate rows).

        Examples
        --------
        >>> import b2bclient.btyd as btyd
        >>> sample = btyd.simulate_summary(
        ...     btyd.BetaGeo, T=40.0, n_customers=2000, random_state=0,
        ...     params={"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5})
        >>> bg = btyd.BetaGeo().fit(sample)
        >>> e = bg.expected_purchases([13, 26, 52])
        >>> bool(e[0] < e[1] < e[2])
        True
        """
        owner = f"{type(self).__name__}.expected_purchases"
        check_fitted(self)
        t_arr = time_array(t, owner=owner)
        if covariates is None:
            params = self.params_.to_numpy()
            theta: Theta = [float(params[i]) for i in range(len(self._names))]
        else:
            n = len(covariates) if hasattr(covariates, "__len__") else 1
            theta = self._theta(None, covariates, n, owner)
        with np.errstate(all="ignore"):
            values = self._unconditional(theta, t_arr)
        out: FloatArray = np.asarray(values, dtype=np.float64)
        return out

    def conditional_expected_purchases(
        self,
        t: Any,
        summary: pd.DataFrame | None = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        T: Any = None,
        covariates: Any = None,
    ) -> pd.Series | FloatArray:
        """Return each customer's expected number of purchases in the next `t` periods.

        Conditions on the customer's history (frequency, recency, T).

        Parameters
        ----------
        t : float or array-like
            Horizon in the time unit of the summary; an array gives one horizon per customer
            (for example ``duration_holdout`` from :func:`calibration_holdout`).
        summary : pandas.DataFrame, optional
            RFM summary with columns ``frequency``, ``recency`` and ``T``.
        frequency, recency, T : array-like, optional
            The same three quantities as arrays, instead of `summary`.
        covariates : list of str, pandas.DataFrame or array-like, optional
            Covariates, for a model fitted with covariates (default: the summary's columns).

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series named ``expected_purchases`` indexed like `summary`, or an array.

        Examples
        --------
        >>> import b2bclient.btyd as btyd
        >>> sample = btyd.simulate_summary(
        ...     btyd.BetaGeo, T=40.0, n_customers=2000, random_state=0,
        ...     params={"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5})
        >>> bg = btyd.BetaGeo().fit(sample)
        >>> e = bg.conditional_expected_purchases(10, frequency=[0, 8], recency=[0, 39], T=[40, 40])
        >>> bool(e[1] > e[0] > 0)
        True
        """
        owner = f"{type(self).__name__}.conditional_expected_purchases"
        check_fitted(self)
        rfm = rfm_arrays(summary, frequency=frequency, recency=recency, T=T, owner=owner)
        t_arr = time_array(t, owner=owner)
        if t_arr.ndim > 1 or (t_arr.ndim == 1 and t_arr.shape[0] not in (1, len(rfm))):
            raise InvalidParameterError(
                f"The 't' parameter of {owner} must be a number or one horizon per customer "
                f"({len(rfm)}). Got an array of shape {t_arr.shape}."
            )
        theta = self._theta(summary, covariates, len(rfm), owner)
        with np.errstate(all="ignore"):
            values = self._conditional(
                theta, np.broadcast_to(t_arr, rfm.T.shape), rfm.frequency, rfm.recency, rfm.T
            )
        return self._wrap(np.asarray(values, dtype=np.float64), rfm, "expected_purchases")
