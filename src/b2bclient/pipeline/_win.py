"""WinModel: the calibrated probability that a deal is won, and when it closes."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from b2bclient._exceptions import InvalidParameterError, NotFittedError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import ClientBase, PartitionedClientBase
from b2bclient.base._partitioned import in_memory_engine, score_partitions
from b2bclient.pipeline._calibrated import (
    calibration_state,
    fit_calibrated,
    restore_calibration,
)
from b2bclient.pipeline._close import close_within_frame, fit_close_time
from b2bclient.pipeline._drivers import deal_drivers
from b2bclient.pipeline._frame import (
    open_deal_snapshots,
    training_snapshots,
)
from b2bclient.pipeline._score import linear_scores
from b2bclient.pipeline._win_partitioned import (
    _by_deal,
    _close_part,
    _proba_part,
    check_partitionable_model,
)

__all__ = ["DEFAULT_EXTRACTORS", "WinModel"]

#: The organisation features a WinModel reads by default.
DEFAULT_EXTRACTORS: tuple[str, ...] = ("purchasing", "pipeline", "contracts", "engagement")

Floats = npt.NDArray[np.float64]
_OWNER = "WinModel"
_ID_COLUMNS = ("deal_id", "organisation_id", "at", "amount", "won")
_METHODS = ("isotonic", "sigmoid")


def _check_base(base: Any, owner: str) -> ClientBase:
    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            f"{owner} needs a ClientBase. Got {type(base).__name__} instead."
        )
    return base


class WinModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Predict whether a deal is won: a calibrated logistic model of deal outcome.

    Two ways to use it:

    * on a client base: ``fit(base, as_of=t)`` learns from the deals closed before ``t``, each
      seen as it was before it closed (at its creation and at every feature snapshot at which it
      was still open: what was known then, never its outcome or closing time), with its own
      attributes (channel, amount relative to the organisation's usual order, touchpoints in the
      90 days before, project stage, age) and its organisation's features at that time.
      ``predict_proba(base, as_of=t)`` then scores the deals open at ``t``,
      :meth:`p_close_within` gives the chance each closes (and closes won) within a horizon from a
      lognormal time to close per channel, and :meth:`drivers` names what moves each deal's odds;
    * as a plain scikit-learn binary classifier on a deal-feature matrix: ``fit(X, y)``,
      ``predict_proba(X)`` (the matrix of :meth:`deal_frame` or any numeric matrix).

    The classifier is the shared :func:`~b2bclient.features.preprocessor` followed by an
    L2-penalised logistic regression, calibrated by cross-validation
    (:class:`~sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``: the
    calibration map is learnt from out-of-fold predictions, the model on all rows), so the
    drivers are exact contributions to one model's log-odds.

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of the L2 penalty of the logistic regression.
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        Calibration map. Sigmoid is smooth: isotonic regression fits steps whose plateaus,
        on a few thousand deals, hold deciles several points off their win rate.
    cv : int, default=5
        Folds of the calibration.
    every : str or pandas.Timedelta, default="60D"
        Spacing of the feature snapshots at which open deals are seen (fit on a base).
    lookback : str or pandas.Timedelta, default="730D"
        Deals created this long before ``as_of`` are learnt from (fit on a base).
    extractors : optional
        Organisation features, as ``extractors=`` of ``build_features``; by default
        :data:`DEFAULT_EXTRACTORS` (purchasing, pipeline, contracts and engagement: the
        organisation's history of winning, its contracts and its contact with sales). None uses
        every registered extractor (slower to fit, no better on the synthetic data).
    random_state : int or None, default=0
        Seed of the shuffled, stratified calibration folds.

    Attributes
    ----------
    model_ : sklearn.calibration.CalibratedClassifierCV
        The calibrated pipeline.
    classes_ : numpy.ndarray
        The two classes (``[False, True]`` after a fit on a base).
    n_features_in_ : int
        Columns of the deal-feature matrix.
    feature_names_in_ : numpy.ndarray of str
        Their names, when fitted on a frame.
    close_time_ : pandas.DataFrame or None
        ``mu`` and ``sigma`` of the log days to close per channel (``"*"`` pooled), fitted on a
        base with the deals open at ``as_of`` as censored; None after ``fit(X, y)``.
    as_of_ : pandas.Timestamp or None
        The cut-off of a fit on a base.
    training_rows_ : int
        Rows learnt from.
    matrix_mean_ : numpy.ndarray
        Mean of the model matrix over the training rows (the reference of :meth:`drivers`).

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(150, seed=2)
    >>> model = WinModel().fit(base, as_of="2024-07-01")
    >>> p = model.predict_proba(base, as_of="2024-07-01")
    >>> bool(p.between(0, 1).all()), p.index.name
    (True, 'deal_id')
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        method: str = "sigmoid",
        cv: int = 5,
        every: Any = "60D",
        lookback: Any = "730D",
        extractors: Any = DEFAULT_EXTRACTORS,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.method = method
        self.cv = cv
        self.every = every
        self.lookback = lookback
        self.extractors = extractors
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------------------ frames

    def deal_frame(self, base: ClientBase, as_of: Any) -> pd.DataFrame:
        """Return the deals open at `as_of` with the features the model reads.

        Parameters
        ----------
        base : ClientBase
            The client base; only rows before `as_of` are read.
        as_of : str or pandas.Timestamp
            The cut-off.

        Returns
        -------
        pandas.DataFrame
            ``deal_id``, ``organisation_id``, ``at``, ``amount``, the deal's attributes
            (``deal__*``) and its organisation's features, one row per open deal.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> frame = WinModel().deal_frame(make_client_base(150, seed=2), "2024-07-01")
        >>> frame.columns[:6].tolist()
        ['deal_id', 'organisation_id', 'at', 'amount', 'deal__channel', 'deal__stage']
        """
        base = _check_base(base, f"{_OWNER}.deal_frame")
        as_of = to_timestamp(as_of, owner=f"{_OWNER}.deal_frame")
        return open_deal_snapshots(base, as_of, extractors=self.extractors)

    def training_frame(self, base: ClientBase, as_of: Any) -> pd.DataFrame:
        """Return the rows a fit on `base` as of `as_of` learns from, with the label ``won``.

        Every deal closed before `as_of` (created within `lookback`) seen at its creation
        (``deal__age_days`` 0) and at every feature snapshot at which it was still open. Useful
        to evaluate a model fitted earlier on the deals that closed since: take the rows with
        ``at`` after its cut-off.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            The cut-off.

        Returns
        -------
        pandas.DataFrame
            ``deal_id``, ``organisation_id``, ``at``, ``amount``, ``won``, then the features.

        Raises
        ------
        InvalidTablesError
            When no won and lost deals closed before `as_of` within `lookback`.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> rows = WinModel().training_frame(make_client_base(150, seed=2), "2024-07-01")
        >>> bool((rows["at"] < pd.Timestamp("2024-07-01")).all())
        True
        """
        base = _check_base(base, f"{_OWNER}.training_frame")
        self._params()
        return training_snapshots(
            base,
            to_timestamp(as_of, owner=f"{_OWNER}.training_frame"),
            every=self.every,
            lookback=self.lookback,
            extractors=self.extractors,
        )

    def _params(self) -> None:
        if self.method not in _METHODS:
            raise InvalidParameterError(
                f"The 'method' parameter of {_OWNER} must be one of {list(_METHODS)}. "
                f"Got {self.method!r} instead."
            )
        C = self.C
        if isinstance(C, bool) or not isinstance(C, (int, float)) or not np.isfinite(C) or C <= 0:
            raise InvalidParameterError(
                f"The 'C' parameter of {_OWNER} must be a positive number such as 0.1. "
                f"Got {C!r} instead."
            )
        if isinstance(self.cv, bool) or not isinstance(self.cv, (int, np.integer)) or self.cv < 2:
            raise InvalidParameterError(
                f"The 'cv' parameter of {_OWNER} must be an integer of at least 2. "
                f"Got {self.cv!r} instead."
            )

    # --------------------------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None, *, as_of: Any = None) -> WinModel:
        """Fit on a client base as of `as_of`, or on a deal-feature matrix `X` with labels `y`.

        Parameters
        ----------
        X : ClientBase or array-like of shape (n_deals, n_features)
            A client base (then `as_of` is required and `y` must be None) or a feature matrix.
        y : array-like of shape (n_deals,), optional
            Binary outcomes when `X` is a matrix.
        as_of : str or pandas.Timestamp, optional
            The cut-off when `X` is a client base: deals closed before it are learnt from.

        Returns
        -------
        WinModel
            self.

        Raises
        ------
        InvalidParameterError
            For a parameter outside its domain, a missing `as_of` or labels with a base.
        InvalidTablesError
            When no won and lost deals closed before `as_of` to learn from.
        """
        self._params()
        if isinstance(X, ClientBase):
            if y is not None:
                raise InvalidParameterError(
                    f"{_OWNER}.fit(base, as_of=...) reads the outcomes from the base; y must be "
                    "None."
                )
            as_of = to_timestamp(as_of, owner=_OWNER)
            frame = self.training_frame(X, as_of)
            features = frame.drop(columns=list(_ID_COLUMNS))
            self._fit_matrix(features, frame["won"].to_numpy(bool), groups=frame["deal_id"])
            self.close_time_ = self._fit_close_time(X, as_of)
            self.as_of_ = as_of
            return self
        if as_of is not None:
            raise InvalidParameterError(
                f"{_OWNER}.fit takes as_of only with a ClientBase; got a {type(X).__name__}."
            )
        self._fit_matrix(X, y)
        self.close_time_ = None
        self.as_of_ = None
        return self

    def _fit_matrix(self, X: Any, y: Any, groups: pd.Series | None = None) -> None:
        """Fit the calibrated pipeline; with `groups` (deal ids), each deal weighs the same."""
        fit_calibrated(self, X, y, groups)

    def _fit_close_time(self, base: ClientBase, as_of: pd.Timestamp) -> pd.DataFrame:
        deals = base.as_of(as_of).deals
        span = to_duration(self.lookback, name="lookback", owner=_OWNER)
        deals = deals[deals["created_at"] >= as_of - span]
        event = (deals["status"] != "open").to_numpy()
        stop = deals["closed_at"].where(event, as_of)
        days = ((stop - deals["created_at"]) / pd.Timedelta(days=1)).to_numpy(np.float64)
        channel = deals["channel"].astype(object).where(deals["channel"].notna(), "other")
        return fit_close_time(channel, days, event)

    # ------------------------------------------------------------------------- persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        """Return the fitted state with the calibrated model taken apart into storable pieces."""
        return calibration_state(self)

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        """Rebuild the calibrated model from :meth:`_b2b_get_state`."""
        restore_calibration(self, state)

    # ----------------------------------------------------------------------------- predict

    def _check(self) -> None:
        try:
            check_is_fitted(self, "model_")
        except Exception as exc:
            raise NotFittedError(
                f"This {_OWNER} is not fitted yet: call fit(base, as_of=...) or fit(X, y) first."
            ) from exc

    def _matrix(self, X: Any) -> Any:
        from sklearn.utils.validation import validate_data

        if isinstance(X, pd.DataFrame):
            names = getattr(self, "feature_names_in_", None)
            try:
                validate_data(self, X, reset=False, skip_check_array=True)
            except ValueError as exc:  # scikit-learn's text kept: its checks match on it
                known = [] if names is None else [str(c) for c in names]
                given = [str(c) for c in X.columns]
                raise InvalidParameterError(
                    f"X passed to {_OWNER} has other columns than at fit: missing "
                    f"{[c for c in known if c not in given][:5]}, unexpected "
                    f"{[c for c in given if c not in known][:5]}. {exc}"
                ) from None
            return X if names is None else X[list(names)]
        Xa = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        frame = pd.DataFrame(np.asarray(Xa, dtype=np.float64))
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
        return frame

    def _scored(self, base: ClientBase, as_of: Any, owner: str) -> tuple[pd.DataFrame, Floats]:
        base = _check_base(base, owner)
        as_of = to_timestamp(as_of, owner=owner)
        frame = self.deal_frame(base, as_of)
        if not len(frame):
            return frame, np.zeros(0)
        p = self._proba(self._matrix(frame[list(self.feature_names_in_)]))
        return frame, np.asarray(p[:, 1], dtype=float)

    def predict_proba(self, X: Any, as_of: Any = None, *, engine: Any = "pandas") -> Any:
        """Return win probabilities.

        Parameters
        ----------
        X : ClientBase, PartitionedClientBase or array-like of shape (n_deals, n_features)
            A client base (with `as_of`): score the deals open at `as_of`; or a feature matrix.
            A partitioned base (``ClientBase.open_parquet``) is scored partition by partition,
            each read where it is scored.
        as_of : str or pandas.Timestamp, optional
            The cut-off, with a base.
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            With a partitioned base: its partitions one after the other here (the result
            ordered by ``deal_id``), or on Dask (a lazy Dask Series, each partition ordered
            as its deals). Anything else takes ``"pandas"`` only.

        Returns
        -------
        pandas.Series, numpy.ndarray or dask.dataframe.Series
            With a base: the probability that each deal open at `as_of` is won, indexed by
            ``deal_id``. With a matrix: an array of shape (n_deals, 2), the columns following
            `classes_`.

        Raises
        ------
        NotFittedError
            Before fit.
        InvalidParameterError
            For a partitioned base and a model reading features of scope ``"global"``.
        """
        self._check()
        if isinstance(X, PartitionedClientBase):
            owner = f"{_OWNER}.predict_proba"
            self._partitionable(owner)
            return score_partitions(
                X, _proba_part, self, as_of, engine=engine, owner=owner, finish=_by_deal
            )
        in_memory_engine(engine, f"{_OWNER}.predict_proba")
        if isinstance(X, ClientBase):
            if getattr(self, "feature_names_in_", None) is None:
                raise InvalidParameterError(
                    f"This {_OWNER} was fitted on a plain matrix; fit it on a ClientBase (or on "
                    "the frame of deal_frame) to score a base."
                )
            frame, p = self._scored(X, as_of, f"{_OWNER}.predict_proba")
            return pd.Series(p, index=pd.Index(frame["deal_id"], name="deal_id"), name="p_win")
        return self._proba(self._matrix(X))

    def _proba(self, matrix: Any) -> Floats:
        """Return the calibrated probabilities of the rows of a checked matrix.

        The log-odds are summed column by column (:func:`linear_scores`) rather than through
        the model matrix; a frame that needs the general path gets it.
        """
        cal = self.model_.calibrated_classifiers_[0]
        pre, lr = cal.estimator[0], cal.estimator[-1]
        scores = None
        if isinstance(matrix, pd.DataFrame) and len(matrix):
            scores = linear_scores(pre, lr.coef_[0], float(lr.intercept_[0]), matrix)
        if scores is None:
            return np.asarray(self.model_.predict_proba(matrix), dtype=np.float64)
        p = np.clip(np.asarray(cal.calibrators[0].predict(scores), dtype=np.float64), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> Any:
        """Return the more likely outcome of each row of the matrix `X`."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Return the share of deals in `X` whose outcome :meth:`predict` gets right.

        Parameters
        ----------
        X : array-like of shape (n_deals, n_features)
            A deal-feature matrix, as :meth:`fit` takes it.
        y : array-like of shape (n_deals,)
            The outcomes, 1 for won and 0 for lost.
        sample_weight : array-like of shape (n_deals,), optional
            A weight per deal.

        Returns
        -------
        float
            The (weighted) accuracy.
        """
        return float(super().score(X, y, sample_weight=sample_weight))

    def _partitionable(self, owner: str) -> None:
        """Refuse to score a partitioned base with features a partition cannot compute."""
        check_partitionable_model(self, owner)

    def p_close_within(
        self,
        base: ClientBase | PartitionedClientBase,
        as_of: Any,
        horizon: Any = "90D",
        *,
        engine: Any = "pandas",
    ) -> Any:
        """Return, per deal open at `as_of`, the chance it closes, and closes won, within `horizon`.

        The time to close is a lognormal per channel (`close_time_`); a deal open at `as_of` has
        survived its age, so ``p_close = P(T < age + horizon | T >= age)``. Outcome and closing
        time are taken as independent given the features (the win probability already depends on
        the deal's age): ``p_won = p_win * p_close``.

        Parameters
        ----------
        base : ClientBase or PartitionedClientBase
            The client base; a partitioned one is scored partition by partition.
        as_of : str or pandas.Timestamp
            The cut-off.
        horizon : str or pandas.Timedelta, default "90D"
            A positive duration.
        engine : {"pandas", "dask"} or distributed.Client, default "pandas"
            As in :meth:`predict_proba`.

        Returns
        -------
        pandas.DataFrame or dask.dataframe.DataFrame
            Indexed by ``deal_id``: ``organisation_id``, ``channel``, ``amount``, ``age_days``,
            ``p_win``, ``p_close``, ``p_won`` and ``expected_won`` (``amount * p_won``).

        Raises
        ------
        InvalidParameterError
            For a horizon that is not positive, or a model fitted on a plain matrix.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(150, seed=2)
        >>> m = WinModel().fit(base, as_of="2024-07-01")
        >>> out = m.p_close_within(base, "2024-07-01", horizon="30D")
        >>> bool((out["p_won"] <= out["p_win"]).all())
        True
        """
        owner = f"{_OWNER}.p_close_within"
        self._check()
        span = to_duration(horizon, owner=owner)
        if getattr(self, "close_time_", None) is None:
            raise InvalidParameterError(
                f"{owner} needs the time to close, which a fit on a ClientBase learns; this "
                "model was fitted on a plain matrix."
            )
        if isinstance(base, PartitionedClientBase):
            self._partitionable(owner)
            return score_partitions(
                base, _close_part, self, as_of, span, engine=engine, owner=owner, finish=_by_deal
            )
        in_memory_engine(engine, owner)
        frame, p = self._scored(base, as_of, owner)
        return close_within_frame(frame, p, self.close_time_, span)

    def drivers(self, base: ClientBase, as_of: Any, *, k: int = 3) -> pd.DataFrame:
        """Return the `k` features that move each open deal's log-odds most, with their effect.

        The effect of a feature is its coefficient times the deal's value minus the mean value
        over the training rows, on the model matrix: positive raises the odds of winning against
        an average deal, negative lowers them. They sum (over all features) to the deal's
        uncalibrated log-odds minus those of the average deal.

        Parameters
        ----------
        base : ClientBase
            The client base.
        as_of : str or pandas.Timestamp
            The cut-off.
        k : int, default 3
            Drivers per deal.

        Returns
        -------
        pandas.DataFrame
            Long format, ``k`` rows per deal open at `as_of`: ``deal_id``, ``rank`` (1 first),
            ``feature`` (a column of the model matrix, e.g. ``deal__channel=tender``) and
            ``effect`` (log-odds).

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> base = make_client_base(150, seed=2)
        >>> d = WinModel().fit(base, as_of="2024-07-01").drivers(base, "2024-07-01", k=2)
        >>> d.columns.tolist()
        ['deal_id', 'rank', 'feature', 'effect']
        """
        return deal_drivers(self, base, as_of, k)
