"""ChurnModel: survival estimators for churn behind one scikit-learn interface.

The model owns its lifelines fitter but predicts from plain arrays it keeps after ``fit``
(coefficients, baseline hazard, shape parameters), so predictions are fast on millions of rows and
identical after :func:`b2bclient.save` / :func:`b2bclient.load`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg as sla
from scipy import special, stats
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from b2bclient._exceptions import (
    B2BClientError,
    ConvergenceError,
    InvalidParameterError,
    NotFittedError,
)
from b2bclient._time import to_duration
from b2bclient.churn._encoding import FloatMatrix, encode, fit_encoding
from b2bclient.churn._estimators import kaplan_meier, nelson_aalen, step_at
from b2bclient.churn._surv import Surv
from b2bclient.churn.metrics import concordance_index_harrell

__all__ = ["KINDS", "ChurnModel"]

#: The model kinds ChurnModel accepts.
KINDS = ("cox", "weibull_aft", "lognormal_aft", "loglogistic_aft", "gbm")
_AFT = {
    "weibull_aft": "WeibullAFTFitter",
    "lognormal_aft": "LogNormalAFTFitter",
    "loglogistic_aft": "LogLogisticAFTFitter",
}
_DURATION_COL = "__b2b_duration__"
_EVENT_COL = "__b2b_event__"
_LN2 = math.log(2.0)

Floats = npt.NDArray[np.float64]


class ChurnModel(BaseEstimator):  # type: ignore[misc]
    """Predict when organisations churn, with censoring handled, as a scikit-learn estimator.

    One estimator covers five models, chosen by `kind`:

    ``"cox"``
        Cox proportional hazards, penalised (lifelines ``CoxPHFitter``). Reports hazard ratios.
    ``"weibull_aft"``, ``"lognormal_aft"``, ``"loglogistic_aft"``
        Accelerated failure time models (lifelines). Report time ratios: a ratio of 2 means the
        organisation is expected to stay twice as long.
    ``"gbm"``
        A gradient-boosting classifier (scikit-learn ``GradientBoostingClassifier``) of "churn
        within `horizon`", with censoring handled by inverse-probability-of-censoring weights.

    Parameters
    ----------
    kind : {"cox", "weibull_aft", "lognormal_aft", "loglogistic_aft", "gbm"}, default="cox"
        The model.
    penalizer : float, default=0.1
        Strength of the elastic-net penalty of the lifelines models (ignored by ``"gbm"``).
        lifelines applies it to coefficients of standardised columns, so it shrinks every
        coefficient towards 0 whatever the unit of its column. The default 0.1 trades a little
        bias for stability on collinear CRM features; use ``penalizer=0`` (with few, non-collinear
        columns) when the coefficients themselves are the object of study.
    l1_ratio : float, default=0.0
        Share of the L1 term in the penalty (0 = ridge, 1 = lasso).
    horizon : str, int, float or pandas.Timedelta, optional
        Horizon of the churn probability, such as ``"180D"`` (numbers are days). Required for
        ``"gbm"``, which models churn within this horizon only; for the other kinds it is the
        default horizon of :meth:`predict_churn_probability`.
    alpha : float, default=0.05
        The confidence intervals of :meth:`explain` have level ``1 - alpha``.
    random_state : int, optional
        Seed of the ``"gbm"`` classifier.
    gbm_params : dict, optional
        Extra keyword arguments of ``GradientBoostingClassifier`` for ``"gbm"``, for example
        ``{"n_estimators": 300, "learning_rate": 0.05}``.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of ``X`` seen in fit.
    feature_names_in_ : numpy.ndarray of str
        Column names of ``X`` seen in fit, when ``X`` was a DataFrame with string column names.
    feature_names_out_ : numpy.ndarray of str
        Names of the model's covariates after one-hot encoding: numeric columns keep their
        name; a categorical column ``c`` with levels ``a < b < d`` becomes ``c_b`` and ``c_d``
        (``a`` is the reference level).
    coef_ : numpy.ndarray of shape (n_covariates,)
        Coefficients in the units of ``X``: log hazard ratios (``"cox"``) or log time ratios
        (AFT kinds). Not set for ``"gbm"``.
    coef_se_ : numpy.ndarray of shape (n_covariates,)
        Standard errors of `coef_`.
    coef_cov_ : numpy.ndarray of shape (n_covariates, n_covariates)
        Variance matrix of `coef_`.
    baseline_times_, baseline_cumulative_hazard_ : numpy.ndarray
        Breslow baseline cumulative hazard of ``"cox"`` at the distinct training durations, for
        covariates equal to `center_` (the training means).
    intercept_, ancillary_ : float
        AFT kinds: the intercept of the log-time location and the shape/scale parameter (Weibull
        rho, log-normal sigma, log-logistic beta).
    classifier_ : sklearn.ensemble.GradientBoostingClassifier
        ``"gbm"``: the fitted classifier of churn within the horizon.
    horizon_ : float
        The horizon in days (``None`` when no horizon was given).
    max_duration_ : float
        Longest duration in the training data (days); predictions beyond it are refused.
    n_events_ : int
        Number of observed churn events in the training data.
    log_likelihood_ : float
        Log-likelihood (partial likelihood for ``"cox"``) of the lifelines fit.
    fitter_ : lifelines fitter or None
        The lifelines fitter of this fit, for lifelines' own reports and plots. It is not saved by
        :func:`b2bclient.save` (``None`` after loading); every method of ChurnModel works without
        it. ``None`` for ``"gbm"``.

    Notes
    -----
    **The target** ``y`` is a :class:`~b2bclient.churn.Surv` array (durations in days and event
    flags), or any form :meth:`Surv.to_arrays` reads: a structured array, a two-column
    ``(duration, event)`` array or DataFrame, or a one-dimensional array of durations read as all
    events observed (the form scikit-learn's common checks use).

    **Features.** ``X`` is a DataFrame or a numeric array. Numeric columns are used as they are:
    nothing is standardised behind your back, and :meth:`explain` reports per unit of each column.
    Non-numeric columns (``category``, ``object``, ``string``, ``bool``) are one-hot encoded with
    the first level as reference (the category order, or sorted values); unseen levels at predict
    time raise. Missing or infinite values are refused with the offending columns named: put an
    imputer in front (``make_pipeline(SimpleImputer(), ChurnModel())``). Constant columns are
    refused for the lifelines kinds.

    **Risk scores.** :meth:`predict` returns a score where higher means sooner churn: the
    log partial hazard for ``"cox"``, minus the log-time location for the AFT kinds, the churn
    probability within the horizon for ``"gbm"``. :meth:`score` is Harrell's concordance index.

    **Survival curves.** ``"cox"`` uses the Breslow baseline as a step function; the AFT kinds
    their closed forms. Predictions beyond the longest training duration are refused: no model
    here has seen data there. ``"gbm"`` predicts the churn probability at `horizon` only; its
    survival at earlier times ``t`` is ``S(horizon) ** (Λ(t) / Λ(horizon))`` with ``Λ`` the
    Nelson-Aalen cumulative hazard of the training data, i.e. each organisation's hazard is taken
    proportional to the population's within the horizon. Times beyond `horizon` raise.

    **"gbm" weights.** Rows with churn at or before the horizon are labelled 1 and weighted
    ``1 / G(T-)``, rows still observed after the horizon are labelled 0 and weighted
    ``1 / G(horizon)``, rows censored before the horizon are left out (their label is unknown);
    ``G`` is the Kaplan-Meier estimate of the censoring distribution.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> t = rng.exponential(scale=100 * np.exp(-0.8 * X[:, 0]))
    >>> y = Surv.from_arrays(np.minimum(t, 150.0), t < 150.0)
    >>> model = ChurnModel(kind="cox", penalizer=0.0).fit(X, y)
    >>> model.explain()["hazard_ratio"].round(1).tolist()
    [2.4, 0.9]
    >>> model.predict_churn_probability(X[:2], horizon="90D").round(2)
    array([0.64, 0.8 ])
    >>> round(model.score(X, y), 2)
    0.71
    """

    def __init__(
        self,
        *,
        kind: str = "cox",
        penalizer: float = 0.1,
        l1_ratio: float = 0.0,
        horizon: str | float | pd.Timedelta | None = None,
        alpha: float = 0.05,
        random_state: int | None = None,
        gbm_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio
        self.horizon = horizon
        self.alpha = alpha
        self.random_state = random_state
        self.gbm_params = gbm_params

    # ------------------------------------------------------------------ scikit-learn plumbing

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        tags.input_tags.allow_nan = False
        return tags

    def _check_params(self) -> float | None:
        owner = "ChurnModel"
        if self.kind not in KINDS:
            raise InvalidParameterError(
                f"The 'kind' parameter of {owner} must be one of {list(KINDS)}. "
                f"Got {self.kind!r} instead."
            )
        if not _is_real(self.penalizer) or not math.isfinite(self.penalizer) or self.penalizer < 0:
            raise InvalidParameterError(
                f"The 'penalizer' parameter of {owner} must be a non-negative number such as "
                f"0.1. Got {self.penalizer!r} instead."
            )
        if not _is_real(self.l1_ratio) or not 0 <= self.l1_ratio <= 1:
            raise InvalidParameterError(
                f"The 'l1_ratio' parameter of {owner} must be a number in [0, 1] such as 0.0. "
                f"Got {self.l1_ratio!r} instead."
            )
        if not _is_real(self.alpha) or not 0 < self.alpha < 1:
            raise InvalidParameterError(
                f"The 'alpha' parameter of {owner} must be a number in (0, 1) such as 0.05 (95% "
                f"intervals). Got {self.alpha!r} instead."
            )
        if self.gbm_params is not None and not isinstance(self.gbm_params, Mapping):
            raise InvalidParameterError(
                f"The 'gbm_params' parameter of {owner} must be a dict of "
                f"GradientBoostingClassifier arguments such as {{'n_estimators': 300}}. Got "
                f"{self.gbm_params!r} instead."
            )
        horizon = None
        if self.horizon is not None:
            horizon = _days(to_duration(self.horizon, name="horizon", owner=owner))
        if self.kind == "gbm" and horizon is None:
            raise InvalidParameterError(
                f"The 'horizon' parameter of {owner} is required for kind='gbm', which predicts "
                f"churn within a fixed horizon: use for example ChurnModel(kind='gbm', "
                f"horizon='180D'). Got None instead."
            )
        return horizon

    def _validate_X(self, X: Any, *, reset: bool, method: str) -> FloatMatrix:
        owner = f"ChurnModel.{method}"
        if isinstance(X, pd.Series):
            raise InvalidParameterError(
                f"X passed to {owner} must be two-dimensional (a DataFrame or an array of shape "
                f"(n_samples, n_features)). Got a Series instead; use X.to_frame()."
            )
        try:
            return self._design(X, reset=reset, owner=owner)
        except ValueError as exc:
            if isinstance(exc, B2BClientError):
                raise
            # scikit-learn's own checks (feature count and names, non-numeric arrays).
            raise InvalidParameterError(f"X passed to {owner} is invalid: {exc}") from exc

    def _design(self, X: Any, *, reset: bool, owner: str) -> FloatMatrix:
        if reset:
            if isinstance(X, pd.DataFrame):
                validate_data(self, X, reset=True, skip_check_array=True)
                z, enc = fit_encoding(X, owner=owner)
            else:
                z, enc = fit_encoding(X, owner=owner)
                validate_data(self, z, reset=True, skip_check_array=True)
            self._encoding = enc
            return z
        if not isinstance(X, pd.DataFrame):
            if self._encoding[1]:
                raise InvalidParameterError(
                    f"{owner} needs a DataFrame: the model was fitted on a DataFrame with the "
                    f"categorical columns {list(self._encoding[1])}; pass a DataFrame with the "
                    f"same columns, not an array."
                )
            X = check_array(X, dtype=np.float64, ensure_all_finite=False, input_name="X")
        validate_data(self, X, reset=False, skip_check_array=True)
        return encode(X, self._encoding, owner=owner)

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "max_duration_")
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"This ChurnModel(kind={self.kind!r}) is not fitted yet. Call fit(X, y) first."
            ) from exc

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any) -> ChurnModel:
        """Fit the survival model to features `X` and survival target `y`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features, one row per organisation (and landmark). See the class notes for encoding.
        y : Surv array or array-like
            Durations in days and event flags (see :class:`~b2bclient.churn.Surv`).

        Returns
        -------
        ChurnModel
            The fitted model, ``self``.

        Raises
        ------
        InvalidParameterError
            If a parameter is out of its domain, `X` holds missing values, durations are
            negative, no churn is observed, or the shapes of `X` and `y` differ.
        ConvergenceError
            If the lifelines optimiser does not converge; the message suggests a remedy.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> ChurnModel(kind="weibull_aft").fit(X, y).coef_.shape
        (1,)
        """
        horizon = self._check_params()
        if y is None:
            raise InvalidParameterError(
                "ChurnModel requires y to be passed, but the target y is None: give durations "
                "and events, for example Surv.from_arrays(duration, event)."
            )
        z = self._validate_X(X, reset=True, method="fit")
        duration, event = Surv.to_arrays(y, name="y")
        names = list(self._encoding[2])
        self.feature_names_out_ = np.asarray(names, dtype=object)
        _check_target(z, duration, event, kind=self.kind, horizon=horizon)
        self.horizon_ = horizon
        self.n_events_ = int(event.sum())
        if self.kind == "gbm":
            assert horizon is not None
            self._fit_gbm(z, duration, event, horizon)
        else:
            self._fit_lifelines(z, duration, event, names)
        self.max_duration_ = float(duration.max())
        return self

    def _fit_lifelines(
        self, z: FloatMatrix, duration: Floats, event: Any, names: list[str]
    ) -> None:
        constant = [names[j] for j in np.flatnonzero(np.ptp(z, axis=0) == 0)] if z.size else []
        if constant:
            raise InvalidParameterError(
                f"ChurnModel(kind={self.kind!r}) cannot use the constant columns {constant[:10]}: "
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
        if self.kind == "cox":
            fitter = lifelines.CoxPHFitter(
                penalizer=float(self.penalizer), l1_ratio=float(self.l1_ratio), alpha=self.alpha
            )
        else:
            fitter = getattr(lifelines, _AFT[self.kind])(
                penalizer=float(self.penalizer), l1_ratio=float(self.l1_ratio), alpha=self.alpha
            )
        _run_lifelines(fitter, frame, kind=self.kind, names=names, z=z, penalizer=self.penalizer)
        if self.kind == "cox":
            self.coef_ = fitter.params_.to_numpy(dtype=np.float64)
            self.coef_cov_ = fitter.variance_matrix_.to_numpy(dtype=np.float64)
            self.coef_se_ = fitter.standard_errors_.to_numpy(dtype=np.float64)
            self.center_ = np.asarray(fitter._norm_mean.to_numpy(dtype=np.float64))
            bch = fitter.baseline_cumulative_hazard_
            self.baseline_times_ = bch.index.to_numpy(dtype=np.float64)
            self.baseline_cumulative_hazard_ = bch.iloc[:, 0].to_numpy(dtype=np.float64)
        else:
            primary = fitter._primary_parameter_name
            ancillary = fitter._ancillary_parameter_name
            params = fitter.params_
            rows = [(primary, n) for n in names]
            self.coef_ = params.loc[rows].to_numpy(dtype=np.float64)
            self.coef_se_ = fitter.standard_errors_.loc[rows].to_numpy(dtype=np.float64)
            self.coef_cov_ = fitter.variance_matrix_.loc[rows, rows].to_numpy(dtype=np.float64)
            self.intercept_ = float(params.loc[(primary, "Intercept")])
            self.ancillary_ = float(np.exp(params.loc[(ancillary, "Intercept")]))
        self.log_likelihood_ = float(fitter.log_likelihood_)
        finite = np.isfinite(self.coef_).all() and np.isfinite(self.coef_se_).all()
        if not finite:
            raise ConvergenceError(
                f"ChurnModel(kind={self.kind!r}) produced non-finite coefficients or standard "
                f"errors; the fit is unreliable. {_advice(z, names, self.penalizer)}"
            )
        self.fitter_ = fitter

    def _fit_gbm(self, z: FloatMatrix, duration: Floats, event: Any, horizon: float) -> None:
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.utils._param_validation import InvalidParameterError as SkParamError

        ev = np.asarray(event, dtype=bool)
        churned = ev & (duration <= horizon)
        survived = duration > horizon
        keep = churned | survived
        ctimes, csurv = kaplan_meier(duration, ~ev)
        g_event = step_at(ctimes, csurv, duration, initial=1.0, left=True)
        g_horizon = float(step_at(ctimes, csurv, np.array([horizon]), initial=1.0)[0])
        g = np.where(churned, g_event, g_horizon)
        weight = 1.0 / np.maximum(g[keep], 1e-12)
        label = churned[keep].astype(np.int64)
        params = dict(self.gbm_params or {})
        params.setdefault("random_state", self.random_state)
        try:
            clf = GradientBoostingClassifier(**params)
        except TypeError as exc:
            raise InvalidParameterError(
                f"The 'gbm_params' parameter of ChurnModel holds an argument that "
                f"GradientBoostingClassifier does not take: {exc}. Got {self.gbm_params!r}."
            ) from exc
        try:
            clf.fit(z[keep], label, sample_weight=weight)
        except SkParamError as exc:
            raise InvalidParameterError(
                f"The 'gbm_params' parameter of ChurnModel is invalid: {exc}. Got "
                f"{self.gbm_params!r} instead."
            ) from exc
        self.classifier_ = clf
        self.na_times_, self.na_cumulative_hazard_ = nelson_aalen(duration, ev)
        self.na_at_horizon_ = float(
            step_at(self.na_times_, self.na_cumulative_hazard_, np.array([horizon]), initial=0.0)[0]
        )
        self.fitter_ = None

    # ------------------------------------------------------------------ predictions

    def _linear(self, z: FloatMatrix) -> Floats:
        if self.kind == "cox":
            return np.asarray((z - self.center_) @ self.coef_, dtype=np.float64)
        return np.asarray(self.intercept_ + z @ self.coef_, dtype=np.float64)

    def _proba_horizon(self, z: FloatMatrix) -> Floats:
        return np.asarray(self.classifier_.predict_proba(z)[:, 1], dtype=np.float64)

    def _survival(self, z: FloatMatrix, times: Floats) -> Floats:
        t = times[None, :]
        if self.kind == "gbm":
            surv_h = 1.0 - self._proba_horizon(z)
            ratio = (
                step_at(self.na_times_, self.na_cumulative_hazard_, times, initial=0.0)
                / self.na_at_horizon_
            )
            with np.errstate(divide="ignore"):
                return np.asarray(np.power(surv_h[:, None], ratio[None, :]), dtype=np.float64)
        lp = self._linear(z)[:, None]
        if self.kind == "cox":
            h0 = step_at(self.baseline_times_, self.baseline_cumulative_hazard_, times, initial=0.0)
            return np.asarray(np.exp(-np.exp(lp) * h0[None, :]), dtype=np.float64)
        with np.errstate(divide="ignore"):
            logt = np.log(t)
        if self.kind == "weibull_aft":
            return np.asarray(np.exp(-np.exp(self.ancillary_ * (logt - lp))), dtype=np.float64)
        if self.kind == "lognormal_aft":
            return np.asarray(special.ndtr(-(logt - lp) / self.ancillary_), dtype=np.float64)
        return np.asarray(special.expit(-self.ancillary_ * (logt - lp)), dtype=np.float64)

    def _times(self, times: Any, *, method: str) -> Floats:
        owner = f"ChurnModel.{method}"
        values = [times] if isinstance(times, (str, pd.Timedelta, numbers.Real)) else times
        try:
            items = list(values)
        except TypeError as exc:
            raise InvalidParameterError(
                f"The 'times' parameter of {owner} must be a duration or a list of durations "
                f"such as [30, 90, '180D'] (numbers are days). Got {times!r} instead."
            ) from exc
        out = np.array(
            [
                _days(to_duration(v, name="times", owner=owner, allow_zero=True))
                if isinstance(v, (str, pd.Timedelta, np.timedelta64))
                else _number_of_days(v, owner)
                for v in items
            ],
            dtype=np.float64,
        )
        if out.size == 0:
            raise InvalidParameterError(
                f"The 'times' parameter of {owner} is empty; give at least one duration."
            )
        self._check_within(out, name="times", owner=owner)
        return out

    def _check_within(self, days: Floats, *, name: str, owner: str) -> None:
        limit = self.max_duration_ if self.horizon_ is None or self.kind != "gbm" else self.horizon_
        bad = days[days > limit]
        if bad.size == 0:
            return
        if self.kind == "gbm":
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must not exceed the horizon of this "
                f"kind='gbm' model ({limit:g} days). Got {bad.max():g} days instead. Refit with "
                f"ChurnModel(kind='gbm', horizon='{bad.max():g}D') or use a survival kind such "
                f"as 'cox'."
            )
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} goes beyond the training data: the longest "
            f"observed duration is {limit:g} days and {bad.max():g} days were asked. Choose at "
            f"most {limit:g} days, or fit on a longer history (an earlier landmark)."
        )

    def predict(self, X: Any) -> Floats:
        """Return a churn risk score per row: higher means sooner churn.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Log partial hazard (``"cox"``), minus the log-time location (AFT kinds) or the churn
            probability within the horizon (``"gbm"``).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> risk = ChurnModel(penalizer=0.0).fit(X, y).predict([[0.0], [2.0]])
        >>> bool(risk[1] > risk[0])
        True
        """
        self._check_fitted()
        z = self._validate_X(X, reset=False, method="predict")
        if self.kind == "gbm":
            return self._proba_horizon(z)
        lp = self._linear(z)
        return lp if self.kind == "cox" else -lp

    def predict_survival(self, X: Any, times: Any) -> pd.DataFrame:
        """Return the probability that each organisation is still a client after each time.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        times : duration or sequence of durations
            Times after the landmark, as days (numbers) or durations such as ``"90D"``. At most
            `max_duration_` (`horizon` for ``"gbm"``).

        Returns
        -------
        pandas.DataFrame of shape (n_samples, n_times)
            One row per row of `X` (same index when `X` is a DataFrame), one column per time in
            days.

        Raises
        ------
        InvalidParameterError
            If a time is negative or beyond the data (beyond the horizon for ``"gbm"``).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> m = ChurnModel(kind="weibull_aft").fit(X, y)
        >>> m.predict_survival(X[:2], [0, 10, "20D"]).shape
        (2, 3)
        """
        self._check_fitted()
        t = self._times(times, method="predict_survival")
        z = self._validate_X(X, reset=False, method="predict_survival")
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(z.shape[0])
        columns = pd.Index(t, name="days")
        return pd.DataFrame(self._survival(z, t), index=index, columns=columns)

    def predict_churn_probability(self, X: Any, horizon: Any = None) -> Floats:
        """Return the probability that each organisation churns within `horizon`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        horizon : str, int, float or pandas.Timedelta, optional
            Such as ``"180D"`` (numbers are days). Defaults to the model's `horizon`. For
            ``"gbm"`` it must be that horizon.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            ``1 - S(horizon)``.

        Raises
        ------
        InvalidParameterError
            If no horizon is given, or it lies beyond the data, or differs from the horizon a
            ``"gbm"`` model was fitted for.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> m = ChurnModel(kind="weibull_aft").fit(X, y)
        >>> p = m.predict_churn_probability(X, horizon="20D")
        >>> bool(((p >= 0) & (p <= 1)).all())
        True
        """
        self._check_fitted()
        owner = "ChurnModel.predict_churn_probability"
        if horizon is None:
            if self.horizon_ is None:
                raise InvalidParameterError(
                    f"The 'horizon' parameter of {owner} is required because the model was "
                    f"created without a horizon: pass for example horizon='180D'."
                )
            h = self.horizon_
        else:
            h = _days(to_duration(horizon, name="horizon", owner=owner))
        if self.kind == "gbm" and h != self.horizon_:
            raise InvalidParameterError(
                f"The 'horizon' parameter of {owner} must be {self.horizon_:g} days for this "
                f"kind='gbm' model, which was trained for that horizon only. Got {h:g} days "
                f"instead. Refit with ChurnModel(kind='gbm', horizon='{h:g}D'), or use a "
                f"survival kind such as 'cox' for several horizons."
            )
        self._check_within(np.array([h]), name="horizon", owner=owner)
        z = self._validate_X(X, reset=False, method="predict_churn_probability")
        if self.kind == "gbm":
            return self._proba_horizon(z)
        return 1.0 - self._survival(z, np.array([h]))[:, 0]

    def predict_median_lifetime(self, X: Any) -> Floats:
        """Return the median remaining lifetime (days) of each organisation.

        The median is the time at which the predicted survival falls to one half. For ``"cox"``
        (and ``"gbm"``) it is ``inf`` when the curve stays above one half over the observed range
        (the horizon for ``"gbm"``); the AFT kinds use their closed form, which may extrapolate.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> m = ChurnModel(kind="lognormal_aft").fit(X, y)
        >>> bool((m.predict_median_lifetime(X) > 0).all())
        True
        """
        self._check_fitted()
        z = self._validate_X(X, reset=False, method="predict_median_lifetime")
        if self.kind == "gbm":
            surv_h = 1.0 - self._proba_horizon(z)
            with np.errstate(divide="ignore"):
                need = self.na_at_horizon_ * _LN2 / -np.log(surv_h)
            idx = np.searchsorted(self.na_cumulative_hazard_, need, side="left")
            times = np.append(self.na_times_, np.inf)
            out = times[np.minimum(idx, self.na_times_.shape[0])]
            return np.asarray(np.where(out <= self.horizon_, out, np.inf), dtype=np.float64)
        lp = self._linear(z)
        if self.kind == "cox":
            need = _LN2 * np.exp(-lp)
            idx = np.searchsorted(self.baseline_cumulative_hazard_, need, side="left")
            times = np.append(self.baseline_times_, np.inf)
            return np.asarray(times[idx], dtype=np.float64)
        if self.kind == "weibull_aft":
            return np.asarray(np.exp(lp) * _LN2 ** (1.0 / self.ancillary_), dtype=np.float64)
        return np.asarray(np.exp(lp), dtype=np.float64)

    def score(self, X: Any, y: Any) -> float:
        """Return Harrell's concordance index of the risk scores on `X` against `y`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        y : Surv array or array-like
            Durations and events (see :class:`~b2bclient.churn.Surv`).

        Returns
        -------
        float
            Share of comparable pairs ordered correctly (0.5 = random, 1 = perfect).

        Raises
        ------
        InvalidParameterError
            If `y` has no comparable pair (for example every row is censored).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> round(ChurnModel(penalizer=0.0).fit(X, y).score(X, y), 3)
        0.923
        """
        risk = self.predict(X)
        duration, event = Surv.to_arrays(y, name="y")
        if duration.shape[0] != risk.shape[0]:
            raise InvalidParameterError(
                f"X and y passed to ChurnModel.score have different lengths: {risk.shape[0]} "
                f"and {duration.shape[0]} rows."
            )
        if not event.any():
            raise InvalidParameterError(
                "ChurnModel.score needs at least one observed churn in y to rank; every row is "
                "censored. Score on a longer follow-up window."
            )
        return concordance_index_harrell(duration, event, risk)

    # ------------------------------------------------------------------ interpretation

    def explain(self) -> pd.DataFrame:
        """Return the effect of each covariate with its confidence interval, in plain names.

        For ``"cox"`` the effects are hazard ratios (``exp(coef)``): 1.3 means 30% higher churn
        hazard per unit of the column, or for a one-hot column, for that level versus the
        reference level. For the AFT kinds they are time ratios: 1.3 means a 30% longer expected
        lifetime. Intervals are Wald intervals of level ``1 - alpha`` and, like the coefficients,
        include the shrinkage of the penalizer.

        Returns
        -------
        pandas.DataFrame
            Indexed by covariate name (see `feature_names_out_`), with columns ``coef``, ``se``,
            ``hazard_ratio`` (or ``time_ratio``), ``..._lower``, ``..._upper``, ``z`` and
            ``p_value``. ``attrs["confidence_level"]`` holds ``1 - alpha``.

        Raises
        ------
        InvalidParameterError
            For ``"gbm"``, which has no coefficients.

        Examples
        --------
        >>> X = pd.DataFrame({"tickets": [0.0, 3.0, 1.0, 4.0, 0.0, 2.0]})
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> ChurnModel().fit(X, y).explain().columns.tolist()
        ['coef', 'se', 'hazard_ratio', 'hazard_ratio_lower', 'hazard_ratio_upper', 'z', 'p_value']
        """
        self._check_fitted()
        if self.kind == "gbm":
            raise InvalidParameterError(
                "ChurnModel(kind='gbm').explain() is not available: a gradient-boosting model "
                "has no coefficients. Use sklearn.inspection.permutation_importance(model, X, y) "
                "or fit kind='cox' for hazard ratios."
            )
        q = float(stats.norm.ppf(1.0 - self.alpha / 2.0))
        coef, se = self.coef_, self.coef_se_
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = coef / se
        ratio = "hazard_ratio" if self.kind == "cox" else "time_ratio"
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
            index=pd.Index(list(self.feature_names_out_), name="feature"),
        )
        table.attrs["confidence_level"] = 1.0 - self.alpha
        table.attrs["kind"] = self.kind
        return table

    def check_assumptions(self, X: Any, y: Any, *, alpha: float = 0.05) -> pd.DataFrame:
        """Test the proportional-hazards assumption of a ``"cox"`` model, with advice.

        Runs the Grambsch-Therneau test on the scaled Schoenfeld residuals against the rank of
        the event times (as lifelines' ``proportional_hazard_test`` with ``"rank"``), one test per
        covariate. Pass the data the model was fitted on.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        y : Surv array or array-like
            Durations and events.
        alpha : float, default=0.05
            Significance level of each test.

        Returns
        -------
        pandas.DataFrame
            Indexed by covariate, with columns ``test_statistic`` (chi-squared, 1 degree of
            freedom), ``p_value``, ``proportional`` (``p_value >= alpha``) and ``advice`` (empty
            when the assumption holds).

        Raises
        ------
        InvalidParameterError
            If the model is not ``"cox"`` or `y` has no observed churn.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> X = rng.normal(size=(200, 1))
        >>> y = Surv.from_arrays(rng.exponential(50 * np.exp(-X[:, 0])), np.ones(200, bool))
        >>> report = ChurnModel(penalizer=0.0).fit(X, y).check_assumptions(X, y)
        >>> report["proportional"].tolist()
        [True]
        """
        self._check_fitted()
        owner = "ChurnModel.check_assumptions"
        if self.kind != "cox":
            raise InvalidParameterError(
                f"{owner} tests proportional hazards, which only kind='cox' assumes; this "
                f"model is kind={self.kind!r}. Compare the models' scores or calibration instead."
            )
        if not 0 < alpha < 1:
            raise InvalidParameterError(
                f"The 'alpha' parameter of {owner} must be in (0, 1) such as 0.05. Got {alpha!r}."
            )
        z = self._validate_X(X, reset=False, method="check_assumptions")
        duration, event = Surv.to_arrays(y, name="y")
        if duration.shape[0] != z.shape[0]:
            raise InvalidParameterError(
                f"X and y passed to {owner} have different lengths: {z.shape[0]} and "
                f"{duration.shape[0]} rows."
            )
        if event.sum() < 2:
            raise InvalidParameterError(
                f"{owner} needs at least two observed churn events in y; got {int(event.sum())}."
            )
        stat = _ph_test(z - self.center_, duration, event, self.coef_, self.coef_cov_)
        p = stats.chi2.sf(stat, 1)
        names = list(self.feature_names_out_)
        categories = self._encoding[1]
        advice = []
        for name, pv in zip(names, p, strict=True):
            advice.append("" if pv >= alpha else _ph_advice(name, categories))
        return pd.DataFrame(
            {"test_statistic": stat, "p_value": p, "proportional": p >= alpha, "advice": advice},
            index=pd.Index(names, name="feature"),
        )

    # ------------------------------------------------------------------ persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        """Return the fitted state as arrays and plain values (no lifelines object)."""
        self._check_fitted()
        columns, categories, out = self._encoding
        state: dict[str, Any] = {
            "columns": list(columns),
            "categories": {k: list(v) for k, v in categories.items()},
            "feature_names_out": list(out),
            "n_features_in": int(self.n_features_in_),
            "max_duration": float(self.max_duration_),
            "n_events": int(self.n_events_),
            "horizon": None if self.horizon_ is None else float(self.horizon_),
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in"] = [str(c) for c in self.feature_names_in_]
        names = ["coef_", "coef_se_", "coef_cov_", "log_likelihood_"]
        if self.kind == "cox":
            names += ["center_", "baseline_times_", "baseline_cumulative_hazard_"]
        elif self.kind == "gbm":
            names = ["classifier_", "na_times_", "na_cumulative_hazard_", "na_at_horizon_"]
        else:
            names += ["intercept_", "ancillary_"]
        for name in names:
            state[name.rstrip("_")] = getattr(self, name)
        return state

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the fitted model from the output of :meth:`_b2b_get_state`."""
        self._encoding = (
            list(state["columns"]),
            {k: list(v) for k, v in state["categories"].items()},
            list(state["feature_names_out"]),
        )
        self.feature_names_out_ = np.asarray(state["feature_names_out"], dtype=object)
        self.n_features_in_ = int(state["n_features_in"])
        if "feature_names_in" in state:
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.max_duration_ = float(state["max_duration"])
        self.n_events_ = int(state["n_events"])
        self.horizon_ = None if state["horizon"] is None else float(state["horizon"])
        for key, value in state.items():
            if key in {
                "columns",
                "categories",
                "feature_names_out",
                "n_features_in",
                "feature_names_in",
                "max_duration",
                "n_events",
                "horizon",
            }:
                continue
            if isinstance(value, np.ndarray):
                value = np.asarray(value, dtype=np.float64)
            setattr(self, f"{key}_", value)
        self.fitter_ = None


# ---------------------------------------------------------------------- helpers


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _days(td: pd.Timedelta) -> float:
    return float(td / pd.Timedelta(days=1))


def _number_of_days(value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must hold durations such as 90 or '90D' "
            f"(numbers are days). Got {value!r} instead."
        )
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must hold non-negative finite days. Got "
            f"{value!r} instead."
        )
    return v


def _check_target(
    z: FloatMatrix, duration: Floats, event: Any, *, kind: str, horizon: float | None
) -> None:
    n = z.shape[0]
    if duration.shape[0] != n:
        raise InvalidParameterError(
            f"X and y passed to ChurnModel.fit have different lengths: {n} and "
            f"{duration.shape[0]} rows. Give one target per row of X."
        )
    if n < 2:
        raise InvalidParameterError(
            f"ChurnModel.fit needs at least 2 samples; got {n} sample. Fit on more organisations."
        )
    n_events = int(np.sum(event))
    if n_events == 0:
        raise InvalidParameterError(
            f"All {n} rows of y are censored (no churn observed), so there is nothing to learn "
            f"when organisations churn. Use a longer follow-up (an earlier landmark or a later "
            f"as_of), a shorter inactivity gap, or check the event column."
        )
    if kind in _AFT:
        zero = np.flatnonzero(duration <= 0)
        if zero.size:
            raise InvalidParameterError(
                f"ChurnModel(kind={kind!r}) needs strictly positive durations; {zero.size} rows "
                f"have duration 0 (positions {zero[:5].tolist()}). Use kind='cox', which "
                f"accepts them, or add a small offset such as half a day to those durations."
            )
    if kind == "gbm":
        assert horizon is not None
        if horizon > duration.max():
            raise InvalidParameterError(
                f"The 'horizon' parameter of ChurnModel is {horizon:g} days, beyond the longest "
                f"duration in y ({duration.max():g} days): no organisation is observed that long, "
                f"so 'no churn within the horizon' is never seen. Choose a horizon of at most "
                f"{duration.max():g} days or use a longer history."
            )
        ev = np.asarray(event, dtype=bool)
        pos = int((ev & (duration <= horizon)).sum())
        neg = int((duration > horizon).sum())
        if pos == 0 or neg == 0:
            what = (
                "no organisation churns within the horizon"
                if pos == 0
                else "no organisation is observed staying beyond the horizon"
            )
            raise InvalidParameterError(
                f"ChurnModel(kind='gbm', horizon='{horizon:g}D') cannot learn: {what} in y "
                f"({pos} churned within it, {neg} observed beyond it). Choose a "
                f"{'longer' if pos == 0 else 'shorter'} horizon."
            )


def _run_lifelines(
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


def _ph_test(zc: FloatMatrix, duration: Floats, event: Any, coef: Floats, cov: Floats) -> Floats:
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


def _ph_advice(name: str, categories: dict[str, list[str]]) -> str:
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
