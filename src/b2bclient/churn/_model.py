"""ChurnModel: survival estimators for churn behind one scikit-learn interface.

The model owns its lifelines fitter but predicts from plain arrays it keeps after ``fit``
(coefficients, baseline hazard, shape parameters), so predictions are fast on millions of rows and
identical after :func:`b2bclient.save` / :func:`b2bclient.load`. The kinds live apart: the
lifelines kinds in :mod:`b2bclient.churn._lifelines`, the boosting kinds in
:mod:`b2bclient.churn._boosting`; parameter and target checks in :mod:`b2bclient.churn._checks`;
the design matrix in :mod:`b2bclient.churn._design`; the concordance and the proportional-hazards
test in :mod:`b2bclient.churn._diagnostics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from b2bclient._exceptions import InvalidParameterError, NotFittedError
from b2bclient.churn import _boosting, _lifelines
from b2bclient.churn._checks import (
    KINDS,
    check_params,
    check_target,
    churn_horizon,
    parse_times,
)
from b2bclient.churn._design import validate_X
from b2bclient.churn._diagnostics import concordance, proportional_hazards
from b2bclient.churn._encoding import FloatMatrix
from b2bclient.churn._output import check_container, wrap
from b2bclient.churn._state import get_state, set_state
from b2bclient.churn._surv import Surv

__all__ = ["KINDS", "ChurnModel"]

Floats = npt.NDArray[np.float64]


class ChurnModel(BaseEstimator):  # type: ignore[misc]
    """Predict when organisations churn, with censoring handled, as a scikit-learn estimator.

    One estimator covers six models, chosen by `kind`:

    ``"cox"``
        Cox proportional hazards, penalised (lifelines ``CoxPHFitter``). Reports hazard ratios.
    ``"weibull_aft"``, ``"lognormal_aft"``, ``"loglogistic_aft"``
        Accelerated failure time models (lifelines). Report time ratios: a ratio of 2 means the
        organisation is expected to stay twice as long.
    ``"gbm"``
        A gradient-boosting classifier (scikit-learn ``GradientBoostingClassifier``) of "churn
        within `horizon`", with censoring handled by inverse-probability-of-censoring weights.
    ``"hgb"``
        The same with scikit-learn's ``HistGradientBoostingClassifier``: the same weights, fast
        on millions of rows, and it takes missing values and categorical columns as they are.

    Parameters
    ----------
    kind : {"cox", "weibull_aft", "lognormal_aft", "loglogistic_aft", "gbm", "hgb"}, default="cox"
        The model.
    penalizer : float, default=0.1
        Strength of the elastic-net penalty of the lifelines models (ignored by the boosting
        kinds ``"gbm"`` and ``"hgb"``).
        lifelines applies it to coefficients of standardised columns, so it shrinks every
        coefficient towards 0 whatever the unit of its column. The default 0.1 trades a little
        bias for stability on collinear CRM features; use ``penalizer=0`` (with few, non-collinear
        columns) when the coefficients themselves are the object of study.
    l1_ratio : float, default=0.0
        Share of the L1 term in the penalty (0 = ridge, 1 = lasso).
    horizon : str, int, float or pandas.Timedelta, optional
        Horizon of the churn probability, such as ``"180D"`` (numbers are days). Required for
        the boosting kinds, which model churn within this horizon only; for the other kinds it is
        the default horizon of :meth:`predict_churn_probability`.
    alpha : float, default=0.05
        The confidence intervals of :meth:`explain` have level ``1 - alpha``.
    random_state : int, optional
        Seed of the boosting classifier.
    gbm_params : dict, optional
        Extra keyword arguments of the boosting classifier: ``GradientBoostingClassifier`` for
        ``"gbm"`` (for example ``{"n_estimators": 300, "learning_rate": 0.05}``),
        ``HistGradientBoostingClassifier`` for ``"hgb"`` (for example ``{"max_iter": 300}``).
        ``"hgb"`` grows trees of depth 3 like ``"gbm"`` (``max_depth=3, max_leaf_nodes=None``)
        unless `gbm_params` sets ``max_depth`` or ``max_leaf_nodes``; the other arguments keep
        scikit-learn's defaults.

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
        (AFT kinds). Not set for the boosting kinds.
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
    classifier_ : sklearn.ensemble.GradientBoostingClassifier or HistGradientBoostingClassifier
        Boosting kinds: the fitted classifier of churn within the horizon.
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
        it. ``None`` for the boosting kinds.

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
    refused for the lifelines kinds. ``"hgb"`` differs: it takes missing values (NaN, None) as
    they are, its trees sending them to the side that fits best, and splits a categorical column
    natively on its level codes (``feature_names_out_`` are then the input columns); infinite
    values are refused there too.

    **Risk scores.** :meth:`predict` returns a score where higher means sooner churn: the
    log partial hazard for ``"cox"``, minus the log-time location for the AFT kinds, the churn
    probability within the horizon for the boosting kinds. :meth:`score` is Harrell's
    concordance index.

    **Survival curves.** ``"cox"`` uses the Breslow baseline as a step function; the AFT kinds
    their closed forms. Predictions beyond the longest training duration are refused: no model
    here has seen data there. The boosting kinds predict the churn probability at `horizon` only; its
    survival at earlier times ``t`` is ``S(horizon) ** (Λ(t) / Λ(horizon))`` with ``Λ`` the
    Nelson-Aalen cumulative hazard of the training data, i.e. each organisation's hazard is taken
    proportional to the population's within the horizon. Times beyond `horizon` raise.

    **Boosting weights.** Rows with churn at or before the horizon are labelled 1 and weighted
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
        tags.input_tags.allow_nan = self.kind in _boosting.NATIVE
        return tags

    def _validate_X(self, X: Any, *, reset: bool, method: str) -> FloatMatrix:
        return validate_X(self, X, reset=reset, method=method)

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
        horizon = check_params(self)
        if y is None:
            raise InvalidParameterError(
                "ChurnModel requires y to be passed, but the target y is None: give durations "
                "and events, for example Surv.from_arrays(duration, event)."
            )
        z = self._validate_X(X, reset=True, method="fit")
        duration, event = Surv.to_arrays(y, name="y")
        names = list(self._encoding[2])
        self.feature_names_out_ = np.asarray(names, dtype=object)
        check_target(z, duration, event, kind=self.kind, horizon=horizon)
        self.horizon_ = horizon
        self.n_events_ = int(event.sum())
        if self.kind in _boosting.KINDS:
            assert horizon is not None
            _boosting.fit(self, z, duration, event, horizon)
        else:
            _lifelines.fit(self, z, duration, event, names)
        self.max_duration_ = float(duration.max())
        return self

    def _risk(self, z: FloatMatrix) -> Floats:
        if self.kind in _boosting.KINDS:
            return _boosting.risk(self, z)
        return _lifelines.risk(self, z)

    def _survival(self, z: FloatMatrix, times: Floats) -> Floats:
        if self.kind in _boosting.KINDS:
            return _boosting.survival(self, z, times)
        return _lifelines.survival(self, z, times)

    def predict(self, X: Any) -> Floats | pd.Series:
        """Return a churn risk score per row: higher means sooner churn.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n_samples,)
            A Series named ``risk`` with the index of `X` when `X` is a DataFrame (or any `X`
            after ``set_output(transform="pandas")``), else an array; see :meth:`set_output`.
            Log partial hazard (``"cox"``), minus the log-time location (AFT kinds) or the churn
            probability within the horizon (boosting kinds).

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
        return self._wrap(self._risk(z), X, "risk")

    def predict_survival(self, X: Any, times: Any) -> pd.DataFrame:
        """Return the probability that each organisation is still a client after each time.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        times : duration or sequence of durations
            Times after the landmark, as days (numbers) or durations such as ``"90D"``. At most
            `max_duration_` (`horizon` for the boosting kinds).

        Returns
        -------
        pandas.DataFrame of shape (n_samples, n_times)
            One row per row of `X` (same index when `X` is a DataFrame), one column per time in
            days.

        Raises
        ------
        InvalidParameterError
            If a time is negative or beyond the data (beyond the horizon for the boosting kinds).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> m = ChurnModel(kind="weibull_aft").fit(X, y)
        >>> m.predict_survival(X[:2], [0, 10, "20D"]).shape
        (2, 3)
        """
        self._check_fitted()
        t = parse_times(self, times, method="predict_survival")
        z = self._validate_X(X, reset=False, method="predict_survival")
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(z.shape[0])
        columns = pd.Index(t, name="days")
        return pd.DataFrame(self._survival(z, t), index=index, columns=columns)

    def predict_churn_probability(self, X: Any, horizon: Any = None) -> Floats | pd.Series:
        """Return the probability that each organisation churns within `horizon`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.
        horizon : str, int, float or pandas.Timedelta, optional
            Such as ``"180D"`` (numbers are days). Defaults to the model's `horizon`. For
            boosting kinds it must be that horizon.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n_samples,)
            A Series named ``churn_probability`` with the index of `X` when `X` is a DataFrame (or any `X`
            after ``set_output(transform="pandas")``), else an array; see :meth:`set_output`.
            ``1 - S(horizon)``.

        Raises
        ------
        InvalidParameterError
            If no horizon is given, or it lies beyond the data, or differs from the horizon a
            boosting model was fitted for.

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
        h = churn_horizon(self, horizon, owner)
        z = self._validate_X(X, reset=False, method="predict_churn_probability")
        if self.kind in _boosting.KINDS:
            p = _boosting.risk(self, z)
        else:
            p = 1.0 - self._survival(z, np.array([h]))[:, 0]
        return self._wrap(p, X, "churn_probability")

    def predict_median_lifetime(self, X: Any) -> Floats | pd.Series:
        """Return the median remaining lifetime (days) of each organisation.

        The median is the time at which the predicted survival falls to one half. For ``"cox"``
        (and the boosting kinds) it is ``inf`` when the curve stays above one half over the
        observed range (the horizon for the boosting kinds); the AFT kinds use their closed form,
        which may extrapolate.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features with the columns seen in fit.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n_samples,)
            A Series named ``median_lifetime`` with the index of `X` when `X` is a DataFrame (or any `X`
            after ``set_output(transform="pandas")``), else an array; see :meth:`set_output`.

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
        if self.kind in _boosting.KINDS:
            median = _boosting.median_lifetime(self, z)
        else:
            median = _lifelines.median_lifetime(self, z)
        return self._wrap(median, X, "median_lifetime")

    # ------------------------------------------------------------------ output container

    def set_output(self, *, transform: str | None = None) -> ChurnModel:
        """Choose the container of the predictions, as scikit-learn's ``set_output`` does.

        ChurnModel has no ``transform``; the setting applies to :meth:`predict`,
        :meth:`predict_churn_probability` and :meth:`predict_median_lifetime`. By default they
        follow `X`: a DataFrame gives a Series with the index of `X` (for example
        ``organisation_id``), so that predictions line up with the organisations as those of
        :meth:`predict_survival` and of the buy-till-you-die models do; an array gives an array.
        ``"pandas"`` gives a Series for arrays too. :meth:`predict_survival` always returns a
        DataFrame, whose columns are the times. Until this method is called with a container,
        scikit-learn's global ``set_config(transform_output="pandas")`` is followed too. The
        setting is kept by ``sklearn.base.clone`` and by :func:`b2bclient.save`.

        Parameters
        ----------
        transform : {"default", "pandas"} or None, default=None
            ``"default"``: follow `X`. ``"pandas"``: a Series for any `X` (a RangeIndex for
            arrays). ``None``: leave the setting as it is.

        Returns
        -------
        ChurnModel
            ``self``.

        Raises
        ------
        InvalidParameterError
            For another container (``"polars"`` is not supported).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [0.5], [1.5], [0.2], [0.9]])
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> model = ChurnModel().fit(X, y)
        >>> type(model.predict(X)).__name__
        'ndarray'
        >>> model.set_output(transform="pandas").predict(X[:2]).round(2)
        0   -1.82
        1    0.84
        Name: risk, dtype: float64
        """
        chosen = check_container(transform, "ChurnModel")
        if chosen is not None:
            self._sklearn_output_config = {"transform": chosen}
        return self

    def _wrap(self, values: Floats, X: Any, name: str) -> Floats | pd.Series:
        return wrap(values, X, name, getattr(self, "_sklearn_output_config", None))

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
        return concordance(self, X, y)

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
            For the boosting kinds, which have no coefficients.

        Examples
        --------
        >>> X = pd.DataFrame({"tickets": [0.0, 3.0, 1.0, 4.0, 0.0, 2.0]})
        >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
        >>> ChurnModel().fit(X, y).explain().columns.tolist()
        ['coef', 'se', 'hazard_ratio', 'hazard_ratio_lower', 'hazard_ratio_upper', 'z', 'p_value']
        """
        self._check_fitted()
        if self.kind in _boosting.KINDS:
            raise InvalidParameterError(
                f"ChurnModel(kind={self.kind!r}).explain() is not available: a boosting model "
                "has no coefficients. Use sklearn.inspection.permutation_importance(model, X, y) "
                "or fit kind='cox' for hazard ratios."
            )
        return _lifelines.explain(self)

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
        return proportional_hazards(self, X, y, alpha)

    # ------------------------------------------------------------------ persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        """Return the state as arrays and plain values (no lifelines object)."""
        return get_state(self)

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the model from the output of :meth:`_b2b_get_state`."""
        set_state(self, state)
