"""The clustering methods behind Segmenter, on a prepared design.

* ``gmm``: the measurement-error Gaussian mixture of ``_mixture`` (several k-means starts, a short
  EM from each, the best continued to convergence);
* ``kmeans``: scikit-learn's KMeans (MiniBatchKMeans from 50 000 rows) on the shrunk values;
* ``kprototypes``: Huang's k-prototypes (squared distance on the numbers plus ``gamma`` per
  mismatched category), written here in NumPy;
* ``hdbscan``: scikit-learn's HDBSCAN on the shrunk values; new rows join the segment of their
  nearest clustered training row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from b2bclient.segment._mixture import MixtureFit, fit_mixture, log_joint, n_parameters

__all__ = [
    "MINIBATCH_FROM",
    "Design",
    "Partition",
    "fit_gmm",
    "fit_hdbscan",
    "fit_kmeans",
    "fit_kprototypes",
    "kprototypes_cost",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

#: From this many rows ``kmeans`` uses MiniBatchKMeans.
MINIBATCH_FROM = 50_000
_SHORT_EM = 25


@attrs.frozen(eq=False)
class Design:
    """What the methods cluster.

    Parameters
    ----------
    values, variances : numpy.ndarray of shape (n, p)
        Standardised profile values (NaN unobserved) and their measurement variances (``inf``
        unobserved); for plain features, the matrix and zeros.
    shrunk : numpy.ndarray of shape (n, p)
        Point estimates for the distance-based methods (values shrunk by their reliability).
    codes : tuple of numpy.ndarray
        Categorical columns as integer codes, ``-1`` when missing.
    levels : tuple of int
        Number of levels of each categorical column.
    """

    values: Floats
    variances: Floats
    shrunk: Floats
    codes: tuple[Ints, ...]
    levels: tuple[int, ...]

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.values.shape[0])


@attrs.frozen(eq=False)
class Partition:
    """A fitted method for one number of segments: labels, score inputs and what predicts."""

    labels: Ints
    k: int
    state: dict[str, Any]
    log_likelihood: float = float("nan")
    n_parameters: int = 0
    entropy: float = float("nan")


def _seeds(random_state: np.random.Generator, n: int) -> list[int]:
    return [int(s) for s in random_state.integers(0, 2**31 - 1, size=n)]


def _kmeans_labels(data: Floats, k: int, seed: int, n_init: int) -> Ints:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if data.shape[0] >= MINIBATCH_FROM:
        model: Any = MiniBatchKMeans(
            n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096
        )
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return np.asarray(model.fit_predict(data), dtype=np.int64)


def fit_gmm(
    design: Design, k: int, rng: np.random.Generator, n_init: int, max_iter: int, tol: float
) -> Partition:
    """Fit the measurement-error mixture with `k` segments from `n_init` k-means starts."""
    best: MixtureFit | None = None
    for seed in _seeds(rng, n_init):
        start = _kmeans_labels(design.shrunk, k, seed, 1)
        resp = np.zeros((design.n, k))
        resp[np.arange(design.n), start] = 1.0
        fit = fit_mixture(
            design.values,
            design.variances,
            resp,
            codes=design.codes,
            levels=design.levels,
            max_iter=min(_SHORT_EM, max_iter),
            tol=tol,
        )
        if best is None or fit.log_likelihood > best.log_likelihood:
            best = fit
    assert best is not None
    if not best.converged and max_iter > _SHORT_EM:
        best = fit_mixture(
            design.values,
            design.variances,
            np.empty((design.n, k)),
            codes=design.codes,
            levels=design.levels,
            max_iter=max_iter - best.n_iter,
            tol=tol,
            start=best,
        )
    joint = log_joint(design.values, design.variances, best, design.codes)
    log_resp = joint - logsumexp(joint, axis=1, keepdims=True)
    entropy = float(-(np.exp(log_resp) * log_resp).sum())
    return Partition(
        labels=np.asarray(joint.argmax(axis=1), dtype=np.int64),
        k=k,
        state={
            "weights": best.weights,
            "means": best.means,
            "covariance": best.covariance,
            "categorical": list(best.categorical),
            "n_iter": best.n_iter,
            "converged": best.converged,
        },
        log_likelihood=best.log_likelihood,
        n_parameters=n_parameters(k, design.values.shape[1], design.levels),
        entropy=entropy,
    )


def fit_kmeans(design: Design, k: int, rng: np.random.Generator, n_init: int) -> Partition:
    """Fit k-means (mini-batch for large designs) on the shrunk values."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    seed = _seeds(rng, 1)[0]
    model: Any
    if design.n >= MINIBATCH_FROM:
        model = MiniBatchKMeans(n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    model.fit(design.shrunk)
    centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    labels = _nearest(design.shrunk, centers)
    return Partition(
        labels=labels,
        k=k,
        state={"centers": centers, "modes": [], "n_iter": int(model.n_iter_)},
    )


def _nearest(data: Floats, centers: Floats) -> Ints:
    return np.asarray(squared_distances(data, centers).argmin(axis=1), dtype=np.int64)


def squared_distances(data: Floats, centers: Floats) -> Floats:
    """Return the squared Euclidean distance of every row to every centre, shape (n, k)."""
    d = (data**2).sum(axis=1)[:, None] - 2.0 * data @ centers.T + (centers**2).sum(axis=1)[None, :]
    return np.asarray(np.maximum(d, 0.0), dtype=np.float64)


def kprototypes_cost(
    data: Floats, codes: Sequence[Ints], centers: Floats, modes: Sequence[Ints], gamma: float
) -> Floats:
    """Return the k-prototypes dissimilarity of every row to every prototype, shape (n, k)."""
    cost = squared_distances(data, centers)
    for c, mode in zip(codes, modes, strict=True):
        cost += gamma * ((c[:, None] != mode[None, :]) & (c[:, None] >= 0))
    return cost


def _modes(codes: Sequence[Ints], levels: Sequence[int], labels: Ints, k: int) -> list[Ints]:
    modes = []
    for c, m in zip(codes, levels, strict=True):
        known = c >= 0
        counts = np.zeros((k, m))
        np.add.at(counts, (labels[known], c[known]), 1.0)
        modes.append(np.asarray(counts.argmax(axis=1), dtype=np.int64))
    return modes


def fit_kprototypes(
    design: Design,
    k: int,
    rng: np.random.Generator,
    n_init: int,
    max_iter: int,
    gamma: float,
) -> Partition:
    """Fit k-prototypes: k-means on the numbers, modes on the categories, `gamma` per mismatch."""
    data = design.shrunk
    n = design.n
    best: tuple[float, Ints, Floats, list[Ints], int] | None = None
    for seed in _seeds(rng, n_init):
        labels = _kmeans_labels(data, k, seed, 1)
        centers = np.zeros((k, data.shape[1]))
        modes: list[Ints] = []
        iterations = 0
        for iterations in range(1, max_iter + 1):  # noqa: B007 -- the count is reported
            for j in range(k):
                members = labels == j
                if not members.any():  # an empty prototype restarts at the worst-served row
                    far = int(
                        np.argmax(_row_cost(data, design.codes, centers, modes, labels, gamma))
                    )
                    labels[far] = j
                    members = labels == j
                centers[j] = data[members].mean(axis=0)
            modes = _modes(design.codes, design.levels, labels, k)
            cost = kprototypes_cost(data, design.codes, centers, modes, gamma)
            new = np.asarray(cost.argmin(axis=1), dtype=np.int64)
            if np.array_equal(new, labels):
                break
            labels = new
        total = float(cost[np.arange(n), labels].sum())
        if best is None or total < best[0]:
            best = (total, labels.copy(), centers.copy(), [m.copy() for m in modes], iterations)
    assert best is not None
    total, labels, centers, modes, iterations = best
    return Partition(
        labels=labels,
        k=k,
        state={"centers": centers, "modes": modes, "cost": total, "n_iter": iterations},
    )


def _row_cost(
    data: Floats,
    codes: Sequence[Ints],
    centers: Floats,
    modes: Sequence[Ints],
    labels: Ints,
    gamma: float,
) -> Floats:
    if len(modes) != len(codes):
        return np.asarray(squared_distances(data, centers)[np.arange(len(labels)), labels])
    cost = kprototypes_cost(data, codes, centers, modes, gamma)
    return np.asarray(cost[np.arange(len(labels)), labels])


def fit_hdbscan(design: Design, min_size: int) -> Partition:
    """Run scikit-learn's HDBSCAN on the shrunk values; label -1 marks unassigned rows."""
    from sklearn.cluster import HDBSCAN

    labels = np.asarray(
        HDBSCAN(min_cluster_size=min_size, min_samples=min(5, min_size), copy=True).fit_predict(
            design.shrunk
        ),
        dtype=np.int64,
    )
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    return Partition(labels=labels, k=k, state={"n_iter": 1})
