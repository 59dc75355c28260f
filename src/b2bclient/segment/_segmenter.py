"""Segmenter: segments of the client base, a scikit-learn clusterer on ``build_features`` output."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from b2bclient._exceptions import InvalidParameterError, NotFittedError
from b2bclient.segment import _methods
from b2bclient.segment._checks import (
    METHODS,
    as_frame,
    check_params,
    check_training_frame,
    is_int,
    rng_of,
)
from b2bclient.segment._design import design_of, fit_design
from b2bclient.segment._methods import Design, Partition
from b2bclient.segment._mixture import MixtureFit, log_joint
from b2bclient.segment._selection import fit_k, gamma, select

__all__ = ["METHODS", "Segmenter"]

_OWNER = "Segmenter"

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


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
        fitted by EM through the measurement errors ("extreme deconvolution").
        ``transform`` gives membership probabilities.
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
        ``score`` and whether it was ``chosen``. ``"gmm"`` adds ``log_likelihood``,
        ``n_parameters``, ``icl`` and ``gain_ratio``: twice the log-likelihood gained over the
        previous candidate divided by the BIC's penalty for the added parameters (above 1 the
        BIC prefers the larger number; about level across candidates, the likelihood does not
        tell the numbers apart).
    weights_, means_, covariance_ : numpy.ndarray
        ``"gmm"``: segment weights, means and the shared covariance of the standardised profile.
    cluster_centers_ : numpy.ndarray
        ``"kmeans"``, ``"kprototypes"``, ``"hdbscan"``: centre of every segment (``"hdbscan"``:
        the mean of its members).
    categorical_columns_ : list of str
        Categorical columns the method uses (``"kprototypes"``: all; the others: none).
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
        return check_params(self)

    def _rng(self) -> np.random.Generator:
        return rng_of(self.random_state)

    def _frame(self, X: Any, *, reset: bool, method: str) -> pd.DataFrame:
        return as_frame(self, X, reset=reset, method=method)

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "labels_")
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"This {_OWNER}(method={self.method!r}) is not fitted yet. Call fit(X) first."
            ) from exc

    # ------------------------------------------------------------------ representation

    def _check_training_frame(self, frame: pd.DataFrame) -> None:
        check_training_frame(frame, self.n_segments)

    def _design(self, X: Any, method: str) -> Design:
        self._check_fitted()
        return design_of(self, self._frame(X, reset=False, method=method))

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
        design = fit_design(self, frame)
        n = design.n
        if self.method == "hdbscan":
            min_size = self.min_segment_size or max(5, round(0.02 * n))
            part = _methods.fit_hdbscan(design, min(int(min_size), n))
            self.selection_ = pd.DataFrame(
                {"criterion": ["hdbscan"], "score": [float(min_size)], "chosen": [True]},
                index=pd.Index([part.k], name="n_segments"),
            )
        elif self.n_segments == "auto":
            part, self.selection_ = select(self, design, selection, rng)
        else:
            self.selection_ = None
            part = self._fit_k(design, int(self.n_segments), rng)
        self._store(part, design)
        return self

    def _fit_k(self, design: Design, k: int, rng: np.random.Generator) -> Partition:
        return fit_k(self, design, k, rng)

    def _gamma(self, design: Design) -> float:
        return gamma(design)

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

        if not (is_int(top) and int(top) >= 1):
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
        if not (is_int(n_resamples) and int(n_resamples) >= 1):
            raise InvalidParameterError(
                f"The 'n_resamples' parameter of {_OWNER}.stability must be a positive integer "
                f"such as 10. Got {n_resamples!r} instead."
            )
        if random_state is not None and not is_int(random_state):
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
