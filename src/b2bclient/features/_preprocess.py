"""The preprocessor: one documented way from a feature frame to a model matrix.

``build_features`` returns what a sales analyst reads: counts, money, days, shares, categories, and
NaN where a value does not exist (no order yet: no mean order value). A model wants a finite
numeric matrix on comparable scales. :class:`FeaturePreprocessor` makes that matrix, deciding per
column from the metadata the extractors declare and from the data seen in ``fit``:

* heavy-tailed money and counts get a signed ``log1p`` (or robust scaling);
* columns missing by design get the median and a missing-indicator (identical indicators once);
* categories are one-hot encoded, or passed through for methods that take categories;
* constant columns are dropped;
* the remaining numeric columns are standardised.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted, validate_data

from b2bclient._exceptions import B2BClientError, InvalidParameterError, NotFittedError
from b2bclient.features._columns import (
    KINDS,
    as_numeric,
    declared_rollups,
    fill_value,
    infer_kind,
    levels_of,
    scale_of,
    signed_log1p,
)

__all__ = ["KINDS", "FeaturePreprocessor", "preprocessor", "signed_log1p"]

_HEAVY = ("log", "robust", "none")
_SCALES = ("standard", "robust", None)
_IMPUTE = ("median", "mean", "zero")
_CATEGORICAL = ("onehot", "passthrough", "drop")
_OWNER = "FeaturePreprocessor"

Floats = npt.NDArray[np.float64]


class FeaturePreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Turn a feature frame into a finite, scaled model matrix, column by column.

    :func:`preprocessor` builds one with pandas output; this class is the estimator behind it.
    Each input column gets a *kind*, decided in :meth:`fit` and reported in `kinds_`:

    ``"categorical"``
        ``category``, ``object`` and ``string`` columns: one-hot encoded (one 0/1 column per level
        seen in fit, named ``<column>=<level>``; unseen levels give all zeros), passed through as
        pandas categories, or dropped (`categorical`).
    ``"binary"``
        Numeric columns holding only 0 and 1 (and bool columns): kept as 0/1, not scaled.
    ``"log"``
        Heavy-tailed money and counts: columns the extractors declare as summed (roll-up rule
        ``"sum"``: counts and amounts), and any other column whose values in fit are not bounded
        in [-1, 1] and whose skewness exceeds `skew_threshold` (mean order value, gaps in days).
        They get ``sign(x) * log1p(|x|)`` with ``heavy_tailed="log"``.
    ``"linear"``
        Every other numeric column (shares, trends, tenures, values already on a log scale).
    ``"drop"``
        Only through `kinds`.

    Then, in this order: missing values of numeric columns are imputed (median by default, on the
    input scale) and, when `missing_indicator` is True, a 0/1 column ``<column>__missing`` marks
    them; an indicator identical in fit to an earlier one is kept once (a frame without purchases
    has a dozen columns missing on exactly the same rows), and `missing_indicators_` says which
    columns each indicator stands for. Columns constant in fit are dropped (`dropped_` says why).
    Finally the ``"log"`` and ``"linear"`` columns are scaled (`scale`); binary, indicator and
    one-hot columns stay 0/1.

    Parameters
    ----------
    heavy_tailed : {"log", "robust", "none"}, default="log"
        ``"log"``: signed ``log1p`` of the ``"log"`` columns. ``"robust"``: no log; those columns
        are scaled by their median and interquartile range instead of `scale`. ``"none"``: treat
        them as linear.
    scale : {"standard", "robust", None}, default="standard"
        Scaling of the numeric (``"log"`` and ``"linear"``) columns after the transform: zero mean
        and unit variance, median and interquartile range (the standard deviation where the range
        is 0), or none.
    impute : {"median", "mean", "zero"}, default="median"
        Value given to missing entries of numeric columns.
    missing_indicator : bool, default=True
        Add ``<column>__missing`` for numeric columns with missing values in fit.
    categorical : {"onehot", "passthrough", "drop"}, default="onehot"
        What to do with categorical columns. ``"passthrough"`` keeps them as pandas categories
        (with their categories as seen in fit) for estimators that take categories, such as
        ``ChurnModel`` or scikit-learn's ``HistGradientBoostingClassifier``; use pandas output.
    drop_first : bool, default=False
        One-hot: leave out the first level of each column (the reference of a model without
        penalty and with an intercept).
    drop_constant : bool, default=True
        Drop columns that are constant in fit, and columns entirely missing in fit.
    skew_threshold : float, default=1.0
        A column not declared as a sum is ``"log"`` when the absolute skewness of its finite values
        in fit exceeds this and they are not all within [-1, 1].
    kinds : dict of str to str, optional
        Kinds forced per column name (``"log"``, ``"linear"``, ``"binary"``, ``"categorical"``
        or ``"drop"``), overriding the inference.
    extractors : None, str, Extractor or iterable of those, default=None
        Where the declared roll-up rules come from, as in ``build_features``; None reads every
        registered extractor with default parameters. Columns they do not declare are judged from
        the data alone.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : numpy.ndarray of str
        Column names seen in fit (when `X` was a DataFrame with string column names).
    kinds_ : pandas.Series
        The kind of every input column, indexed by column name.
    dropped_ : pandas.Series
        Why each dropped input column was dropped (``"constant"``, ``"all missing"``,
        ``"kinds"``, ``"categorical='drop'"``), indexed by column name.
    fill_ : pandas.Series
        The imputation value of every numeric column (input scale).
    center_, scale_ : pandas.Series
        Centre and scale of every scaled column (after the log).
    categories_ : dict of str to list
        The levels of every categorical column seen in fit.
    missing_indicators_ : dict of str to list of str
        Every indicator column and the input columns whose missingness it marks.

    Examples
    --------
    >>> X = pd.DataFrame({"orders": [0.0, 1.0, 3.0, 40.0],
    ...                   "days_since": [10.0, np.nan, 30.0, np.nan],
    ...                   "kind": pd.Categorical(["a", "b", "a", "a"]),
    ...                   "flag": [1.0, 1.0, 1.0, 1.0]})
    >>> pre = FeaturePreprocessor(kinds={"orders": "log"}).set_output(transform="pandas")
    >>> Z = pre.fit_transform(X)
    >>> Z.columns.tolist()
    ['orders', 'days_since', 'days_since__missing', 'kind=a', 'kind=b']
    >>> pre.dropped_.to_dict()
    {'flag': 'constant'}
    >>> Z["days_since__missing"].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """

    def __init__(
        self,
        *,
        heavy_tailed: str = "log",
        scale: str | None = "standard",
        impute: str = "median",
        missing_indicator: bool = True,
        categorical: str = "onehot",
        drop_first: bool = False,
        drop_constant: bool = True,
        skew_threshold: float = 1.0,
        kinds: Mapping[str, str] | None = None,
        extractors: Any = None,
    ) -> None:
        self.heavy_tailed = heavy_tailed
        self.scale = scale
        self.impute = impute
        self.missing_indicator = missing_indicator
        self.categorical = categorical
        self.drop_first = drop_first
        self.drop_constant = drop_constant
        self.skew_threshold = skew_threshold
        self.kinds = kinds
        self.extractors = extractors

    # ------------------------------------------------------------------ scikit-learn plumbing

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def _check_params(self) -> dict[str, str]:
        choices: tuple[tuple[str, Sequence[Any]], ...] = (
            ("heavy_tailed", _HEAVY),
            ("scale", _SCALES),
            ("impute", _IMPUTE),
            ("categorical", _CATEGORICAL),
        )
        for name, allowed in choices:
            value = getattr(self, name)
            if not any(value is a or (isinstance(value, str) and value == a) for a in allowed):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {_OWNER} must be one of {list(allowed)}. "
                    f"Got {value!r} instead."
                )
        for name in ("missing_indicator", "drop_first", "drop_constant"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {_OWNER} must be True or False. "
                    f"Got {getattr(self, name)!r} instead."
                )
        t: Any = self.skew_threshold
        if (
            isinstance(t, bool)
            or not isinstance(t, numbers.Real)
            or not math.isfinite(float(t))
            or t < 0
        ):
            raise InvalidParameterError(
                f"The 'skew_threshold' parameter of {_OWNER} must be a non-negative number such "
                f"as 1.0. Got {t!r} instead."
            )
        forced: dict[str, str] = {}
        if self.kinds is not None:
            if not isinstance(self.kinds, Mapping):
                raise InvalidParameterError(
                    f"The 'kinds' parameter of {_OWNER} must be a dict of column name to kind "
                    f"such as {{'purchasing__orders_total': 'log'}}. Got {self.kinds!r} instead."
                )
            for column, kind in self.kinds.items():
                if kind not in KINDS:
                    raise InvalidParameterError(
                        f"The 'kinds' parameter of {_OWNER} gives column {column!r} the kind "
                        f"{kind!r}; the kinds are {list(KINDS)}."
                    )
                forced[str(column)] = str(kind)
        return forced

    def _frame(self, X: Any, *, reset: bool, method: str) -> pd.DataFrame:
        owner = f"{_OWNER}.{method}"
        if isinstance(X, pd.Series):
            raise InvalidParameterError(
                f"X passed to {owner} must be two-dimensional (a DataFrame or an array of shape "
                f"(n_samples, n_features)). Got a Series instead; use X.to_frame()."
            )
        try:
            if isinstance(X, pd.DataFrame):
                validate_data(self, X, reset=reset, skip_check_array=True)
                frame = X
            else:
                from sklearn.utils import check_array

                array = check_array(
                    X, dtype=None, ensure_all_finite=False, ensure_2d=True, input_name="X"
                )
                validate_data(self, array, reset=reset, skip_check_array=True)
                frame = pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])
                if array.dtype.kind in "biuf":
                    frame = frame.astype(np.float64)
                else:
                    frame = frame.infer_objects()
        except ValueError as exc:
            if isinstance(exc, B2BClientError):
                raise
            raise InvalidParameterError(f"X passed to {owner} is invalid: {exc}") from exc
        if reset and frame.shape[0] == 0:
            raise InvalidParameterError(
                f"X passed to {owner} has 0 rows; at least 1 is required to learn the columns."
            )
        frame = frame.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
        return frame

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "kinds_")
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"This {_OWNER} is not fitted yet. Call fit(X) first, with the output of "
                f"build_features."
            ) from exc

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None) -> FeaturePreprocessor:
        """Learn the kind, imputation value, levels and scale of every column of `X`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Features, typically the output of :func:`~b2bclient.features.build_features`.
        y : ignored
            Accepted for pipelines.

        Returns
        -------
        FeaturePreprocessor
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a parameter out of its domain, an empty `X`, a column that is neither numeric nor
            categorical (dates, complex numbers), or infinite values; the column is named.

        Examples
        --------
        >>> X = pd.DataFrame({"revenue": [0.0, 10.0, 20.0, 30.0, 1e6],
        ...                   "share": [0.1, 0.5, 0.2, 0.0, 0.3]})
        >>> FeaturePreprocessor(extractors=[]).fit(X).kinds_.to_dict()
        {'revenue': 'log', 'share': 'linear'}
        """
        forced = self._check_params()
        frame = self._frame(X, reset=True, method="fit")
        rollups = declared_rollups(self.extractors, owner=_OWNER)
        kinds: dict[str, str] = {}
        dropped: dict[str, str] = {}
        fill: dict[str, float] = {}
        center: dict[str, float] = {}
        scale: dict[str, float] = {}
        categories: dict[str, list[Any]] = {}
        indicators: dict[str, list[str]] = {}
        seen_patterns: dict[bytes, str] = {}
        for column in frame.columns:
            s = frame[column]
            kind = forced.get(column) or self._infer_kind(s, column, rollups)
            kinds[column] = kind
            if kind == "drop":
                dropped[column] = "kinds"
                continue
            if kind == "categorical":
                if self.categorical == "drop":
                    dropped[column] = "categorical='drop'"
                    continue
                levels = levels_of(s)
                if self.drop_constant and len(levels) <= 1 and not s.isna().any():
                    dropped[column] = "constant"
                    continue
                categories[column] = levels
                continue
            x = as_numeric(s, column, f"{_OWNER}.fit")
            missing = np.isnan(x)
            if missing.all():
                if self.drop_constant:
                    dropped[column] = "all missing"
                    continue
                raise InvalidParameterError(
                    f"Column {column!r} of X passed to {_OWNER}.fit is entirely missing, so it "
                    f"has no value to impute; drop it, or keep drop_constant=True."
                )
            fill[column] = fill_value(x[~missing], self.impute)
            z = self._forward(np.where(missing, fill[column], x), kind)
            if self.missing_indicator and missing.any():
                key = np.packbits(missing).tobytes()
                if key in seen_patterns:
                    indicators[seen_patterns[key]].append(column)
                else:
                    name = f"{column}__missing"
                    seen_patterns[key] = name
                    indicators[name] = [column]
            if self.drop_constant and np.ptp(z) == 0:
                dropped[column] = "constant"
            elif kind in ("log", "linear"):
                center[column], scale[column] = self._scale_of(z, kind)
        self.kinds_ = pd.Series(kinds, dtype=object, name="kind")
        self.kinds_.index.name = "column"
        self.dropped_ = pd.Series(dropped, dtype=object, name="reason")
        self.dropped_.index.name = "column"
        self.fill_ = pd.Series(fill, dtype=np.float64, name="fill")
        self.center_ = pd.Series(center, dtype=np.float64, name="center")
        self.scale_ = pd.Series(scale, dtype=np.float64, name="scale")
        self.categories_ = categories
        self.missing_indicators_ = indicators
        self._output_names = self._names(frame.columns)
        if not self._output_names:
            rows = frame.shape[0]
            why = (
                f"it has {rows} sample, so every column is constant"
                if rows == 1
                else (f"every column was dropped ({dict(list(dropped.items())[:10])})")
            )
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has no usable column: {why}. Give features that vary "
                f"between rows."
            )
        return self

    def _infer_kind(self, s: pd.Series, column: str, rollups: Mapping[str, str]) -> str:
        return infer_kind(
            s, column, rollups, skew_threshold=float(self.skew_threshold), owner=f"{_OWNER}.fit"
        )

    def _forward(self, x: Floats, kind: str) -> Floats:
        if kind == "log" and self.heavy_tailed == "log":
            return signed_log1p(x)
        return x

    def _scale_of(self, z: Floats, kind: str) -> tuple[float, float]:
        how = self.scale
        if kind == "log" and self.heavy_tailed == "robust":
            how = "robust"
        return scale_of(z, how)

    def _names(self, columns: Sequence[str]) -> list[str]:
        owner_of = {cols[0]: name for name, cols in self.missing_indicators_.items()}
        names: list[str] = []
        for column in columns:
            if column not in self.dropped_.index:
                if self.kinds_[column] == "categorical":
                    if self.categorical == "passthrough":
                        names.append(column)
                    else:
                        levels = self.categories_[column][1 if self.drop_first else 0 :]
                        names.extend(f"{column}={level}" for level in levels)
                    continue
                names.append(column)
            if column in owner_of:
                names.append(owner_of[column])
        return names

    # ------------------------------------------------------------------ transform

    def transform(self, X: Any) -> Any:
        """Return the model matrix of `X`, with the columns of :meth:`get_feature_names_out`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            The same columns as in fit.

        Returns
        -------
        numpy.ndarray or pandas.DataFrame
            float64 (object when categories are passed through); a DataFrame indexed like `X`
            with ``set_output(transform="pandas")``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidParameterError
            If the columns differ from fit, or a column holds infinite or non-numeric values.
        """
        self._check_fitted()
        frame = self._frame(X, reset=False, method="transform")
        index = frame.index if isinstance(X, pd.DataFrame) else None
        owner = f"{_OWNER}.transform"
        out: dict[str, Any] = {}
        indicator_of = {cols[0]: name for name, cols in self.missing_indicators_.items()}
        for column in frame.columns:
            owns = column in indicator_of
            if column in self.dropped_.index and not owns:
                continue
            kind = self.kinds_[column]
            s = frame[column]
            if kind == "categorical":
                levels = self.categories_[column]
                if self.categorical == "passthrough":
                    values = s.astype(object).where(s.notna(), None)
                    out[column] = pd.Categorical(
                        values.where(values.isin(levels), None), categories=levels
                    )
                    continue
                as_obj = s.astype(object).to_numpy()
                for level in levels[1 if self.drop_first else 0 :]:
                    out[f"{column}={level}"] = (as_obj == level).astype(np.float64)
                continue
            x = as_numeric(s, column, owner)
            missing = np.isnan(x)
            if owns:
                out[indicator_of[column]] = missing.astype(np.float64)
            if column in self.dropped_.index:
                continue
            x = np.where(missing, self.fill_[column], x)
            if kind in ("log", "linear"):
                x = (self._forward(x, kind) - self.center_[column]) / self.scale_[column]
            out[column] = x
        result = pd.DataFrame(out, index=index)[self._output_names]
        if self.categorical == "passthrough" and self.categories_:
            return result
        return result.to_numpy(dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Return the names of the output columns.

        Numeric columns keep their name; a missing-indicator is ``<column>__missing`` after its
        column; one-hot columns are ``<column>=<level>``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Must equal the column names seen in fit, if given.

        Returns
        -------
        numpy.ndarray of str
        """
        self._check_fitted()
        if input_features is not None:
            seen = list(self.kinds_.index)
            if [str(c) for c in input_features] != seen:
                raise InvalidParameterError(
                    f"input_features passed to {_OWNER}.get_feature_names_out must equal the "
                    f"columns seen in fit ({seen[:5]}...). Got {list(input_features)[:5]}... "
                    f"instead."
                )
        return np.asarray(self._output_names, dtype=object)

    # ------------------------------------------------------------------ persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        state["output_names"] = list(getattr(self, "_output_names", []))
        config = getattr(self, "_sklearn_output_config", None)
        state["output_config"] = dict(config) if config else {}
        return state

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        names = state.pop("output_names")
        config = state.pop("output_config")
        for key, value in state.items():
            setattr(self, key, value)
        if "kinds_" in state:
            self._output_names = list(names)
        if config:
            self._sklearn_output_config = dict(config)


def preprocessor(
    *,
    heavy_tailed: str = "log",
    scale: str | None = "standard",
    impute: str = "median",
    missing_indicator: bool = True,
    categorical: str = "onehot",
    drop_first: bool = False,
    drop_constant: bool = True,
    skew_threshold: float = 1.0,
    kinds: Mapping[str, str] | None = None,
    extractors: Any = None,
) -> FeaturePreprocessor:
    """Return the preprocessor that turns ``build_features`` output into a model matrix.

    A :class:`FeaturePreprocessor` with pandas output (``set_output(transform="pandas")``), so
    the matrix keeps the organisation index and readable column names. Put it in front of any
    estimator: ``make_pipeline(preprocessor(), ChurnModel())``.

    Parameters
    ----------
    heavy_tailed, scale, impute, missing_indicator, categorical, drop_first, drop_constant, \
skew_threshold, kinds, extractors
        As in :class:`FeaturePreprocessor`; the defaults suit every estimator of b2bclient.

    Returns
    -------
    FeaturePreprocessor
        Unfitted, with pandas output.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.features import build_features
    >>> X = build_features(make_client_base(300, seed=1), as_of="2025-01-01")
    >>> Z = preprocessor().fit_transform(X)
    >>> bool(np.isfinite(Z.to_numpy()).all()), Z.index.equals(X.index)
    (True, True)
    >>> "purchasing__recency_days__missing" in Z.columns
    True
    """
    pre = FeaturePreprocessor(
        heavy_tailed=heavy_tailed,
        scale=scale,
        impute=impute,
        missing_indicator=missing_indicator,
        categorical=categorical,
        drop_first=drop_first,
        drop_constant=drop_constant,
        skew_threshold=skew_threshold,
        kinds=kinds,
        extractors=extractors,
    )
    pre.set_output(transform="pandas")
    return pre
