"""Segmenter: segments of the client base, a scikit-learn clusterer on ``build_features`` output."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import check_array
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from b2bclient._exceptions import B2BClientError, InvalidParameterError, NotFittedError
from b2bclient.features._preprocess import FeaturePreprocessor
from b2bclient.segment import _methods
from b2bclient.segment._methods import Design, Partition
from b2bclient.segment._mixture import MixtureFit, log_joint
from b2bclient.segment._representation import available_dimensions, measure, shrink

__all__ = ["METHODS", "Segmenter"]

#: The clustering methods of Segmenter.
METHODS = ("gmm", "kmeans", "kprototypes", "hdbscan")
_REPRESENTATIONS = ("auto", "profile", "features")
_SELECTIONS = ("auto", "bic", "silhouette", "stability")
_OWNER = "Segmenter"
#: Largest number of segments Segmenter accepts.
MAX_SEGMENTS = 50
#: The profile representation needs at least this many of its dimensions.
_MIN_DIMENSIONS = 3
_SILHOUETTE_SAMPLE = 3_000
_STABILITY_RESAMPLES = 4
#: Categorical column the mixture models beside the profile (a multinomial per segment).
_MIXTURE_CATEGORIES = ("firmographics__industry",)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Segment organisations from their features: firmographics and behaviour, mixed types.

    ``Segmenter().fit(X)`` takes the output of :func:`~b2bclient.features.build_features` (any
    frame of numeric and categorical columns works) and finds segments of organisations.

    **Representation.** With ``representation="auto"``, a frame holding the built-in features is
    turned into a *profile* of each organisation (docs/segment.md): size, purchases per active
    year, mean order value, channel shares of the last year's purchases, service share and
    breadth, projects, portal sessions, personal contact, tickets and contracts per active year;
    rates on a log scale, shares as log-odds. Every value carries the variance of its
    measurement: a rate from a few months of tenure or a share from three orders is unreliable,
    a share of purchases without purchases is unobserved. ``"gmm"`` weighs each value by its
    reliability; the other methods use values shrunk towards the population by it, so young
    organisations are not scattered to the extremes. Other frames (and ``"features"``) are
    clustered on the matrix of :class:`~b2bclient.features.FeaturePreprocessor`.

    **Methods.**

    ``"gmm"`` (default)
        A Gaussian mixture of the true profiles, one full covariance shared by the segments,
        fitted by EM through the measurement errors ("extreme deconvolution"), with the industry
        as a categorical variable per segment. ``transform`` gives membership probabilities.
    ``"kmeans"``
        scikit-learn's KMeans on the shrunk profile (MiniBatchKMeans from 50 000 rows).
        ``transform`` gives distances to the centres.
    ``"kprototypes"``
        k-prototypes (Huang, 1998) on the shrunk profile and every categorical column of `X`
        (industry, region, size band): squared distance plus ``gamma`` per mismatched category,
        with ``gamma`` half the mean standard deviation of the numbers.
    ``"hdbscan"``
        scikit-learn's HDBSCAN on the shrunk profile: segments of dense regions, ``-1`` for
        organisations in none. It finds the number of segments itself (`n_segments` must be
        ``"auto"``); new organisations join the segment of their nearest clustered neighbour.

    **Number of segments.** ``n_segments="auto"`` tries 2 to `max_segments` and keeps the best
    by `selection`: ``"bic"`` (the default for ``"gmm"``: the lowest Bayesian information
    criterion), ``"silhouette"`` (the default for the others: the highest mean silhouette on a
    sample of 3 000 organisations) or ``"stability"`` (the highest mean adjusted Rand index
    between fits on bootstrap samples, predicting every organisation). `selection_` holds the
    score of every candidate.

    Segments are numbered by size, largest first.

    Parameters
    ----------
    n_segments : int or "auto", default="auto"
        Number of segments, from 2 to 50 and at most the number of rows.
    method : {"gmm", "kmeans", "kprototypes", "hdbscan"}, default="gmm"
        The clustering method.
    representation : {"auto", "profile", "features"}, default="auto"
        ``"profile"`` requires the built-in feature columns it reads; ``"auto"`` uses it when
        they are there.
    selection : {"auto", "bic", "silhouette", "stability"}, default="auto"
        Criterion of ``n_segments="auto"``; ``"bic"`` only for ``"gmm"``.
    max_segments : int, default=8
        Largest number of segments ``"auto"`` tries.
    min_segment_size : int, optional
        ``"hdbscan"``: smallest segment, by default 2% of the organisations (at least 5).
    n_init : int, default=3
        Starts of the ``"gmm"``, ``"kmeans"`` and ``"kprototypes"`` fits; the best is kept.
    max_iter : int, default=300
        Iterations of EM (``"gmm"``) or of k-prototypes.
    tol : float, default=1e-3
        ``"gmm"`` stops when the mean log-likelihood per organisation changes by less.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the starts and samples.

    Attributes
    ----------
    labels_ : numpy.ndarray of int
        Segment of every training row (``-1``: unassigned by ``"hdbscan"``).
    n_segments_ : int
        Number of segments found.
    representation_ : str
        ``"profile"`` or ``"features"``.
    dimensions_ : list of str
        Columns of the clustered matrix (profile dimensions or preprocessed features).
    selection_ : pandas.DataFrame or None
        With ``n_segments="auto"``: per candidate number of segments, the ``criterion``, its
        ``score`` and whether it was ``chosen`` (``"gmm"`` adds ``log_likelihood``).
    weights_, means_, covariance_ : numpy.ndarray
        ``"gmm"``: segment weights, means and the shared covariance of the standardised profile.
    cluster_centers_ : numpy.ndarray
        ``"kmeans"``, ``"kprototypes"``, ``"hdbscan"``: centre of every segment (``"hdbscan"``:
        the mean of its members).
    categorical_columns_ : list of str
        Categorical columns the method uses (``"gmm"``: the industry; ``"kprototypes"``: all).
    n_iter_ : int
        Iterations of the final fit: EM, k-means or k-prototypes (1 for ``"hdbscan"``).
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.features import build_features
    >>> X = build_features(make_client_base(600, seed=2), as_of="2025-01-01")
    >>> seg = Segmenter(n_segments=4, random_state=0).fit(X)
    >>> seg.labels_.shape, seg.n_segments_, seg.representation_
    ((600,), 4, 'profile')
    >>> seg.transform(X).shape
    (600, 4)
    """

    def __init__(
        self,
        *,
        n_segments: int | str = "auto",
        method: str = "gmm",
        representation: str = "auto",
        selection: str = "auto",
        max_segments: int = 8,
        min_segment_size: int | None = None,
        n_init: int = 3,
        max_iter: int = 300,
        tol: float = 1e-3,
        random_state: Any = None,
    ) -> None:
        self.n_segments = n_segments
        self.method = method
        self.representation = representation
        self.selection = selection
        self.max_segments = max_segments
        self.min_segment_size = min_segment_size
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ------------------------------------------------------------------ scikit-learn plumbing

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    def _check_params(self) -> str:
        def bad(name: str, expected: str) -> InvalidParameterError:
            return InvalidParameterError(
                f"The {name!r} parameter of {_OWNER} must be {expected}. "
                f"Got {getattr(self, name)!r} instead."
            )

        if self.method not in METHODS:
            raise bad("method", f"one of {list(METHODS)}")
        if self.representation not in _REPRESENTATIONS:
            raise bad("representation", f"one of {list(_REPRESENTATIONS)}")
        if self.selection not in _SELECTIONS:
            raise bad("selection", f"one of {list(_SELECTIONS)}")
        if self.n_segments != "auto" and not (
            _is_int(self.n_segments) and 2 <= int(self.n_segments) <= MAX_SEGMENTS
        ):
            raise bad("n_segments", f"'auto' or an integer from 2 to {MAX_SEGMENTS}")
        if not (_is_int(self.max_segments) and 2 <= int(self.max_segments) <= MAX_SEGMENTS):
            raise bad("max_segments", f"an integer from 2 to {MAX_SEGMENTS}")
        if self.min_segment_size is not None and not (
            _is_int(self.min_segment_size) and int(self.min_segment_size) >= 2
        ):
            raise bad("min_segment_size", "None or an integer of at least 2")
        if not (_is_int(self.n_init) and int(self.n_init) >= 1):
            raise bad("n_init", "a positive integer such as 3")
        if not (_is_int(self.max_iter) and int(self.max_iter) >= 1):
            raise bad("max_iter", "a positive integer such as 300")
        tol: Any = self.tol
        valid_tol = isinstance(tol, (int, float, np.integer, np.floating)) and not isinstance(
            tol, (bool, np.bool_)
        )
        if not (valid_tol and math.isfinite(float(tol)) and float(tol) > 0):
            raise bad("tol", "a positive number such as 1e-3")
        if self.method == "hdbscan" and self.n_segments != "auto":
            raise InvalidParameterError(
                f"The 'n_segments' parameter of {_OWNER} must be 'auto' with method='hdbscan', "
                f"which finds the number of segments from the density of the data (tune "
                f"min_segment_size instead). Got {self.n_segments!r} instead."
            )
        selection = self.selection
        if selection == "bic" and self.method != "gmm":
            raise InvalidParameterError(
                f"The 'selection' parameter of {_OWNER} can be 'bic' only with method='gmm' "
                f"(other methods have no likelihood). Got selection='bic' with "
                f"method={self.method!r}; use 'silhouette' or 'stability'."
            )
        if selection == "auto":
            selection = "bic" if self.method == "gmm" else "silhouette"
        return str(selection)

    def _rng(self) -> np.random.Generator:
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return np.random.default_rng(rs.integers(0, 2**63 - 1))
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(rs.randint(0, 2**31 - 1))
        if rs is None or _is_int(rs):
            return np.random.default_rng(None if rs is None else int(rs))
        raise InvalidParameterError(
            f"The 'random_state' parameter of {_OWNER} must be None, an integer or a NumPy "
            f"random generator. Got {rs!r} instead."
        )

    def _frame(self, X: Any, *, reset: bool, method: str) -> pd.DataFrame:
        owner = f"{_OWNER}.{method}"
        if isinstance(X, pd.Series):
            raise InvalidParameterError(
                f"X passed to {owner} must be two-dimensional (a DataFrame or an array of shape "
                f"(n_samples, n_features)). Got a Series instead; use X.to_frame()."
            )
        try:
            if isinstance(X, pd.DataFrame):
                if X.shape[0] == 0 or X.shape[1] == 0:
                    raise InvalidParameterError(
                        f"X passed to {owner} is empty (shape {X.shape}); give at least one row "
                        f"and one column."
                    )
                validate_data(self, X, reset=reset, skip_check_array=True)
                frame = X.copy(deep=False)
                frame.columns = [str(c) for c in X.columns]
            else:
                array = check_array(X, dtype="numeric", ensure_all_finite=False, input_name="X")
                validate_data(self, array, reset=reset, skip_check_array=True)
                frame = pd.DataFrame(
                    array.astype(np.float64), columns=[f"x{j}" for j in range(array.shape[1])]
                )
        except ValueError as exc:
            if isinstance(exc, B2BClientError):
                raise
            raise InvalidParameterError(f"X passed to {owner} is invalid: {exc}") from exc
        for column in frame.columns:
            dtype = frame[column].dtype
            numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(
                dtype
            )
            if not (numeric or isinstance(dtype, pd.CategoricalDtype)):
                raise InvalidParameterError(
                    f"Column {column!r} of X passed to {owner} holds {dtype} values: Segmenter "
                    f"takes numbers and pandas categories. Convert it with astype('category') if "
                    f"it is a category, to a number if it is one, or drop it (an id or a name)."
                )
            if numeric and np.isinf(frame[column].to_numpy(dtype=np.float64, na_value=0)).any():
                raise InvalidParameterError(
                    f"Column {column!r} of X passed to {owner} holds infinite values. Replace "
                    f"them by a finite cap or by NaN."
                )
        return frame

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "labels_")
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"This {_OWNER}(method={self.method!r}) is not fitted yet. Call fit(X) first."
            ) from exc

    # ------------------------------------------------------------------ representation

    def _check_training_frame(self, frame: pd.DataFrame) -> None:
        n = frame.shape[0]
        if n < 2:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has {n} sample; at least 2 are needed to form "
                f"segments (n_samples = 1)."
            )
        if _is_int(self.n_segments) and int(self.n_segments) > n:
            raise InvalidParameterError(
                f"The 'n_segments' parameter of {_OWNER} is {self.n_segments}, more than the "
                f"{n} rows of X: give at most {n} segments, or more organisations."
            )
        empty = [c for c in frame.columns if frame[c].isna().all()]
        if empty:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has columns that are entirely missing: {empty[:10]}. "
                f"Drop them (X.dropna(axis=1, how='all')): they say nothing about the "
                f"organisations, and usually mean a table was absent when building the features."
            )
        varying = [c for c in frame.columns if frame[c].nunique(dropna=False) > 1]
        if not varying:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has only constant features ({list(frame.columns)[:10]}"
                f"): every organisation looks the same, so there is nothing to segment."
            )

    def _design_fit(self, frame: pd.DataFrame) -> Design:
        dims = available_dimensions(frame.columns) if self.representation != "features" else ()
        if self.representation == "profile" and len(dims) < _MIN_DIMENSIONS:
            from b2bclient.segment._representation import DIMENSIONS, EXPOSURE_COLUMNS

            needed = sorted({c for d in DIMENSIONS for c in d.columns} | {EXPOSURE_COLUMNS[0]})
            missing = [c for c in needed if c not in frame.columns]
            raise InvalidParameterError(
                f"representation='profile' needs the columns of build_features it reads; X "
                f"passed to {_OWNER}.fit lacks {missing[:10]}. Build X with the default "
                f"extractors, or use representation='features'."
            )
        self.categorical_columns_: list[str] = []
        self.categorical_levels_: list[list[Any]] = []
        if len(dims) >= _MIN_DIMENSIONS:
            self.representation_ = "profile"
            self.dimensions_ = [d.name for d in dims]
            m = measure(frame, dims)
            values = m.values.to_numpy()
            variances = m.variances.to_numpy()
            observed = np.isfinite(variances)
            masked = np.where(observed, values, np.nan)
            count = observed.sum(axis=0)
            unseen = [d for d, c in zip(self.dimensions_, count, strict=True) if c < 2]
            if unseen:
                raise InvalidParameterError(
                    f"X passed to {_OWNER}.fit observes the profile dimensions {unseen} for "
                    f"fewer than 2 organisations (no purchases, no activity): use "
                    f"representation='features', or more organisations."
                )
            mean = np.nanmean(masked, axis=0)
            scale = np.nanstd(masked, axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            self.profile_mean_ = mean
            self.profile_scale_ = scale
            z = (values - mean) / scale
            zv = variances / scale**2
            # Spread of the true values: observed variance minus the mean measurement variance.
            noise = np.nanmean(np.where(observed, zv, np.nan), axis=0)
            spread2 = np.nanvar(np.where(observed, z, np.nan), axis=0) - noise
            self.profile_spread_ = np.sqrt(np.maximum(spread2, 0.05))
            if not (self.profile_spread_ > 0).any() or np.all(np.nanstd(masked, axis=0) == 0):
                raise InvalidParameterError(
                    f"X passed to {_OWNER}.fit has only constant features in the profile: "
                    f"every organisation looks the same, so there is nothing to segment."
                )
            wanted = self._categorical_wanted(frame, profile=True)
            self._set_categories(frame, wanted)
            return self._profile_design(frame, z, zv)
        self.representation_ = "features"
        passthrough = self.method == "kprototypes"
        pre = FeaturePreprocessor(
            categorical="passthrough" if passthrough else "onehot", extractors=[]
        )
        pre.set_output(transform="pandas")
        try:
            matrix = pre.fit_transform(frame)
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit cannot be turned into features: {exc}"
            ) from exc
        self.preprocessor_ = pre
        categorical = [
            c for c in matrix.columns if isinstance(matrix[c].dtype, pd.CategoricalDtype)
        ]
        numeric = [c for c in matrix.columns if c not in categorical]
        if not numeric:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has no numeric feature left after preprocessing "
                f"(only constant or categorical columns): there is nothing to measure distances "
                f"on. Use method='kprototypes' with numeric columns, or add features."
            )
        self.dimensions_ = numeric
        self._set_categories(matrix, categorical)
        return self._features_design(matrix)

    def _categorical_wanted(self, frame: pd.DataFrame, *, profile: bool) -> list[str]:
        cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        if self.method == "kprototypes":
            return cats
        if self.method == "gmm" and profile:
            return [c for c in _MIXTURE_CATEGORIES if c in cats]
        return []

    def _set_categories(self, frame: pd.DataFrame, columns: list[str]) -> None:
        self.categorical_columns_ = list(columns)
        self.categorical_levels_ = []
        for c in columns:
            s = frame[c]
            present = set(s.dropna().unique())
            self.categorical_levels_.append([v for v in s.cat.categories if v in present])

    def _codes(self, frame: pd.DataFrame) -> tuple[Ints, ...]:
        out = []
        for column, levels in zip(self.categorical_columns_, self.categorical_levels_, strict=True):
            lookup = {v: i for i, v in enumerate(levels)}
            values = frame[column].astype(object)
            out.append(np.asarray([lookup.get(v, -1) for v in values.to_numpy()], dtype=np.int64))
        return tuple(out)

    def _profile_design(self, frame: pd.DataFrame, z: Floats, zv: Floats) -> Design:
        zero = np.zeros(z.shape[1])
        return Design(
            values=z,
            variances=zv,
            shrunk=shrink(z, zv, zero, self.profile_spread_),
            codes=self._codes(frame),
            levels=tuple(len(v) for v in self.categorical_levels_),
        )

    def _features_design(self, matrix: pd.DataFrame) -> Design:
        numeric = matrix[self.dimensions_].to_numpy(dtype=np.float64)
        return Design(
            values=numeric,
            variances=np.full_like(numeric, 1e-6),
            shrunk=numeric,
            codes=self._codes(matrix),
            levels=tuple(len(v) for v in self.categorical_levels_),
        )

    def _design(self, X: Any, method: str) -> Design:
        self._check_fitted()
        frame = self._frame(X, reset=False, method=method)
        if self.representation_ == "profile":
            dims = [d for d in available_dimensions(frame.columns) if d.name in self.dimensions_]
            m = measure(frame, dims)
            z = (m.values.to_numpy() - self.profile_mean_) / self.profile_scale_
            zv = m.variances.to_numpy() / self.profile_scale_**2
            return self._profile_design(frame, z, zv)
        return self._features_design(self.preprocessor_.transform(frame))

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None) -> Segmenter:
        """Find the segments of the organisations in `X`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            One row per organisation, typically ``build_features`` output: numeric and
            categorical (pandas ``category``) columns; NaN where a value does not exist.
        y : ignored
            Accepted for pipelines.

        Returns
        -------
        Segmenter
            ``self``.

        Raises
        ------
        InvalidParameterError
            For a parameter out of its range; a column that is neither numeric nor categorical,
            entirely missing or infinite (named); fewer rows than segments; only constant
            features.
        """
        selection = self._check_params()
        frame = self._frame(X, reset=True, method="fit")
        self._check_training_frame(frame)
        rng = self._rng()
        design = self._design_fit(frame)
        n = design.n
        if self.method == "hdbscan":
            min_size = self.min_segment_size or max(5, round(0.02 * n))
            part = _methods.fit_hdbscan(design, min(int(min_size), n))
            self.selection_ = pd.DataFrame(
                {"criterion": ["hdbscan"], "score": [float(min_size)], "chosen": [True]},
                index=pd.Index([part.k], name="n_segments"),
            )
        elif self.n_segments == "auto":
            part, self.selection_ = self._select(design, selection, rng)
        else:
            self.selection_ = None
            part = self._fit_k(design, int(self.n_segments), rng)
        self._store(part, design)
        return self

    def _fit_k(self, design: Design, k: int, rng: np.random.Generator) -> Partition:
        if self.method == "gmm":
            return _methods.fit_gmm(
                design, k, rng, int(self.n_init), int(self.max_iter), float(self.tol)
            )
        if self.method == "kmeans":
            return _methods.fit_kmeans(design, k, rng, int(self.n_init))
        return _methods.fit_kprototypes(
            design, k, rng, int(self.n_init), int(self.max_iter), self._gamma(design)
        )

    def _gamma(self, design: Design) -> float:
        if not design.codes:
            return 0.0
        return 0.5 * float(np.mean(np.std(design.shrunk, axis=0)))

    def _select(
        self, design: Design, selection: str, rng: np.random.Generator
    ) -> tuple[Partition, pd.DataFrame]:
        n = design.n
        distinct = int(np.unique(design.shrunk, axis=0).shape[0])
        top = max(2, min(int(self.max_segments), n - 1, distinct))
        candidates = list(range(2, max(top, 2) + 1))
        rows = []
        fits: dict[int, Partition] = {}
        for k in candidates:
            part = self._fit_k(design, k, rng)
            fits[k] = part
            row: dict[str, Any] = {"n_segments": k, "criterion": selection}
            if selection == "bic":
                row["score"] = -2.0 * part.log_likelihood + part.n_parameters * math.log(n)
                row["log_likelihood"] = part.log_likelihood
                row["icl"] = row["score"] + 2.0 * part.entropy
            elif selection == "silhouette":
                row["score"] = self._silhouette(design, part, rng)
            else:
                row["score"] = self._stability_score(design, k, rng)
            rows.append(row)
        table = pd.DataFrame(rows).set_index("n_segments")
        scores = table["score"].to_numpy(dtype=np.float64)
        scores = np.where(np.isnan(scores), np.inf if selection == "bic" else -np.inf, scores)
        best = int(np.argmin(scores) if selection == "bic" else np.argmax(scores))
        table["chosen"] = np.arange(len(table)) == best
        return fits[candidates[best]], table

    def _silhouette(self, design: Design, part: Partition, rng: np.random.Generator) -> float:
        from sklearn.metrics import silhouette_score

        labels = part.labels
        if len(np.unique(labels)) < 2:
            return float("nan")
        n = design.n
        idx = np.sort(rng.choice(n, size=min(n, _SILHOUETTE_SAMPLE), replace=False))
        if len(np.unique(labels[idx])) < 2:
            return float("nan")
        data = design.shrunk[idx]
        if self.method == "kprototypes" and design.codes:
            from b2bclient.segment._methods import squared_distances

            d = squared_distances(data, data)
            gamma = self._gamma(design)
            for c in design.codes:
                cc = c[idx]
                d = d + gamma * (cc[:, None] != cc[None, :])
            np.fill_diagonal(d, 0.0)
            return float(silhouette_score(np.sqrt(d), labels[idx], metric="precomputed"))
        return float(silhouette_score(data, labels[idx]))

    def _stability_score(self, design: Design, k: int, rng: np.random.Generator) -> float:
        from sklearn.metrics import adjusted_rand_score

        predictions = []
        for _ in range(_STABILITY_RESAMPLES):
            idx = rng.choice(design.n, size=design.n, replace=True)
            sub = _subset(design, idx)
            part = self._fit_k(sub, k, rng)
            predictions.append(self._assign(design, part, sub))
        scores = [
            adjusted_rand_score(predictions[i], predictions[j])
            for i in range(len(predictions))
            for j in range(i + 1, len(predictions))
        ]
        return float(np.mean(scores))

    def _assign(self, design: Design, part: Partition, fitted_on: Design) -> Ints:
        """Labels of `design` rows under a partition fitted on `fitted_on`."""
        if self.method == "gmm":
            fit = _mixture_of(part.state)
            return np.asarray(
                log_joint(design.values, design.variances, fit, design.codes).argmax(axis=1),
                dtype=np.int64,
            )
        centers = part.state["centers"]
        modes = part.state.get("modes", [])
        if self.method == "kprototypes":
            cost = _methods.kprototypes_cost(
                design.shrunk, design.codes, centers, modes, self._gamma(fitted_on)
            )
            return np.asarray(cost.argmin(axis=1), dtype=np.int64)
        return np.asarray(
            _methods.squared_distances(design.shrunk, centers).argmin(axis=1), dtype=np.int64
        )

    def _store(self, part: Partition, design: Design) -> None:
        labels = part.labels
        k = part.k
        counts = np.bincount(labels[labels >= 0], minlength=k)
        order = np.argsort(-counts, kind="stable")  # new segment j is old segment order[j]
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        self.n_segments_ = int(k)
        state = part.state
        self.n_iter_ = int(state["n_iter"])
        self.gamma_ = self._gamma(design) if self.method == "kprototypes" else 0.0
        if self.method == "gmm":
            self.weights_ = np.asarray(state["weights"])[order]
            self.means_ = np.asarray(state["means"])[order]
            self.covariance_ = np.asarray(state["covariance"])
            self.categorical_log_probs_ = [np.asarray(t)[order] for t in state["categorical"]]
            self.log_likelihood_ = float(part.log_likelihood)
            self.converged_ = bool(state["converged"])
        elif self.method in ("kmeans", "kprototypes"):
            self.cluster_centers_ = np.asarray(state["centers"])[order]
            self.categorical_modes_ = [np.asarray(m)[order] for m in state.get("modes", [])]
        else:
            members = labels >= 0
            self.exemplars_ = design.shrunk[members]
            self.exemplar_labels_ = rank[labels[members]]
            self.cluster_centers_ = (
                np.stack(
                    [self.exemplars_[self.exemplar_labels_ == j].mean(axis=0) for j in range(k)]
                )
                if k
                else np.zeros((0, design.shrunk.shape[1]))
            )
        if k:
            self.labels_ = np.where(labels >= 0, rank[np.maximum(labels, 0)], -1).astype(np.int64)
        else:
            self.labels_ = np.full(labels.shape[0], -1, dtype=np.int64)
        if self.method != "hdbscan":
            self.labels_ = self._predict_design(design)

    # ------------------------------------------------------------------ predict

    def _predict_design(self, design: Design) -> Ints:
        if self.method == "gmm":
            return np.asarray(self._log_joint(design).argmax(axis=1), dtype=np.int64)
        if self.method == "hdbscan":
            if self.n_segments_ == 0:
                return np.full(design.n, -1, dtype=np.int64)
            from sklearn.neighbors import NearestNeighbors

            nn = NearestNeighbors(n_neighbors=1).fit(self.exemplars_)
            _, idx = nn.kneighbors(design.shrunk)
            return np.asarray(self.exemplar_labels_[idx[:, 0]], dtype=np.int64)
        return np.asarray(self._distances(design).argmin(axis=1), dtype=np.int64)

    def _log_joint(self, design: Design) -> Floats:
        fit = MixtureFit(
            weights=self.weights_,
            means=self.means_,
            covariance=self.covariance_,
            categorical=tuple(self.categorical_log_probs_),
            log_likelihood=self.log_likelihood_,
            n_iter=self.n_iter_,
            converged=self.converged_,
        )
        return log_joint(design.values, design.variances, fit, design.codes)

    def _distances(self, design: Design) -> Floats:
        if self.method == "kprototypes":
            cost = _methods.kprototypes_cost(
                design.shrunk,
                design.codes,
                self.cluster_centers_,
                self.categorical_modes_,
                self.gamma_,
            )
        else:
            cost = _methods.squared_distances(design.shrunk, self.cluster_centers_)
        return np.asarray(np.sqrt(cost), dtype=np.float64)

    def predict(self, X: Any) -> Ints:
        """Return the segment of every organisation of `X` (new organisations too).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            The same columns as in fit.

        Returns
        -------
        numpy.ndarray of int
            Segment numbers, 0 the largest segment.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidParameterError
            If the columns differ from fit or hold invalid values.
        """
        return self._predict_design(self._design(X, "predict"))

    def transform(self, X: Any) -> Floats:
        """Return membership probabilities (``"gmm"``) or distances to each segment's centre.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            The same columns as in fit.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_segments_)
            Columns ``segment_0``, ``segment_1``, ... (see :meth:`get_feature_names_out`).
        """
        design = self._design(X, "transform")
        if self.method == "gmm":
            joint = self._log_joint(design)
            joint = joint - joint.max(axis=1, keepdims=True)
            p = np.exp(joint)
            return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)
        if self.method == "hdbscan" and self.n_segments_ == 0:
            return np.zeros((design.n, 0))
        return self._distances(design)

    def _is_gmm(self) -> bool:
        return bool(self.method == "gmm")

    @available_if(_is_gmm)  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> Floats:
        """Return the probability of every segment for every organisation (``"gmm"`` only).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            The same columns as in fit.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_segments_)
        """
        return np.asarray(self.transform(X), dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Return the names of the :meth:`transform` columns: ``segment_0``, ``segment_1``, ...

        Parameters
        ----------
        input_features : ignored
            Accepted for scikit-learn's API.

        Returns
        -------
        numpy.ndarray of str
        """
        self._check_fitted()
        return np.asarray([f"segment_{j}" for j in range(self.n_segments_)], dtype=object)

    # ------------------------------------------------------------------ describe

    def _frame_for(self, X: Any, method: str) -> pd.DataFrame:
        self._check_fitted()
        return self._frame(X, reset=False, method=method)

    def profile(self, X: Any, *, top: int = 3) -> pd.DataFrame:
        """Return a table of the segments that a sales director reads.

        One row per segment (the segments :meth:`predict` gives the rows of `X`), with:

        ``label``
            A short generated description: size band (the median of the segment), the industry
            when it is at least 1.3 times as common as overall, and up to two behaviours that set
            the segment apart ("large construction clients, portal-heavy, high service use").
        ``organisations``, ``share``
            Number and share of the organisations.
        ``revenue_share``
            Share of the revenue of the last 365 days (``purchasing__revenue_365d``; all-time
            revenue when absent; ``attrs["revenue_column"]`` says which).
        ``industries``, ``regions``
            The two most common, with their share in the segment.
        ``higher``, ``lower``
            The `top` features most above and below the rest of the organisations, in plain
            names from ``describe_features``, with the standardised difference (money and counts
            on a log scale; features correlated above 0.7 with one already listed are skipped).

        Parameters
        ----------
        X : pandas.DataFrame
            The features of the organisations, the same columns as in fit.
        top : int, default=3
            Features listed in ``higher`` and ``lower``.

        Returns
        -------
        pandas.DataFrame
            Indexed by segment.

        Examples
        --------
        >>> from b2bclient.datasets import make_client_base
        >>> from b2bclient.features import build_features
        >>> X = build_features(make_client_base(600, seed=2), as_of="2025-01-01")
        >>> table = Segmenter(n_segments=3, random_state=0).fit(X).profile(X)
        >>> table.columns.tolist()[:3], int(table["organisations"].sum())
        (['label', 'organisations', 'share'], 600)
        """
        from b2bclient.segment._profile import profile_table

        if not (_is_int(top) and int(top) >= 1):
            raise InvalidParameterError(
                f"The 'top' parameter of {_OWNER}.profile must be a positive integer such as 3. "
                f"Got {top!r} instead."
            )
        frame = self._frame_for(X, "profile")
        return profile_table(frame, self.predict(frame), top=int(top))

    def differences(self, X: Any) -> pd.DataFrame:
        """Return the standardised difference of every feature between each segment and the rest.

        Features go through the preprocessor first (signed log1p of money and counts, medians for
        missing values); the difference is ``(mean in the segment - mean of the others) / sd``.

        Parameters
        ----------
        X : pandas.DataFrame
            The same columns as in fit.

        Returns
        -------
        pandas.DataFrame
            One row per numeric feature, one column per segment.
        """
        from b2bclient.segment._profile import differences

        frame = self._frame_for(X, "differences")
        return differences(frame, self.predict(frame))

    def stability(self, X: Any, *, n_resamples: int = 10, random_state: Any = None) -> pd.DataFrame:
        """Measure how well the segmentation comes back on bootstrap samples of `X`.

        Each resample refits a copy of this Segmenter (with the fitted number of segments) on
        ``len(X)`` rows drawn with replacement and predicts every row of `X`. Costs `n_resamples`
        fits.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            The same columns as in fit (usually the training features).
        n_resamples : int, default=10
            Bootstrap samples.
        random_state : int, optional
            Seed of the samples and of the refits.

        Returns
        -------
        pandas.DataFrame
            Row ``"all"``: mean and standard deviation of the adjusted Rand index (``ari``,
            ``ari_sd``) between the segmentation and each resample's, and the mean ``jaccard``
            over segments. One row per segment: the Jaccard index of its members with the
            best-matching resampled segment (Hennig, 2007: below 0.5 a segment is not stable,
            above 0.75 it is) and the ARI of the "in the segment or not" split.
        """
        if not (_is_int(n_resamples) and int(n_resamples) >= 1):
            raise InvalidParameterError(
                f"The 'n_resamples' parameter of {_OWNER}.stability must be a positive integer "
                f"such as 10. Got {n_resamples!r} instead."
            )
        if random_state is not None and not _is_int(random_state):
            raise InvalidParameterError(
                f"The 'random_state' parameter of {_OWNER}.stability must be None or an integer. "
                f"Got {random_state!r} instead."
            )
        from b2bclient.segment._stability import bootstrap_stability

        self._check_fitted()
        reference = self.predict(X)
        return bootstrap_stability(
            self,
            X,
            reference,
            int(n_resamples),
            None if random_state is None else int(random_state),
        )

    # ------------------------------------------------------------------ persistence

    def _b2b_get_state(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        config = getattr(self, "_sklearn_output_config", None)
        state["output_config"] = dict(config) if config else {}
        return state

    def _b2b_set_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        config = state.pop("output_config")
        for key, value in state.items():
            setattr(self, key, value)
        if config:
            self._sklearn_output_config = dict(config)


def _subset(design: Design, idx: Ints) -> Design:
    return Design(
        values=design.values[idx],
        variances=design.variances[idx],
        shrunk=design.shrunk[idx],
        codes=tuple(c[idx] for c in design.codes),
        levels=design.levels,
    )


def _mixture_of(state: dict[str, Any]) -> MixtureFit:
    return MixtureFit(
        weights=state["weights"],
        means=state["means"],
        covariance=state["covariance"],
        categorical=tuple(state["categorical"]),
        log_likelihood=float("nan"),
        n_iter=int(state["n_iter"]),
        converged=bool(state["converged"]),
    )
