"""How well a segmentation recovers the planted segments of a synthetic base, against its ceiling.

Shared by ``benchmarks/segment.py`` (the full table in docs/benchmarks.md) and the tests (a smaller
version). Every figure is an adjusted Rand index (ARI) against ``truth.segment``:

* ``supervised``: the ceiling the features allow, a gradient-boosting classifier trained on the
  true segments, its 5-fold cross-validated predictions, on the same features;
* ``plain_kmeans``: the plain baseline, ``KMeans(5)`` on standardised ``build_features`` output
  (numeric columns with their median for missing values, categories one-hot);
* ``bayes``: the Bayes-optimal assignment from the latent traits (the generator's ceiling);
* one entry per Segmenter method, with the number of segments it chose and its time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plain_kmeans_ari", "recovery", "supervised_ari"]


def _codes(segment: pd.Series, index: pd.Index) -> np.ndarray:
    s = segment.reindex(index)
    return np.asarray(s.cat.codes.to_numpy() if hasattr(s, "cat") else pd.factorize(s)[0])


def supervised_ari(
    X: pd.DataFrame, y: np.ndarray, *, folds: int = 5, max_iter: int = 100, random_state: int = 0
) -> float:
    """Return the ARI of a gradient-boosting classifier's cross-validated predictions of `y`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import adjusted_rand_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=max_iter, random_state=random_state
    )
    cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return float(adjusted_rand_score(y, cross_val_predict(model, X, y, cv=cv)))


def plain_kmeans_ari(X: pd.DataFrame, y: np.ndarray, *, k: int = 5, random_state: int = 0) -> float:
    """Return the ARI of KMeans(`k`) on standardised features (median-imputed, one-hot)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    numeric = X.select_dtypes("number")
    parts = [numeric.fillna(numeric.median())]
    categorical = X.select_dtypes("category")
    if categorical.shape[1]:
        parts.append(pd.get_dummies(categorical, dtype=float))
    matrix = pd.concat(parts, axis=1)
    matrix = matrix.loc[:, matrix.std() > 0]
    z = StandardScaler().fit_transform(matrix)
    labels = KMeans(k, n_init=10, random_state=random_state).fit_predict(z)
    return float(adjusted_rand_score(y, labels))


def recovery(
    X: pd.DataFrame,
    segment: pd.Series,
    *,
    traits: pd.DataFrame | None = None,
    difficulty: float | None = None,
    methods: Sequence[str] = ("gmm", "kmeans", "kprototypes", "hdbscan"),
    n_segments: int | str = "auto",
    supervised: bool = True,
    supervised_iter: int = 100,
    random_state: int = 0,
) -> dict[str, Any]:
    """Return the ARI of every method, the supervised ceiling, the plain baseline and Bayes.

    Parameters
    ----------
    X : pandas.DataFrame
        ``build_features`` output.
    segment : pandas.Series
        The true segment of every organisation (``truth.segment``).
    traits, difficulty : optional
        ``truth.traits`` and the difficulty, for the Bayes-optimal ARI.
    methods : sequence of str
        Segmenter methods to run.
    n_segments : int or "auto", default="auto"
        Their number of segments (``"hdbscan"`` always finds its own).
    supervised : bool
        Compute the supervised ceiling (the slowest part).
    supervised_iter : int
        Boosting iterations of the ceiling.
    random_state : int
        Seed of every model.

    Returns
    -------
    dict
        ``n``, ``supervised``, ``plain_kmeans``, ``bayes`` and, per method, a dict with ``ari``,
        ``n_segments`` and ``seconds``.
    """
    from sklearn.metrics import adjusted_rand_score

    from b2bclient.segment._segmenter import Segmenter

    y = _codes(segment, X.index)
    out: dict[str, Any] = {"n": int(X.shape[0])}
    out["supervised"] = (
        supervised_ari(X, y, max_iter=supervised_iter, random_state=random_state)
        if supervised
        else float("nan")
    )
    out["plain_kmeans"] = plain_kmeans_ari(X, y, random_state=random_state)
    if traits is not None and difficulty is not None:
        from b2bclient.datasets._segments import bayes_segments

        bayes = bayes_segments(traits.reindex(X.index).to_numpy(), difficulty)
        out["bayes"] = float(adjusted_rand_score(y, bayes))
    else:
        out["bayes"] = float("nan")
    for method in methods:
        start = time.perf_counter()
        k = "auto" if method == "hdbscan" else n_segments
        seg = Segmenter(method=method, n_segments=k, random_state=random_state).fit(X)
        out[method] = {
            "ari": float(adjusted_rand_score(y, seg.labels_)),
            "n_segments": int(seg.n_segments_),
            "seconds": time.perf_counter() - start,
            "unassigned": float(np.mean(seg.labels_ < 0)),
            "selection": seg.selection_,
        }
    return out
